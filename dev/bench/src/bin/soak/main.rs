//! The soak under faults (BENCHMARKS.md, "Soak under faults"): many simulated
//! users drive mixed traffic over HTTP through the dev gateway for
//! `SOAK_SECONDS` (default 600) while PostgreSQL restarts, connections are
//! killed, the S3 server stops, Replicate throttles and fails, and webhooks
//! come twice, late or never. Then faults stop, in-flight jobs drain, every
//! user tries one more submit, and the invariants are checked and printed.
//!
//! PostgreSQL is a cluster of the soak's own (`testkit::cluster::DedicatedCluster`)
//! and the S3 server a dedicated one, so restarting them disturbs nothing
//! else. Progress goes to stderr, the markdown fragment to stdout; the exit
//! code is 0 even with violations (they are in the fragment).

mod faults;
mod invariants;
mod report;
mod traffic;

use faults::{FaultLog, Targets};
use invariants::{Evidence, Probe};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::cluster::DedicatedCluster;
use testkit::{S3Choice, TestStack, TestUser};
use traffic::{Client, Recorder};

/// Production runs the sweeper every minute; the soak every 10 s, so that a
/// lost webhook costs a short run less of its length.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Longest wait for in-flight jobs after the traffic (a delayed webhook is
/// 25 s, a stale job is polled after 20 s).
const DRAIN_LIMIT: Duration = Duration::from_secs(150);

/// Per-user limits no simulated user reaches.
const SOAK_RATE_LIMITS: &str = r#"{"submit": {"maxRequests": 10000, "periodSeconds": 60},
    "cancel": {"maxRequests": 10000, "periodSeconds": 60}, "upload": {"maxRequests": 10000, "periodSeconds": 60}}"#;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let cluster = DedicatedCluster::start("soak");
    // testkit's server() reads these on first use; nothing else runs yet.
    std::env::set_var("DATABASE_URL", cluster.admin_url());
    std::env::remove_var("TEST_VIA_PGBOUNCER");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let markdown = runtime.block_on(soak(&cluster));
    drop(runtime);
    print!("{markdown}");
}

async fn soak(cluster: &DedicatedCluster) -> String {
    let run = Duration::from_secs(env_number("SOAK_SECONDS", 600));
    let user_count = env_number("SOAK_USERS", 48) as usize;
    let mut stack = TestStack::spawn_with(S3Choice::Dedicated).await;
    // The per-user rate limits (10 submits a minute by default) are tested on
    // their own; here they would refuse the simulated users' bursts of
    // retries and hide the faults' effects, so they are set out of reach.
    let mut env = stack.services.env.clone();
    env.rate_limits = shared::config::RateLimits::from_json(SOAK_RATE_LIMITS).expect("soak rate limits");
    let services = Arc::new(shared::app::Services::new(env).expect("services"));
    let gateway = tokio::spawn(gateway::serve(stack.take_listener(), services.clone()));
    let users = sign_up(&stack, user_count).await;

    let started = Instant::now();
    let started_wall = chrono::Utc::now();
    let recorder = Arc::new(Recorder::new(started));
    let client = Arc::new(Client {
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client"),
        api: stack.api_url(""),
        recorder: recorder.clone(),
        input_jpeg: testkit::stack::test_jpeg(96, 64),
    });
    let sweeper = tokio::spawn(sweep_forever(services.clone()));
    let progress = tokio::spawn(report_progress(recorder.clone(), started));
    eprintln!("soak: {user_count} users for {} s", run.as_secs());

    let deadline = started + run;
    let user_tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| tokio::spawn(traffic::run_user(client.clone(), user.clone(), i as u64 + 1, deadline)))
        .collect();
    let fault_log = FaultLog::new(started);
    let targets = Targets {
        cluster,
        database: &stack.app.database.name,
        admin_url: stack.app.database.admin_url(),
        s3: stack.s3(),
        sim: &stack.sim,
    };
    faults::inject(targets, &fault_log, started, run).await;
    for task in user_tasks {
        let _ = task.await;
    }
    progress.abort();

    // Faults off (they already are, by schedule); the drain, the probe, the drain again.
    faults::clear_sim(&stack.sim);
    stack.s3().start();
    let admin = stack.app.database.admin().await;
    let drain_started = Instant::now();
    drain(&admin).await;
    let mut probes = Vec::new();
    for user in &users {
        let (status, _, answer) = traffic::submit_once(&client, user).await;
        let code = answer["error"]["code"].as_str().map(str::to_owned);
        probes.push(Probe { user: user.id, status, code });
    }
    drain(&admin).await;
    let drain = drain_started.elapsed();
    sweeper.abort();

    let samples = recorder.samples();
    let deliveries = stack.sim.deliveries();
    let deleted_renders = recorder.deleted_renders.lock().expect("deleted").clone();
    let evidence = Evidence {
        admin: &admin,
        s3: stack.s3(),
        plans: &stack.services.env.plans,
        samples: &samples,
        deliveries: &deliveries,
        faults: &fault_log,
        deleted_renders: &deleted_renders,
        idempotency_replays: recorder.idempotency_replays.load(std::sync::atomic::Ordering::Relaxed),
        idempotency_mismatches: recorder.idempotency_mismatches.load(std::sync::atomic::Ordering::Relaxed),
        probes: &probes,
        started_wall,
    };
    let checks = invariants::check_all(&evidence).await;
    let jobs_by_status: Vec<(String, i64)> = admin
        .query("select status, count(*) from public.generation_jobs group by status order by status", &[])
        .await
        .expect("jobs by status")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    gateway.abort();
    let answers = invariants::answers(&evidence);
    let windows = fault_log.windows();
    report::markdown(&report::Summary {
        run,
        users: user_count,
        sweep_every: SWEEP_EVERY,
        drain,
        answers: &answers,
        windows: &windows,
        jobs_by_status: &jobs_by_status,
        checks: &checks,
    })
}

/// Users on each plan: one in eight on the free plan (3 generations, so
/// `LIMIT_EXCEEDED` comes early), one in eight weekly (20), the rest monthly (100).
async fn sign_up(stack: &TestStack, count: usize) -> Vec<TestUser> {
    let mut users = Vec::with_capacity(count);
    for i in 0..count {
        let user = stack.create_user().await;
        match i % 8 {
            0 => {}
            1 => stack.app.set_plan(&user, Some("price_weekly"), true).await,
            _ => stack.app.set_plan(&user, Some("price_monthly"), true).await,
        }
        users.push(user);
    }
    users
}

async fn sweep_forever(services: Arc<shared::app::Services>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        gateway::sweep(&services).await;
    }
}

async fn report_progress(recorder: Arc<Recorder>, started: Instant) {
    loop {
        tokio::time::sleep(Duration::from_secs(30)).await;
        eprintln!("soak: t={:>4}s {} requests", started.elapsed().as_secs(), recorder.count());
    }
}

/// Waits until no job is in flight (the sweeper keeps running), up to the limit.
async fn drain(admin: &tokio_postgres::Client) {
    let until = Instant::now() + DRAIN_LIMIT;
    loop {
        let in_flight: i64 = admin
            .query_one("select count(*) from public.generation_jobs where status in ('starting', 'processing')", &[])
            .await
            .expect("count jobs in flight")
            .get(0);
        if in_flight == 0 || Instant::now() >= until {
            eprintln!("soak: drain: {in_flight} jobs in flight");
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
