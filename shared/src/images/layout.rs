//! What a file holds besides its pixels, read from its structure (JPEG
//! markers, PNG chunks, RIFF chunks) without decoding it: whether it carries
//! metadata, whether bytes follow the image's end, and whether it ends
//! before the image does.
//!
//! "Bare" is exactly what our own encoders write: a JPEG with at most a
//! plain JFIF header, a PNG of IHDR/PLTE/tRNS/IDAT/IEND, a simple WebP of
//! one image chunk, and nothing after the end. A bare file that decodes,
//! upright and within the size limit, is already clean: a replayed or
//! retried submit keeps it byte for byte instead of compressing it again.

use super::ImageRefusal;
use crate::storage::ImageType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// EXIF, XMP, ICC, comments, text chunks or any segment we do not know.
    pub metadata: bool,
    /// Bytes after the image's end (another image, a vendor trailer, a
    /// payload hidden behind the picture).
    pub trailing: bool,
}

impl Layout {
    pub fn is_bare(&self) -> bool {
        !self.metadata && !self.trailing
    }
}

/// The layout of `bytes` as `image_type`; [`ImageRefusal::Truncated`] when
/// the file ends inside the image.
pub fn inspect(bytes: &[u8], image_type: ImageType) -> Result<Layout, ImageRefusal> {
    match image_type {
        ImageType::Jpeg => jpeg(bytes),
        ImageType::Png => png(bytes),
        ImageType::Webp => webp(bytes),
    }
}

fn malformed(what: &str) -> ImageRefusal {
    ImageRefusal::Undecodable(what.to_owned())
}

/// The JFIF header our encoder writes: identifier, version, density, no
/// embedded thumbnail (16 bytes with the length field).
fn is_plain_jfif(segment: &[u8]) -> bool {
    segment.len() == 14 && segment.starts_with(b"JFIF\0") && segment[12] == 0 && segment[13] == 0
}

fn jpeg(bytes: &[u8]) -> Result<Layout, ImageRefusal> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(malformed("not a JPEG file"));
    }
    let mut metadata = false;
    let mut pos = 2;
    let end = loop {
        if bytes.get(pos) != Some(&0xFF) {
            return Err(if pos >= bytes.len() {
                ImageRefusal::Truncated
            } else {
                malformed("a JPEG marker is missing")
            });
        }
        // Any number of fill bytes may precede a marker.
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or(ImageRefusal::Truncated)?;
        pos += 1;
        match marker {
            0xD9 => break pos,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let length = bytes.get(pos..pos + 2).ok_or(ImageRefusal::Truncated)?;
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 {
            return Err(malformed("a JPEG segment has a bad length"));
        }
        let payload = bytes.get(pos + 2..pos + length).ok_or(ImageRefusal::Truncated)?;
        match marker {
            0xE0 => metadata |= !is_plain_jfif(payload),
            // APP1 (EXIF, XMP) to APP15, and comments.
            0xE1..=0xEF | 0xFE => metadata = true,
            _ => {}
        }
        pos += length;
        if marker == 0xDA {
            pos = end_of_scan(bytes, pos)?;
        }
    };
    Ok(Layout { metadata, trailing: end < bytes.len() })
}

/// Skips a scan's entropy-coded data: a 0xFF there is followed by a stuffed
/// 0x00 or a restart marker; any other marker ends the scan.
fn end_of_scan(bytes: &[u8], mut pos: usize) -> Result<usize, ImageRefusal> {
    loop {
        let next = bytes[pos.min(bytes.len())..].iter().position(|&b| b == 0xFF).ok_or(ImageRefusal::Truncated)?;
        pos += next;
        match bytes.get(pos + 1) {
            None => return Err(ImageRefusal::Truncated),
            Some(0x00 | 0xD0..=0xD7) => pos += 2,
            Some(_) => return Ok(pos),
        }
    }
}

fn png(bytes: &[u8]) -> Result<Layout, ImageRefusal> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(malformed("not a PNG file"));
    }
    let mut metadata = false;
    let mut pos = 8;
    let end = loop {
        let header = bytes.get(pos..pos + 8).ok_or(ImageRefusal::Truncated)?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        // Type, length and CRC around the data.
        let next = pos.checked_add(12).and_then(|p| p.checked_add(length)).ok_or(ImageRefusal::Truncated)?;
        if next > bytes.len() {
            return Err(ImageRefusal::Truncated);
        }
        match kind {
            b"IEND" => break next,
            b"IHDR" | b"PLTE" | b"tRNS" | b"IDAT" => {}
            // Text, EXIF, time, ICC, physical size and every other chunk.
            _ => metadata = true,
        }
        pos = next;
    };
    Ok(Layout { metadata, trailing: end < bytes.len() })
}

