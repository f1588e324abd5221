//! Images the product takes and makes.
//!
//! Inputs: a phone photo arrives rotated by an EXIF orientation tag and
//! carrying EXIF (often the GPS position of the user's home). Before a
//! prediction starts, [`clean_input`] decodes it within limits, turns it
//! upright, scales it to the model's useful size and re-encodes it without
//! any metadata; that clean image replaces the upload in storage.
//!
//! Outputs: [`thumbnail_webp`] makes the small lossy WebP a gallery card
//! shows instead of the full render.
//!
//! CPU-bound: callers run these on a blocking thread.

mod clean;
mod layout;
mod thumbnail;

pub use clean::{clean_input, CleanSettings, CleanedInput};
pub use layout::{inspect, Layout};
pub use thumbnail::{thumbnail_webp, THUMB_LONG_EDGE, THUMB_QUALITY};

use crate::http::{ApiError, ErrorCode};
use crate::storage::ImageType;

/// Why an image is refused: the user's file, never our fault, so a 400 with
/// a code the front end can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefusal {
    /// iPhones save HEIC by default; browsers upload it as is.
    #[error(
        "HEIC/HEIF photos are not accepted: send a JPEG (on an iPhone: Settings > Camera > Formats > Most Compatible)"
    )]
    Heic,
    #[error("the file is not a JPEG, PNG or WebP image")]
    UnsupportedType,
    /// The bytes are another format than the upload declared.
    #[error("the file is a {actual} image but was uploaded as {declared}")]
    TypeMismatch { declared: &'static str, actual: &'static str },
    /// The file ends before the image does (an upload cut short).
    #[error("the image is incomplete: the file ends before the image does")]
    Truncated,
    #[error("the image could not be read: {0}")]
    Undecodable(String),
    /// Beyond the pixel cap: decoding it would take more memory than a
    /// photo needs (a decompression bomb is a small file that claims this).
    #[error("the image is {width}x{height} pixels; at most {max_megapixels} megapixels are accepted")]
    TooManyPixels { width: u32, height: u32, max_megapixels: u64 },
}

impl ImageRefusal {
    pub fn code(&self) -> ErrorCode {
        match self {
            ImageRefusal::Heic | ImageRefusal::UnsupportedType => ErrorCode::UnsupportedImageType,
            ImageRefusal::TooManyPixels { .. } => ErrorCode::ImageTooLarge,
            ImageRefusal::TypeMismatch { .. } | ImageRefusal::Truncated | ImageRefusal::Undecodable(_) => {
                ErrorCode::InvalidImage
            }
        }
    }

    /// The refusal as an answer about the request field `field`.
    pub fn into_api_error(self, field: &str) -> ApiError {
        ApiError::new(self.code(), format!("{field}: {self}")).with_details(serde_json::json!({ "field": field }))
    }
}

/// What the first bytes say the file is, refusing anything but the three
/// accepted types; HEIC gets its own answer.
pub fn sniff_accepted(bytes: &[u8]) -> Result<ImageType, ImageRefusal> {
    if let Some(image_type) = ImageType::sniff(bytes) {
        return Ok(image_type);
    }
    if is_heif(bytes) {
        return Err(ImageRefusal::Heic);
    }
    Err(ImageRefusal::UnsupportedType)
}

/// An ISO base media file (`....ftyp<brand>`) with a HEIF brand.
fn is_heif(bytes: &[u8]) -> bool {
    bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1")
}

fn format_of(image_type: ImageType) -> image::ImageFormat {
    match image_type {
        ImageType::Jpeg => image::ImageFormat::Jpeg,
        ImageType::Png => image::ImageFormat::Png,
        ImageType::Webp => image::ImageFormat::WebP,
    }
}

/// The format's name as people say it.
pub fn type_name(image_type: ImageType) -> &'static str {
    match image_type {
        ImageType::Jpeg => "JPEG",
        ImageType::Png => "PNG",
        ImageType::Webp => "WebP",
    }
}

/// A decoder's complaint, told apart: limits are the pixel cap's business,
/// everything else is a file that does not decode.
fn decoding_refusal(error: image::ImageError) -> ImageRefusal {
    ImageRefusal::Undecodable(match error {
        image::ImageError::Limits(limit) => format!("beyond the decoder's limits ({limit})"),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heic_is_told_apart_from_other_unknown_files() {
        assert_eq!(sniff_accepted(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), Err(ImageRefusal::Heic));
        assert_eq!(sniff_accepted(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic"), Err(ImageRefusal::Heic));
        assert_eq!(sniff_accepted(b"\0\0\0\x18ftypavif\0\0\0\0"), Err(ImageRefusal::UnsupportedType));
        assert_eq!(sniff_accepted(b"GIF89a......"), Err(ImageRefusal::UnsupportedType));
        assert_eq!(sniff_accepted(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok(ImageType::Jpeg));
    }

    #[test]
    fn every_refusal_is_a_400_with_its_own_code() {
        for (refusal, code) in [
            (ImageRefusal::Heic, "UNSUPPORTED_IMAGE_TYPE"),
            (ImageRefusal::UnsupportedType, "UNSUPPORTED_IMAGE_TYPE"),
            (ImageRefusal::TypeMismatch { declared: "JPEG", actual: "PNG" }, "INVALID_IMAGE"),
            (ImageRefusal::Truncated, "INVALID_IMAGE"),
            (ImageRefusal::Undecodable("x".into()), "INVALID_IMAGE"),
            (ImageRefusal::TooManyPixels { width: 1, height: 1, max_megapixels: 1 }, "IMAGE_TOO_LARGE"),
        ] {
            let error = refusal.into_api_error("input1Path");
            assert_eq!(error.code.status().as_u16(), 400);
            assert_eq!(serde_json::to_value(error.code).unwrap(), code);
            assert!(error.message.starts_with("input1Path: "));
        }
    }
}
