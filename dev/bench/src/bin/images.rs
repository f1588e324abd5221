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
//! Each timed run is a fresh process (this binary again, `--run thumbnail`
//! or `--run clean`), so no run reuses memory an earlier one freed: peak
//! memory is that process's resident high-water mark (`VmHWM`) minus what
//! was resident once its input was ready.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use shared::images::{clean_input, thumbnail_webp, CleanSettings, THUMB_LONG_EDGE, THUMB_QUALITY};
use shared::storage::ImageType;
use std::time::Instant;

const PAGE: usize = 24;
const RUNS: usize = 7;

fn noise(x: u32, y: u32, seed: u32) -> u32 {
    let mut h = x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263) ^ seed.wrapping_mul(2_246_822_519);
    h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    h ^ (h >> 16)
}

/// Smooth noise in -0.5..0.5 with features about `cell` pixels wide.
fn value_noise(x: u32, y: u32, cell: u32, seed: u32) -> f32 {
    let (cx, cy) = (x / cell, y / cell);
    let (fx, fy) = ((x % cell) as f32 / cell as f32, (y % cell) as f32 / cell as f32);
    let corner = |dx: u32, dy: u32| (noise(cx + dx, cy + dy, seed) % 1024) as f32 / 1024.0 - 0.5;
    let top = corner(0, 0) * (1.0 - fx) + corner(1, 0) * fx;
    let bottom = corner(0, 1) * (1.0 - fx) + corner(1, 1) * fx;
    top * (1.0 - fy) + bottom * fy
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
        // Texture at several scales (fabric, wood, plants, reflections): the
        // detail that survives scaling down, as a real render's does.
        let texture = (value_noise(x, y, 24, seed) * 28.0 + value_noise(x, y, 6, seed + 1) * 16.0) as i32;
        let grain = (noise(x, y, seed) % 9) as i32 - 4;
        Rgb(colour.map(|c| ((c as f32 * light) as i32 + texture + grain).clamp(0, 255) as u8))
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

/// One timed run in this process, on an input made beforehand: prints
/// "<milliseconds> <MiB added at peak>".
fn run_once(what: &str) {
    let input = match what {
        "thumbnail" => jpeg(&synthetic_render(1, 1024, 1024), 90),
        "clean" => testkit::photos::twelve_megapixel_jpeg(),
        other => panic!("unknown run {other}"),
    };
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    let produced = match what {
        "thumbnail" => thumbnail_webp(&input).expect("thumbnail").len(),
        _ => clean_input(&input, ImageType::Jpeg, &CleanSettings::default())
            .expect("a clean photo")
            .rewritten
            .map_or(0, |clean| clean.len()),
    };
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:").saturating_sub(before);
    println!("{} {} {produced} {}", elapsed.as_secs_f64() * 1000.0, peak as f64 / 1024.0, input.len());
}

/// `runs` fresh processes of `what`: median time, largest peak, the
/// output's and the input's size.
fn fresh_runs(what: &str, runs: usize) -> (f64, f64, usize, usize) {
    let exe = std::env::current_exe().expect("this binary");
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    let mut sizes = (0, 0);
    for _ in 0..runs {
        let output = std::process::Command::new(&exe).args(["--run", what]).output().expect("run");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let line = String::from_utf8(output.stdout).expect("text");
        let fields: Vec<&str> = line.split_whitespace().collect();
        times.push(fields[0].parse::<f64>().expect("ms"));
        peaks.push(fields[1].parse::<f64>().expect("MiB"));
        sizes = (fields[2].parse().expect("bytes"), fields[3].parse().expect("bytes"));
    }
    times.sort_by(f64::total_cmp);
    peaks.sort_by(f64::total_cmp);
    (times[runs / 2], peaks[runs - 1], sizes.0, sizes.1)
}

fn kb(bytes: usize) -> String {
    format!("{:.0} KB", bytes as f64 / 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, what] = args.as_slice() {
        if flag == "--run" {
            return run_once(what);
        }
    }
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

    let (thumb_ms, thumb_peak, _, _) = fresh_runs("thumbnail", RUNS);
    let (clean_ms, clean_peak, clean_bytes, photo_bytes) = fresh_runs("clean", 5);
    let settings = CleanSettings::default();

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
        "| work, one core of this machine, a fresh process per run | median time ({RUNS} runs; cleaning 5) | peak memory added (largest run) |"
    );
    println!("| --- | --- | --- |");
    println!(
        "| a completion's thumbnail, per variant (decode a 1024x1024 render, scale, encode WebP) | {thumb_ms:.1} ms | {thumb_peak:.1} MiB |"
    );
    println!(
        "| cleaning a 12-megapixel phone JPEG ({}, orientation 6, GPS) to {} px: decode, scale, turn, encode | {clean_ms:.0} ms | {clean_peak:.1} MiB |",
        kb(photo_bytes),
        settings.max_edge,
    );
    println!();
    println!("The clean photo is {} (from {}).", kb(clean_bytes), kb(photo_bytes));
}
