//! Cold start and memory per function (BENCHMARKS.md, "Cold start and memory").
//!
//! Each function binary (built with `--profile measure`) is started the way
//! Lambda starts a `provided.al2023` runtime: a fresh process whose
//! `AWS_LAMBDA_RUNTIME_API` points at a Runtime API this benchmark serves on
//! 127.0.0.1, with the function's own environment aimed at a real local stack
//! (a migrated PostgreSQL database, the S3 server, the Replicate simulator).
//!
//! - init: process spawn until its first `GET .../invocation/next`, as wall
//!   time and as the CPU time its threads used (which other work on the
//!   machine does not stretch, so the 2x target is judged on it);
//! - first invocation: the first real event, which opens the lazy database
//!   connection; later invocations: the median of the next ones; the
//!   difference is what the first request pays for the connection and for
//!   anything else first used then;
//! - peak RSS: `VmHWM` of the process after a few hundred invocations.
//!
//! A hello-world `lambda_runtime` binary built the same way is measured the
//! same way in the same rounds (functions and baseline interleaved, so load
//! from elsewhere on the machine affects them alike). Medians over the cold
//! starts. Markdown table on stdout, progress on stderr.

mod fixtures;
mod runtime_api;

use fixtures::Fixture;
use runtime_api::RuntimeApi;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const COLD_STARTS: usize = 5;
const LATER_INVOCATIONS: usize = 20;
/// Invocations after the timed ones, before the peak RSS is read.
const MEMORY_INVOCATIONS: usize = 100;
const INVOCATIONS: usize = 1 + LATER_INVOCATIONS + MEMORY_INVOCATIONS;
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Issue 6: hello-world Rust on Lambda inits in about 14 ms; stay within 2x.
const LAMBDA_HELLO_INIT_MS: f64 = 14.0;
const INIT_RATIO_TARGET: f64 = 2.0;
const LAMBDA_SMALLEST_MB: f64 = 128.0;

/// Also run without system CA certificates to load (the last row).
const DIAGNOSED_FUNCTION: &str = "uploads";

const FUNCTIONS: [&str; 12] = [
    "uploads",
    "submit-job",
    "get-job",
    "cancel-job",
    "replicate-webhook",
    "sweep-jobs",
    "renders",
    "collections",
    "community",
    "community-admin",
    "usage",
    "presets",
];

/// One cold start and the invocations that follow it.
struct ColdStart {
    init: Duration,
    /// CPU time of all the process's threads during init: unlike the wall
    /// time, not stretched by other work on the machine.
    init_cpu: Duration,
    first: Duration,
    later: Duration,
    peak_rss_kib: u64,
    succeeded: usize,
}

#[derive(Default)]
struct Samples {
    runs: Vec<ColdStart>,
}

fn median<T: Ord + Copy>(values: impl IntoIterator<Item = T>) -> T {
    let mut values: Vec<T> = values.into_iter().collect();
    values.sort();
    values[values.len() / 2]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn binaries_dir() -> PathBuf {
    std::env::var_os("COLDSTART_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/measure"))
}

fn logs_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/coldstart-logs");
    std::fs::create_dir_all(&dir).expect("create log dir");
    dir
}