fn webp(bytes: &[u8]) -> Result<Layout, ImageRefusal> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(malformed("not a WebP file"));
    }
    let riff_end = 8 + u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    if riff_end > bytes.len() {
        return Err(ImageRefusal::Truncated);
    }
    let mut images = 0;
    let mut metadata = false;
    let mut pos = 12;
    while pos < riff_end {
        let header = bytes.get(pos..pos + 8).filter(|_| pos + 8 <= riff_end).ok_or(ImageRefusal::Truncated)?;
        let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        // A simple WebP is one VP8 or VP8L chunk. The extended form (VP8X)
        // is bare too when it only announces alpha (an ALPH chunk); its
        // other flags announce EXIF, XMP, ICC or animation.
        const ALPHA_FLAG: u8 = 0x10;
        match &header[0..4] {
            b"VP8 " | b"VP8L" => images += 1,
            b"ALPH" => {}
            b"VP8X" => metadata |= bytes.get(pos + 8).is_some_and(|flags| flags & !ALPHA_FLAG != 0),
            _ => metadata = true,
        }
        // Chunks are padded to an even length.
        pos = pos + 8 + length + (length & 1);
        if pos > riff_end {
            return Err(ImageRefusal::Truncated);
        }
    }
    if images == 0 {
        return Err(malformed("a WebP file without an image"));
    }
    Ok(Layout { metadata: metadata || images > 1, trailing: riff_end < bytes.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let image = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90]));
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn what_our_encoders_write_is_bare() {
        for (format, image_type) in [
            (image::ImageFormat::Jpeg, ImageType::Jpeg),
            (image::ImageFormat::Png, ImageType::Png),
            (image::ImageFormat::WebP, ImageType::Webp),
        ] {
            let bytes = encoded(format);
            assert_eq!(inspect(&bytes, image_type), Ok(Layout { metadata: false, trailing: false }), "{format:?}");
        }
    }

    #[test]
    fn a_comment_exif_or_text_chunk_is_metadata() {
        let jpeg = encoded(image::ImageFormat::Jpeg);
        let mut with_exif = jpeg[..2].to_vec();
        with_exif.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x08, b'E', b'x', b'i', b'f', 0, 0]);
        with_exif.extend_from_slice(&jpeg[2..]);
        assert!(inspect(&with_exif, ImageType::Jpeg).unwrap().metadata);

        let png = encoded(image::ImageFormat::Png);
        let mut with_text = png[..33].to_vec(); // signature and IHDR
        with_text.extend_from_slice(&[0, 0, 0, 3]);
        with_text.extend_from_slice(b"tEXta=b");
        with_text.extend_from_slice(&[0, 0, 0, 0]);
        with_text.extend_from_slice(&png[33..]);
        assert!(inspect(&with_text, ImageType::Png).unwrap().metadata);
    }

    #[test]
    fn bytes_after_the_end_are_trailing() {
        for (format, image_type) in
            [(image::ImageFormat::Jpeg, ImageType::Jpeg), (image::ImageFormat::Png, ImageType::Png)]
        {
            let mut bytes = encoded(format);
            bytes.extend_from_slice(b"PK\x03\x04 a zip behind the picture");
            assert_eq!(inspect(&bytes, image_type), Ok(Layout { metadata: false, trailing: true }));
        }
    }

    #[test]
    fn a_file_cut_anywhere_is_truncated_never_a_panic() {
        for (format, image_type) in [
            (image::ImageFormat::Jpeg, ImageType::Jpeg),
            (image::ImageFormat::Png, ImageType::Png),
            (image::ImageFormat::WebP, ImageType::Webp),
        ] {
            let bytes = encoded(format);
            for cut in 12..bytes.len() {
                let refusal = inspect(&bytes[..cut], image_type).unwrap_err();
                assert!(
                    matches!(refusal, ImageRefusal::Truncated | ImageRefusal::Undecodable(_)),
                    "{format:?} cut at {cut}: {refusal:?}"
                );
            }
        }
    }
}
