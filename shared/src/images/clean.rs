//! An input photo made safe to keep and to send: decoded within limits,
//! turned upright by its EXIF orientation, scaled down to the model's
//! useful size, and re-encoded in its own format with no metadata at all
//! (EXIF, GPS, XMP, ICC, comments, text chunks, trailers).
//!
//! Colour profiles go too: the pixels are kept as they are, which is how
//! the model reads them anyway (a Display P3 photo looks slightly less
//! saturated to a viewer that honoured the profile).

use super::{decoding_refusal, format_of, layout, sniff_accepted, type_name, ImageRefusal};
use crate::storage::ImageType;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader, Limits};
use std::io::Cursor;

/// How clean inputs are made (`INPUT_MAX_EDGE`, `INPUT_MAX_MEGAPIXELS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanSettings {
    /// Long edge of a clean input, in pixels: larger photos are scaled down
    /// (the model gains nothing from more, and Replicate reads every byte).
    pub max_edge: u32,
    /// Largest photo decoded at all, in pixels: a 200-megapixel phone mode
    /// stays within, a decompression bomb does not.
    pub max_pixels: u64,
}

impl Default for CleanSettings {
    fn default() -> Self {
        CleanSettings { max_edge: 2048, max_pixels: 50_000_000 }
    }
}

/// JPEG quality of a re-encoded input: no visible loss for the model.
const JPEG_QUALITY: u8 = 90;
/// WebP inputs stay WebP, lossy at this quality.
const WEBP_QUALITY: f32 = 90.0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanedInput {
    /// The clean file, or `None` when the upload already was one (bare,
    /// upright, within the long edge) and is kept byte for byte.
    pub rewritten: Option<Vec<u8>>,
    /// Dimensions of the clean image, upright.
    pub width: u32,
    pub height: u32,
}

/// Cleans an upload declared (by its path) as `declared`.
pub fn clean_input(bytes: &[u8], declared: ImageType, settings: &CleanSettings) -> Result<CleanedInput, ImageRefusal> {
    let actual = sniff_accepted(bytes)?;
    if actual != declared {
        return Err(ImageRefusal::TypeMismatch { declared: type_name(declared), actual: type_name(actual) });
    }
    let layout = layout::inspect(bytes, actual)?;
    let (image, orientation) = decode(bytes, actual, settings)?;
    let (width, height) = (image.width(), image.height());
    if layout.is_bare() && orientation == Orientation::NoTransforms && width.max(height) <= settings.max_edge {
        return Ok(CleanedInput { rewritten: None, width, height });
    }
    // Scaled first, then turned: the long edge is the same either way, and
    // turning the small image copies a tenth of the pixels.
    let mut image = fit_within(image, settings.max_edge);
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    Ok(CleanedInput { rewritten: Some(encode(&image, actual)?), width, height })
}

/// Decodes the whole image (a file that only starts well is refused here),
/// after checking its claimed size against the pixel cap.
pub(super) fn decode(
    bytes: &[u8],
    image_type: ImageType,
    settings: &CleanSettings,
) -> Result<(DynamicImage, Orientation), ImageRefusal> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format_of(image_type));
    let mut limits = Limits::default();
    // Eight bytes a pixel covers 16-bit RGBA, the widest a PNG decodes to.
    limits.max_alloc = Some(settings.max_pixels.saturating_mul(8));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decoding_refusal)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > settings.max_pixels {
        return Err(ImageRefusal::TooManyPixels { width, height, max_megapixels: settings.max_pixels / 1_000_000 });
    }
    // A malformed EXIF block is metadata we drop anyway, not a reason to refuse the photo.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(decoding_refusal)?;
    Ok((image, orientation))
}

/// Scales down (never up) so the long edge is at most `max_edge`.
pub(super) fn fit_within(image: DynamicImage, max_edge: u32) -> DynamicImage {
    if image.width().max(image.height()) <= max_edge {
        return image;
    }
    // Triangle (bilinear with a proper support when scaling down): sharp
    // enough for a model's input, several times quicker than Lanczos.
    image.resize(max_edge, max_edge, FilterType::Triangle)
}

fn encode(image: &DynamicImage, image_type: ImageType) -> Result<Vec<u8>, ImageRefusal> {
    let failed = |error: image::ImageError| ImageRefusal::Undecodable(format!("could not be re-encoded: {error}"));
    let mut out = Vec::new();
    match image_type {
        ImageType::Jpeg => {
            // JPEG has no alpha; greyscale stays greyscale.
            let encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            match image {
                DynamicImage::ImageLuma8(gray) => {
                    encoder.write_image(gray, gray.width(), gray.height(), image::ExtendedColorType::L8)
                }
                other => {
                    let rgb = other.to_rgb8();
                    encoder.write_image(&rgb, rgb.width(), rgb.height(), image::ExtendedColorType::Rgb8)
                }
            }
            .map_err(failed)?;
        }
        ImageType::Png => {
            // Losslessly, in the colour type it was decoded to.
            let encoder = PngEncoder::new(&mut out);
            encoder
                .write_image(image.as_bytes(), image.width(), image.height(), image.color().into())
                .map_err(failed)?;
        }
        ImageType::Webp => {
            // Alpha only where there is some: an opaque image stays a simple WebP.
            let (pixels, layout) = if image.color().has_alpha() {
                (image.to_rgba8().into_raw(), webp::PixelLayout::Rgba)
            } else {
                (image.to_rgb8().into_raw(), webp::PixelLayout::Rgb)
            };
            let encoded = webp::Encoder::new(&pixels, layout, image.width(), image.height())
                .encode_simple(false, WEBP_QUALITY)
                .map_err(|error| ImageRefusal::Undecodable(format!("could not be re-encoded: {error:?}")))?;
            out.extend_from_slice(&encoded);
        }
    }
    Ok(out)
}