/// The variables Lambda itself sets for a custom runtime.
fn lambda_environment(fixture: &Fixture, api: &RuntimeApi) -> Vec<(String, String)> {
    let name = format!("interior-render-bench-{}", fixture.function);
    [
        ("AWS_LAMBDA_RUNTIME_API", api.address.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", fixture.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]coldstart".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("RUST_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect()
}

/// CPU time a process's threads have run so far, from `schedstat`
/// (nanoseconds, where `/proc/<pid>/stat` counts 10 ms ticks).
fn cpu_time(pid: u32) -> Duration {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Duration::ZERO };
    threads
        .flatten()
        .filter_map(|thread| std::fs::read_to_string(thread.path().join("schedstat")).ok())
        .filter_map(|schedstat| schedstat.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .sum()
}

/// `VmHWM` (peak resident set) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

async fn cold_start(fixture: &Fixture, binary: &Path, log: &File) -> ColdStart {
    let events = fixture.events(INVOCATIONS).await;
    let mut api = RuntimeApi::start().await;
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .envs(lambda_environment(fixture, &api))
        .envs(fixture.environment())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log.try_clone().expect("log handle"))
        .kill_on_drop(true);
    let spawned = Instant::now();
    let mut child = command.spawn().unwrap_or_else(|error| panic!("start {}: {error}", binary.display()));
    let Some(ready) = api.first_poll(INIT_TIMEOUT).await else {
        panic!("{} never asked for an event; see target/coldstart-logs/{}.log", fixture.label, fixture.label);
    };
    let pid = child.id().expect("running child");
    // Blocked on the long poll now, so its counters stand still.
    let init_cpu = cpu_time(pid);
    let mut durations = Vec::with_capacity(INVOCATIONS);
    let mut succeeded = 0;
    for event in &events {
        let answer = api.invoke(event).await;
        if fixtures::succeeded(&answer) {
            succeeded += 1;
        } else {
            eprintln!("  {}: not 2xx: {}", fixture.label, String::from_utf8_lossy(&answer.body));
        }
        durations.push(answer.duration);
    }
    let peak_rss_kib = peak_rss_kib(pid);
    let _ = child.kill().await;
    ColdStart {
        init: ready - spawned,
        init_cpu,
        first: durations[0],
        later: median(durations[1..=LATER_INVOCATIONS].iter().copied()),
        peak_rss_kib,
        succeeded,
    }
}

/// A bare tokio-postgres connect to the same database from this process:
/// what the DB connect alone costs here (no TLS locally; Supabase adds it).
async fn bare_connect(fixture: &Fixture) -> Option<Duration> {
    let url = fixture.environment().into_iter().find(|(name, _)| name == "DATABASE_URL")?.1;
    let started = Instant::now();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    let elapsed = started.elapsed();
    drop(client);
    let _ = connection.await;
    Some(elapsed)
}

#[tokio::main]
async fn main() {
    let dir = binaries_dir();
    let mut fixtures = vec![Fixture::hello()];
    for function in FUNCTIONS {
        eprintln!("coldstart: preparing a stack for {function}");
        fixtures.push(Fixture::new(function).await);
    }
    fixtures.push(Fixture::without_system_roots(DIAGNOSED_FUNCTION).await);
    for fixture in &fixtures {
        let binary = dir.join(fixture.function);
        assert!(
            binary.is_file(),
            "{} missing: cargo build --profile measure -p bench -p <every function>",
            binary.display()
        );
    }
    let logs = logs_dir();
    let log_files: Vec<File> = fixtures
        .iter()
        .map(|fixture| File::create(logs.join(format!("{}.log", fixture.label))).expect("log file"))
        .collect();
    let mut samples: Vec<Samples> = fixtures.iter().map(|_| Samples::default()).collect();
    let mut connects = Vec::new();
    for round in 1..=COLD_STARTS {
        for ((fixture, log), samples) in fixtures.iter().zip(&log_files).zip(&mut samples) {
            eprintln!("coldstart: round {round}/{COLD_STARTS}: {}", fixture.label);
            samples.runs.push(cold_start(fixture, &dir.join(fixture.function), log).await);
        }
        connects.extend(bare_connect(&fixtures[1]).await);
    }
    print_table(&fixtures, &samples, median(connects));
}

fn print_table(fixtures: &[Fixture], samples: &[Samples], bare_connect: Duration) {
    let hello_init = millis(median(samples[0].runs.iter().map(|run| run.init)));
    let hello_init_cpu = millis(median(samples[0].runs.iter().map(|run| run.init_cpu)));
    println!(
        "| function | event | Lambda memory | init, wall (median of {COLD_STARTS}) | init, CPU | ÷ hello-world \
         (wall, CPU) | first invocation | \
         later invocations (median of {LATER_INVOCATIONS}) | DB connect + first use | peak RSS after {INVOCATIONS} \
         invocations | fits 128 MB | 2xx answers |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut over_target = Vec::new();
    for (fixture, samples) in fixtures.iter().zip(samples) {
        let runs = &samples.runs;
        let init = millis(median(runs.iter().map(|run| run.init)));
        // The fastest start is the least disturbed by other work on the machine.
        let fastest_init = millis(runs.iter().map(|run| run.init).min().unwrap_or_default());
        let first = millis(median(runs.iter().map(|run| run.first)));
        let later = millis(median(runs.iter().map(|run| run.later)));
        let extra = millis(median(runs.iter().map(|run| run.first.saturating_sub(run.later))));
        let peak_mib = median(runs.iter().map(|run| run.peak_rss_kib)) as f64 / 1024.0;
        let max_peak_mib = runs.iter().map(|run| run.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        let init_cpu = millis(median(runs.iter().map(|run| run.init_cpu)));
        let ratio = init / hello_init;
        let cpu_ratio = init_cpu / hello_init_cpu;
        if cpu_ratio > INIT_RATIO_TARGET && !fixture.without_system_roots {
            over_target.push(fixture.function);
        }
        let succeeded: usize = runs.iter().map(|run| run.succeeded).sum();
        println!(
            "| {} | {} | {} MB | {init:.1} ms (fastest {fastest_init:.1}) | {init_cpu:.1} ms | \
             {ratio:.2}, {cpu_ratio:.2} | {first:.1} ms | \
             {later:.2} ms | {extra:.1} ms | {peak_mib:.1} MiB (max {max_peak_mib:.1}) | {} | {succeeded}/{} |",
            fixture.label,
            fixture.route,
            fixture.memory_mb,
            if max_peak_mib < LAMBDA_SMALLEST_MB { "yes" } else { "no" },
            runs.len() * INVOCATIONS,
        );
    }
    println!();
    println!(
        "Reference: hello-world Rust inits in about {LAMBDA_HELLO_INIT_MS:.0} ms on Lambda (issue 6); the target is \
         at most {INIT_RATIO_TARGET:.0}x hello-world before the DB connect, measured here against the local \
         hello-world ({hello_init:.1} ms wall, {hello_init_cpu:.1} ms CPU). Over the target by CPU time (the wall \
         time depends on what else the machine runs): {}.",
        if over_target.is_empty() { "none".to_string() } else { over_target.join(", ") }
    );
    let init_of = |without_system_roots: bool| {
        let position = fixtures
            .iter()
            .position(|f| f.function == DIAGNOSED_FUNCTION && f.without_system_roots == without_system_roots)
            .expect("diagnosed function measured both ways");
        millis(median(samples[position].runs.iter().map(|run| run.init_cpu)))
    };
    let (with_roots, without_roots) = (init_of(false), init_of(true));
    println!(
        "The last row is {DIAGNOSED_FUNCTION} again with `SSL_CERT_FILE=/dev/null` and an empty `SSL_CERT_DIR`: \
         `aws_sdk_s3::Client::from_conf` (in `Services::new`, so at init) validates its HTTPS client by building \
         it, and that loads and parses every system CA certificate (`rustls-native-certs`); without them init \
         takes {without_roots:.1} ms of CPU instead of {with_roots:.1} ms ({:.2}x hello-world instead of {:.2}x).",
        without_roots / hello_init_cpu,
        with_roots / hello_init_cpu
    );
    println!(
        "A bare tokio-postgres connect (authenticator, SCRAM, no TLS) to the same local database takes {:.1} ms \
         (median of {COLD_STARTS}), part of \"DB connect + first use\".",
        millis(bare_connect)
    );
}
