//! Phone photos as tests need them: real JPEG, PNG and WebP files whose
//! pixels are stored turned by an EXIF orientation (1-8) and which carry
//! the camera's EXIF, GPS position included.
//!
//! The stored pixels are laid out from the EXIF specification's own words
//! for each orientation (which visual side the stored 0th row and 0th
//! column are), not with the image crate's rotations, so a test of the
//! product's turning does not check the crate against itself.

use image::{ImageFormat, Rgb, RgbImage};
use shared::storage::ImageType;
use std::io::Cursor;

/// Width and height of the upright picture (landscape, so a wrong turn
/// shows in the dimensions as well as in the colours).
pub const UPRIGHT: (u32, u32) = (96, 64);

/// The upright picture's quadrants: red top-left, green top-right, blue
/// bottom-left, white bottom-right.
pub const QUADRANTS: [(&str, [u8; 3]); 4] = [
    ("top-left", [220, 30, 30]),
    ("top-right", [30, 200, 30]),
    ("bottom-left", [30, 30, 220]),
    ("bottom-right", [240, 240, 240]),
];

/// The GPS position every photo carries: 48°51'29.38" N, 2°17'40.00" E.
/// These exact bytes (the latitude's rationals) must never survive cleaning.
pub const GPS_LATITUDE_BYTES: [u8; 24] =
    [0, 0, 0, 48, 0, 0, 0, 1, 0, 0, 0, 51, 0, 0, 0, 1, 0, 0, 0x0B, 0x7A, 0, 0, 0, 100];
/// The camera make written in IFD0, also a marker that must go.
pub const CAMERA_MAKE: &str = "PhoneCam";

fn upright_colour(x: u32, y: u32) -> [u8; 3] {
    let (w, h) = UPRIGHT;
    let index = usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2);
    QUADRANTS[index].1
}

/// The stored pixels of the upright picture for EXIF `orientation`.
pub fn stored_pixels(orientation: u16) -> RgbImage {
    let (w, h) = UPRIGHT;
    let turned = orientation >= 5;
    let (sw, sh) = if turned { (h, w) } else { (w, h) };
    RgbImage::from_fn(sw, sh, |x, y| {
        // Upright coordinates of stored (x, y).
        let (ux, uy) = match orientation {
            1 => (x, y),
            2 => (w - 1 - x, y),
            3 => (w - 1 - x, h - 1 - y),
            4 => (x, h - 1 - y),
            5 => (y, x),
            6 => (w - 1 - y, x),
            7 => (w - 1 - y, h - 1 - x),
            8 => (y, h - 1 - x),
            _ => panic!("EXIF orientations are 1 to 8"),
        };
        Rgb(upright_colour(ux, uy))
    })
}

/// A TIFF structure (big-endian) with IFD0 (Make, Orientation, a pointer
/// to the GPS IFD) and the GPS IFD (latitude and longitude).
pub fn exif_tiff(orientation: u16) -> Vec<u8> {
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let make: Vec<u8> = CAMERA_MAKE.bytes().chain([0]).collect();
    // Layout: header 8, IFD0 (3 entries) 2+36+4 = 42, GPS IFD (4 entries)
    // 2+48+4 = 54, then the data: make, latitude, longitude.
    let ifd0 = 8u32;
    let gps_ifd = ifd0 + 42;
    let make_at = gps_ifd + 54;
    let latitude_at = make_at + make.len() as u32;
    let longitude_at = latitude_at + 24;

    let mut tiff = b"MM\x00\x2A".to_vec();
    tiff.extend_from_slice(&ifd0.to_be_bytes());
    let entry = |tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        tiff.extend_from_slice(&tag.to_be_bytes());
        tiff.extend_from_slice(&kind.to_be_bytes());
        tiff.extend_from_slice(&count.to_be_bytes());
        tiff.extend_from_slice(&value);
    };
    tiff.extend_from_slice(&3u16.to_be_bytes());
    entry(&mut tiff, 0x010F, ASCII, make.len() as u32, make_at.to_be_bytes());
    let o = orientation.to_be_bytes();
    entry(&mut tiff, 0x0112, SHORT, 1, [o[0], o[1], 0, 0]);
    entry(&mut tiff, 0x8825, LONG, 1, gps_ifd.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&4u16.to_be_bytes());
    entry(&mut tiff, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(&mut tiff, 0x0002, RATIONAL, 3, latitude_at.to_be_bytes());
    entry(&mut tiff, 0x0003, ASCII, 2, *b"E\0\0\0");
    entry(&mut tiff, 0x0004, RATIONAL, 3, longitude_at.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&make);
    tiff.extend_from_slice(&GPS_LATITUDE_BYTES);
    for (numerator, denominator) in [(2u32, 1u32), (17, 1), (4000, 100)] {
        tiff.extend_from_slice(&numerator.to_be_bytes());
        tiff.extend_from_slice(&denominator.to_be_bytes());
    }
    tiff
}

fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode the test photo");
    out.into_inner()
}

/// A photo of `image_type` whose pixels are stored for EXIF `orientation`
/// and which carries that orientation and a GPS position in its EXIF.
pub fn phone_photo(image_type: ImageType, orientation: u16) -> Vec<u8> {
    let pixels = stored_pixels(orientation);
    let tiff = exif_tiff(orientation);
    match image_type {
        ImageType::Jpeg => with_exif_segment(&encode(&pixels, ImageFormat::Jpeg), &tiff),
        ImageType::Png => {
            let plain = encode(&pixels, ImageFormat::Png);
            // eXIf goes before the image data: right after IHDR (8 + 25 bytes).
            let mut photo = plain[..33].to_vec();
            photo.extend_from_slice(&png_chunk(b"eXIf", &tiff));
            photo.extend_from_slice(&png_chunk(b"tEXt", b"Comment\0taken at home"));
            photo.extend_from_slice(&plain[33..]);
            photo
        }
        ImageType::Webp => {
            // The image crate writes a simple lossless WebP: RIFF, WEBP, VP8L.
            let plain = encode(&pixels, ImageFormat::WebP);
            let image_chunk = &plain[12..];
            let mut vp8x = vec![0x08, 0, 0, 0]; // flags: EXIF
            vp8x.extend_from_slice(&(pixels.width() - 1).to_le_bytes()[..3]);
            vp8x.extend_from_slice(&(pixels.height() - 1).to_le_bytes()[..3]);
            let mut body = b"WEBP".to_vec();
            body.extend_from_slice(&riff_chunk(b"VP8X", &vp8x));
            body.extend_from_slice(image_chunk);
            body.extend_from_slice(&riff_chunk(b"EXIF", &tiff));
            let mut photo = b"RIFF".to_vec();
            photo.extend_from_slice(&(body.len() as u32).to_le_bytes());
            photo.extend_from_slice(&body);
            photo
        }
    }
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = kind.to_vec();
    chunk.extend_from_slice(&(data.len() as u32).to_le_bytes());
    chunk.extend_from_slice(data);
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    chunk
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = png_crc(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// PNG's CRC-32 (ISO 3309) of a chunk's type and data, bit by bit: test
/// files are small.
pub fn png_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The average colour of one quadrant of an upright `image`.
pub fn quadrant_colour(image: &RgbImage, quadrant: usize) -> [u8; 3] {
    let (w, h) = image.dimensions();
    let (x0, y0) = ((quadrant as u32 % 2) * w / 2, (quadrant as u32 / 2) * h / 2);
    // The middle of the quadrant, away from edges JPEG blurs.
    let (qw, qh) = (w / 2, h / 2);
    let mut sum = [0u64; 3];
    let mut n = 0u64;
    for y in y0 + qh / 4..y0 + 3 * qh / 4 {
        for x in x0 + qw / 4..x0 + 3 * qw / 4 {
            for (total, channel) in sum.iter_mut().zip(image.get_pixel(x, y).0) {
                *total += u64::from(channel);
            }
            n += 1;
        }
    }
    sum.map(|total| (total / n) as u8)
}

/// Whether `image` is the upright picture: its proportions, and each
/// quadrant's colour within `tolerance` per channel.
pub fn is_upright_picture(image: &RgbImage, tolerance: u8) -> Result<(), String> {
    let (w, h) = image.dimensions();
    if w * UPRIGHT.1 != h * UPRIGHT.0 {
        return Err(format!("{w}x{h} is not the upright picture's proportions {}x{}", UPRIGHT.0, UPRIGHT.1));
    }
    for (index, (name, expected)) in QUADRANTS.iter().enumerate() {
        let found = quadrant_colour(image, index);
        if found.iter().zip(expected).any(|(a, b)| a.abs_diff(*b) > tolerance) {
            return Err(format!("the {name} quadrant is {found:?}, not {expected:?}"));
        }
    }
    Ok(())
}

/// A large photo (a phone's 12 megapixels, 4032x3024) with EXIF and GPS,
/// stored for orientation 6 as phones do when held upright; a gradient with
/// texture so the encoder works as on a real picture.
pub fn twelve_megapixel_jpeg() -> Vec<u8> {
    let (w, h) = (3024u32, 4032u32);
    let pixels = RgbImage::from_fn(w, h, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27;
        Rgb([(x * 255 / w) as u8 ^ noise as u8, (y * 255 / h) as u8, ((x + y) / 32 % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92).encode_image(&pixels).expect("encode");
    with_exif_segment(&out, &exif_tiff(6))
}

/// `jpeg` with an APP1 EXIF segment carrying `tiff` right after its SOI,
/// where cameras write it.
fn with_exif_segment(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(tiff);
    let mut photo = jpeg[..2].to_vec();
    photo.extend_from_slice(&[0xFF, 0xE1]);
    photo.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    photo.extend_from_slice(&payload);
    photo.extend_from_slice(&jpeg[2..]);
    photo
}
