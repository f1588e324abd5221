//! Images (BENCHMARKS.md, "Images"), built with `--profile measure` like
//! the Lambda binaries' code:
//! - bytes a client downloads for one gallery page of 24 covers, the
//!   renders themselves against their WebP thumbnails;
//! - time and peak memory a thumbnail adds to a completion, per variant;
//! - time and peak memory of cleaning a 12-megapixel phone JPEG (EXIF
//!   orientation and GPS) as submit does.
//!
//! Renders are synthetic (no photo is committed to the repository): a room
//! drawn with walls, a wooden floor, furniture blocks, soft light and fine
//! grain, encoded as JPEG at quality 90 like a model's output. A real
//! render's JPEG size depends on its content; the ratio is what carries over.
//!
//! Peak memory is the process's resident high-water mark (`VmHWM`), reset
//! before each measurement (`/proc/self/clear_refs`), minus what was resident
//! before: what the work itself added.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use shared::images::{clean_input, thumbnail_webp, CleanSettings, THUMB_LONG_EDGE, THUMB_QUALITY};
use shared::storage::ImageType;
use std::time::{Duration, Instant};

const PAGE: usize = 24;
const RUNS: usize = 7;

fn noise(x: u32, y: u32, seed: u32) -> u32 {
    let mut h = x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263) ^ seed.wrapping_mul(2_246_822_519);
    h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    h ^ (h >> 16)
}

/// A synthetic interior render of `width` x `height`.
fn synthetic_render(seed: u32, width: u32, height: u32) -> RgbImage {
    let horizon = height * 3 / 5;
    let wall = [180 + (seed * 7 % 60) as i32, 170 + (seed * 13 % 50) as i32, 150 + (seed * 5 % 70) as i32];
    let blocks: Vec<(u32, u32, u32, u32, [i32; 3])> = (0..6)
        .map(|i| {
            let n = noise(i, seed, 7);
            let bw = width / 8 + n % (width / 4);
            let bh = height / 10 + (n >> 8) % (height / 3);
            let bx = (n >> 4) % (width - bw);
            let by = horizon.saturating_sub(bh / 2) + (n >> 12) % (height / 5);
            let colour = [(n % 200) as i32 + 30, ((n >> 8) % 200) as i32 + 30, ((n >> 16) % 200) as i32 + 30];
            (bx, by.min(height - bh), bw, bh, colour)
        })
        .collect();
    RgbImage::from_fn(width, height, |x, y| {
        let light = 1.0 - 0.35 * ((x as f32 / width as f32) - 0.3).abs();
        let mut colour = if y < horizon {
            wall
        } else {
            // Floor boards: stripes with grain along them.
            let board = (x / (width / 12).max(1)) as i32;
            let grain = ((noise(x / 40, y, seed) % 24) as i32) - 12;
            [120 + board * 3 % 30 + grain, 80 + board * 5 % 20 + grain / 2, 50 + grain / 3]
        };
        for (bx, by, bw, bh, block) in &blocks {
            if x >= *bx && x < bx + bw && y >= *by && y < by + bh {
                let shade = 0.8 + 0.2 * ((y - by) as f32 / *bh as f32);
                colour = block.map(|c| (c as f32 * shade) as i32);
            }
        }
        let grain = (noise(x, y, seed) % 9) as i32 - 4;
        Rgb(colour.map(|c| ((c as f32 * light) as i32 + grain).clamp(0, 255) as u8))
    })
}

fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality).encode_image(image).expect("encode");
    out
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field).map(|rest| rest.trim().trim_end_matches("kB").trim().to_owned()))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// Runs `work` once with the high-water mark reset: (time, MiB added at peak).
fn measured<T>(work: impl FnOnce() -> T) -> (Duration, f64, T) {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident size");
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    let out = work();
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:");
    (elapsed, peak.saturating_sub(before) as f64 / 1024.0, out)
}

fn median_of(runs: usize, mut work: impl FnMut() -> (Duration, f64)) -> (Duration, f64) {
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..runs {
        let (time, peak) = work();
        times.push(time);
        peaks.push(peak);
    }
    times.sort();
    peaks.sort_by(f64::total_cmp);
    (times[runs / 2], peaks[runs - 1])
}

fn kb(bytes: usize) -> String {
    format!("{:.0} KB", bytes as f64 / 1000.0)
}

fn main() {
    // One gallery page: 24 renders in the model's output shapes.
    let shapes = [(1024, 1024), (1344, 768), (768, 1344), (1184, 864)];
    let renders: Vec<Vec<u8>> = (0..PAGE as u32)
        .map(|i| {
            let (w, h) = shapes[i as usize % shapes.len()];
            jpeg(&synthetic_render(i + 1, w, h), 90)
        })
        .collect();
    let thumbs: Vec<Vec<u8>> = renders.iter().map(|r| thumbnail_webp(r).expect("thumbnail")).collect();
    let original_bytes: usize = renders.iter().map(Vec::len).sum();
    let thumb_bytes: usize = thumbs.iter().map(Vec::len).sum();
    let largest_thumb = thumbs.iter().map(Vec::len).max().unwrap_or(0);

    // One variant's thumbnail, as a completion makes it.
    let square = &renders[0];
    let (thumb_time, thumb_peak) = median_of(RUNS, || {
        let (time, peak, _) = measured(|| thumbnail_webp(square).expect("thumbnail"));
        (time, peak)
    });

    // A phone photo as submit cleans it.
    let photo = testkit::photos::twelve_megapixel_jpeg();
    let settings = CleanSettings::default();
    let mut clean_bytes = 0;
    let (clean_time, clean_peak) = median_of(5, || {
        let (time, peak, cleaned) =
            measured(|| clean_input(&photo, ImageType::Jpeg, &settings).expect("a clean photo"));
        clean_bytes = cleaned.rewritten.map_or(0, |b| b.len());
        (time, peak)
    });

    println!("| gallery page of {PAGE} covers | bytes downloaded |");
    println!("| --- | --- |");
    println!("| the renders (JPEG, quality 90, 768-1344 px) | {} |", kb(original_bytes));
    println!(
        "| their thumbnails (WebP, quality {THUMB_QUALITY}, long edge {THUMB_LONG_EDGE} px) | {} ({:.1}% of the renders; largest {}) |",
        kb(thumb_bytes),
        100.0 * thumb_bytes as f64 / original_bytes as f64,
        kb(largest_thumb)
    );
    println!();
    println!(
        "| work, one core of this machine | median time ({RUNS} runs; cleaning 5) | peak memory added (largest run) |"
    );
    println!("| --- | --- | --- |");
    println!(
        "| a completion's thumbnail, per variant (decode a 1024x1024 render, scale, encode WebP) | {:.1} ms | {:.1} MiB |",
        thumb_time.as_secs_f64() * 1000.0,
        thumb_peak
    );
    println!(
        "| cleaning a 12-megapixel phone JPEG ({} KB, orientation 6, GPS) to {} px: decode, turn, scale, encode | {:.0} ms | {:.1} MiB |",
        photo.len() / 1000,
        settings.max_edge,
        clean_time.as_secs_f64() * 1000.0,
        clean_peak
    );
    println!();
    println!("The clean photo is {} (from {}).", kb(clean_bytes), kb(photo.len()));
}
