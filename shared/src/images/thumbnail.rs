//! The small image a gallery card shows: a lossy WebP of a render's
//! variant, its long edge [`THUMB_LONG_EDGE`] pixels.
//!
//! libwebp (through the `webp` crate) encodes it: lossy WebP is about a
//! third smaller than a JPEG of the same visual quality, every browser
//! the front end supports shows it, and its C sources cross-build for
//! arm64 under `cargo lambda` (README, "Images").

use super::clean::{decode, fit_within, CleanSettings};
use super::{sniff_accepted, ImageRefusal};

/// Long edge of a thumbnail: sharp on a phone's two-column grid and on a
/// desktop card (240 CSS pixels at 2x).
pub const THUMB_LONG_EDGE: u32 = 480;
/// libwebp quality: a typical 480 px render comes to 15-40 KB.
pub const THUMB_QUALITY: f32 = 72.0;

/// A WebP thumbnail of a JPEG, PNG or WebP image. Renders come from the
/// model, but the bytes came over the network: the same pixel cap applies.
pub fn thumbnail_webp(bytes: &[u8]) -> Result<Vec<u8>, ImageRefusal> {
    let image_type = sniff_accepted(bytes)?;
    let (image, orientation) = decode(bytes, image_type, &CleanSettings::default())?;
    let mut small = fit_within(image, THUMB_LONG_EDGE);
    small.apply_orientation(orientation);
    let small = small.to_rgb8();
    let encoded = webp::Encoder::from_rgb(&small, small.width(), small.height())
        .encode_simple(false, THUMB_QUALITY)
        .map_err(|error| ImageRefusal::Undecodable(format!("the thumbnail could not be encoded: {error:?}")))?;
    Ok(encoded.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::{inspect, Layout};
    use crate::storage::ImageType;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, ((x ^ y) & 0xFF) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_render_becomes_a_small_bare_webp_with_its_proportions() {
        let thumb = thumbnail_webp(&jpeg(1024, 768)).unwrap();
        assert_eq!(ImageType::sniff(&thumb), Some(ImageType::Webp));
        assert_eq!(inspect(&thumb, ImageType::Webp), Ok(Layout { metadata: false, trailing: false }));
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (480, 360));
    }

    #[test]
    fn a_small_image_is_not_scaled_up() {
        let thumb = thumbnail_webp(&jpeg(200, 100)).unwrap();
        let decoded = image::load_from_memory(&thumb).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (200, 100));
    }

    #[test]
    fn what_is_not_an_image_is_refused() {
        assert!(thumbnail_webp(b"\xFF\xD8\xFF\xE0 not really").is_err());
        assert_eq!(thumbnail_webp(b"hello"), Err(ImageRefusal::UnsupportedType));
    }
}
