//! The simulated model: real JPEG outputs that visibly depend on the inputs
//! and the prompt, so an end-to-end test can tell "the product stored what the
//! model made from my photo" apart from a placeholder.
//!
//! With inputs: the first is decoded, scaled down to at most 1024 px on the
//! long side (as a model's output would be), tinted with a colour derived from
//! a hash of the prompt and the output index, and a second input (compose
//! mode) is inset in the bottom-right corner. Without inputs (imagine mode): a
//! 768x768 gradient in the prompt's colours. Everything is deterministic.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{imageops, DynamicImage, ImageFormat, Rgb, RgbImage};
use sha2::{Digest, Sha256};

/// Long side of outputs made from an input.
pub const MAX_OUTPUT_SIDE: u32 = 1024;
/// Side of imagine-mode (no input) outputs.
pub const GENERATED_SIDE: u32 = 768;
/// How much of the tint colour goes into each pixel, in percent.
const TINT_PERCENT: u32 = 40;
const JPEG_QUALITY: u8 = 85;

/// Whether `bytes` start like one of the formats the product accepts.
pub(crate) fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    image::guess_format(bytes).ok().filter(|f| matches!(f, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP))
}

/// Makes `count` JPEG outputs, each at least `min_bytes` long. CPU-bound: call
/// it from a blocking thread.
pub(crate) fn render_outputs(
    prompt: &str,
    inputs: &[Vec<u8>],
    count: usize,
    min_bytes: usize,
) -> Result<Vec<Vec<u8>>, String> {
    let base = match inputs.first() {
        Some(first) => Some(prepare_input(first, inputs.get(1).map(Vec::as_slice))?),
        None => None,
    };
    (0..count)
        .map(|index| {
            let tint = tint_colour(prompt, index);
            let image = match &base {
                Some(base) => tinted(base, tint),
                None => gradient(tint, GENERATED_SIDE),
            };
            encode_jpeg(&image, min_bytes)
        })
        .collect()
}

fn decode(bytes: &[u8], which: &str) -> Result<RgbImage, String> {
    image::load_from_memory(bytes).map(DynamicImage::into_rgb8).map_err(|e| format!("could not decode {which}: {e}"))
}

/// The first input at output size, with the second one inset.
fn prepare_input(first: &[u8], second: Option<&[u8]>) -> Result<RgbImage, String> {
    let mut base = fit(decode(first, "image_input[0]")?, MAX_OUTPUT_SIDE);
    if let Some(second) = second {
        let (w, h) = base.dimensions();
        let inset = fit(decode(second, "image_input[1]")?, (w.max(h) / 4).max(1));
        let x = w.saturating_sub(inset.width()) as i64;
        let y = h.saturating_sub(inset.height()) as i64;
        imageops::overlay(&mut base, &inset, x, y);
    }
    Ok(base)
}

/// Scales down (never up) so the long side is at most `max_side`.
fn fit(image: RgbImage, max_side: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    if w.max(h) <= max_side {
        return image;
    }
    let scale = max_side as f64 / w.max(h) as f64;
    let nw = ((w as f64 * scale).round() as u32).max(1);
    let nh = ((h as f64 * scale).round() as u32).max(1);
    imageops::thumbnail(&image, nw, nh)
}

/// A colour from the prompt and output index, bright enough to be seen.
pub(crate) fn tint_colour(prompt: &str, index: usize) -> Rgb<u8> {
    let digest = Sha256::new().chain_update(prompt.as_bytes()).chain_update((index as u64).to_le_bytes()).finalize();
    Rgb([digest[0] | 0x40, digest[1] | 0x40, digest[2] | 0x40])
}

fn tinted(base: &RgbImage, tint: Rgb<u8>) -> RgbImage {
    let mut out = base.clone();
    for pixel in out.pixels_mut() {
        for (channel, tint) in pixel.0.iter_mut().zip(tint.0) {
            let mixed = *channel as u32 * (100 - TINT_PERCENT) + tint as u32 * TINT_PERCENT;
            *channel = (mixed / 100) as u8;
        }
    }
    out
}

/// A diagonal gradient from black-ish to the tint colour.
pub(crate) fn gradient(tint: Rgb<u8>, side: u32) -> RgbImage {
    let span = (2 * side.saturating_sub(1)).max(1);
    RgbImage::from_fn(side, side, |x, y| {
        let t = x + y;
        Rgb(tint.0.map(|c| (16 + (c as u32 - 16.min(c as u32)) * t / span) as u8))
    })
}

fn encode_jpeg(image: &RgbImage, min_bytes: usize) -> Result<Vec<u8>, String> {
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), JPEG_QUALITY)
        .encode_image(image)
        .map_err(|e| format!("could not encode the output: {e}"))?;
    Ok(pad_jpeg(jpeg, min_bytes))
}

/// Grows a JPEG to at least `min_bytes` with COM (comment) segments right
/// after SOI: every decoder skips them, so the image stays the same while the
/// file gets as big as a real model's output (for transfer benchmarks).
pub(crate) fn pad_jpeg(jpeg: Vec<u8>, min_bytes: usize) -> Vec<u8> {
    const MAX_SEGMENT_PAYLOAD: usize = 65_533; // the length field counts itself
    if jpeg.len() >= min_bytes || jpeg.len() < 2 {
        return jpeg;
    }
    let mut missing = min_bytes - jpeg.len();
    let mut padded = Vec::with_capacity(min_bytes + 4);
    padded.extend_from_slice(&jpeg[..2]); // SOI
    while missing > 0 {
        // A segment costs 4 bytes of marker and length plus its payload.
        let payload = missing.saturating_sub(4).min(MAX_SEGMENT_PAYLOAD);
        padded.extend_from_slice(&[0xFF, 0xFE]);
        padded.extend_from_slice(&((payload + 2) as u16).to_be_bytes());
        padded.resize(padded.len() + payload, b'.');
        missing = missing.saturating_sub(payload + 4);
    }
    padded.extend_from_slice(&jpeg[2..]);
    padded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(image: &RgbImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
        bytes
    }

    #[test]
    fn output_follows_input_size_capped_at_1024() {
        let input = png(&RgbImage::from_pixel(2048, 1024, Rgb([200, 10, 10])));
        let outputs = render_outputs("a red room", &[input], 2, 0).unwrap();
        assert_eq!(outputs.len(), 2);
        assert_ne!(outputs[0], outputs[1], "each index gets its own tint");
        let decoded = image::load_from_memory(&outputs[0]).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (1024, 512));
    }

    #[test]
    fn imagine_mode_makes_a_gradient() {
        let outputs = render_outputs("a loft", &[], 1, 0).unwrap();
        let decoded = image::load_from_memory(&outputs[0]).unwrap();
        assert_eq!(decoded.width(), GENERATED_SIDE);
    }

    #[test]
    fn padding_reaches_the_size_and_keeps_the_image() {
        let jpeg = encode_jpeg(&gradient(Rgb([100, 150, 200]), 64), 0).unwrap();
        for min in [jpeg.len() + 1, jpeg.len() + 3, jpeg.len() + 5, 200_000] {
            let padded = pad_jpeg(jpeg.clone(), min);
            assert!(padded.len() >= min && padded.len() <= min + 4, "{min}");
            let a = image::load_from_memory(&padded).unwrap().into_rgb8();
            let b = image::load_from_memory(&jpeg).unwrap().into_rgb8();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn undecodable_input_is_an_error() {
        let err = render_outputs("x", &[b"\x89PNG\r\n\x1a\nnope".to_vec()], 1, 0).unwrap_err();
        assert!(err.contains("image_input[0]"), "{err}");
    }
}
