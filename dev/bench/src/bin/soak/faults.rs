//! The faults the soak injects, on a schedule spread over the run, and the
//! windows they open: an error answered inside a window (plus [`GRACE`]) is
//! the outage showing through; outside, it is a finding.

use replicate_sim::{Behaviour, SimHandle, WebhookMode};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use testkit::cluster::DedicatedCluster;
use testkit::s3::S3Server;

/// How long after a window closes its errors still count as the outage's:
/// pooled connections broken by a restart are found out on their next use,
/// and a request that began inside the window may answer a moment later.
pub const GRACE: Duration = Duration::from_secs(5);
/// How long before a window opens an answer may still be the outage's: a
/// request sent just before the fault and answered during it. Users' answers
/// are timed when they arrive; the simulator times a webhook when it sends
/// it, and completing one takes seconds under load (download the outputs,
/// store them, the transaction), hence the longer lead.
pub const LEAD: Duration = Duration::from_secs(2);
pub const WEBHOOK_LEAD: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    PostgresRestart,
    PostgresKillConnections,
    StorageDown,
    Replicate5xx,
    Replicate429Long,
    Replicate429Short,
    WebhooksDuplicated,
    WebhooksDelayed,
    WebhooksLost,
}

impl FaultKind {
    pub const ALL: [FaultKind; 9] = [
        FaultKind::PostgresRestart,
        FaultKind::PostgresKillConnections,
        FaultKind::StorageDown,
        FaultKind::Replicate5xx,
        FaultKind::Replicate429Long,
        FaultKind::Replicate429Short,
        FaultKind::WebhooksDuplicated,
        FaultKind::WebhooksDelayed,
        FaultKind::WebhooksLost,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            FaultKind::PostgresRestart => "PostgreSQL restarted (`pg_ctl restart -m fast`)",
            FaultKind::PostgresKillConnections => "`pg_terminate_backend` of every connection of the functions",
            FaultKind::StorageDown => "S3 server stopped, then started again",
            FaultKind::Replicate5xx => "Replicate create answers 500/503",
            FaultKind::Replicate429Long => "Replicate create answers 429, `Retry-After: 30` (not retried)",
            FaultKind::Replicate429Short => "Replicate create answers 429 once, `Retry-After: 1` (retried)",
            FaultKind::WebhooksDuplicated => "each webhook sent 3 times at once",
            FaultKind::WebhooksDelayed => "each webhook sent 25 s late (polls race it)",
            FaultKind::WebhooksLost => "no webhook at all (the sweeper and polls find out)",
        }
    }

    /// Whether errors may show through to clients while it lasts. Webhook
    /// faults must not surface at all.
    fn is_outage(self) -> bool {
        !matches!(self, FaultKind::WebhooksDuplicated | FaultKind::WebhooksDelayed | FaultKind::WebhooksLost)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub kind: FaultKind,
    /// Since the start of the run.
    pub start: Duration,
    pub end: Duration,
}

/// The windows so far, shared with the report.
pub struct FaultLog {
    started: Instant,
    windows: Mutex<Vec<Window>>,
}

impl FaultLog {
    pub fn new(started: Instant) -> Self {
        FaultLog { started, windows: Mutex::new(Vec::new()) }
    }

    fn record(&self, kind: FaultKind, start: Instant, end: Instant) {
        let window = Window { kind, start: start - self.started, end: end - self.started };
        self.windows.lock().expect("fault log").push(window);
    }

    pub fn windows(&self) -> Vec<Window> {
        self.windows.lock().expect("fault log").clone()
    }

    /// Whether an error at `at` falls in an outage window, its lead or its grace.
    pub fn in_outage(&self, at: Duration, lead: Duration) -> bool {
        self.windows
            .lock()
            .expect("fault log")
            .iter()
            .any(|w| w.kind.is_outage() && w.start <= at + lead && at <= w.end + GRACE)
    }
}

/// What the injector acts on.
pub struct Targets<'a> {
    pub cluster: &'a DedicatedCluster,
    pub database: &'a str,
    pub admin_url: String,
    pub s3: &'a S3Server,
    pub sim: &'a SimHandle,
}

/// One scheduled fault: when (fraction of the run), what, for how long
/// (fraction of the run; instant faults ignore it).
struct Planned {
    at: f64,
    kind: FaultKind,
    length: f64,
}

/// Spread so that no two simulator behaviours overlap (the simulator has one
/// behaviour queue) and every kind happens while traffic runs. The storage
/// outage is 30 s of a 600 s run, scaled with the duration.
fn plan() -> Vec<Planned> {
    use FaultKind::*;
    let planned = |at, kind, length| Planned { at, kind, length };
    vec![
        planned(0.08, Replicate5xx, 0.05),
        planned(0.15, PostgresKillConnections, 0.0),
        planned(0.18, WebhooksDuplicated, 0.08),
        planned(0.25, PostgresRestart, 0.0),
        planned(0.30, Replicate429Long, 0.04),
        planned(0.38, StorageDown, 0.05),
        planned(0.46, PostgresKillConnections, 0.0),
        planned(0.50, WebhooksDelayed, 0.08),
        planned(0.60, PostgresRestart, 0.0),
        planned(0.64, Replicate429Short, 0.04),
        planned(0.70, PostgresKillConnections, 0.0),
        planned(0.72, WebhooksLost, 0.05),
        planned(0.80, Replicate5xx, 0.04),
        planned(0.86, PostgresRestart, 0.0),
        planned(0.90, PostgresKillConnections, 0.0),
    ]
}

/// Runs the schedule over `run`, starting at `started`; returns when done.
pub async fn inject(targets: Targets<'_>, log: &FaultLog, started: Instant, run: Duration) {
    let mut replicate_5xx_status = 500;
    for planned in plan() {
        let at = started + run.mul_f64(planned.at);
        tokio::time::sleep_until(at.into()).await;
        let length = run.mul_f64(planned.length).max(Duration::from_secs(5));
        let begin = Instant::now();
        eprintln!("soak: t={:>4}s fault {:?}", (begin - started).as_secs(), planned.kind);
        match planned.kind {
            FaultKind::PostgresRestart => {
                let cluster = targets.cluster;
                let restarted = tokio::task::block_in_place(|| cluster.restart());
                if !restarted {
                    eprintln!("soak: pg_ctl restart failed");
                }
            }
            FaultKind::PostgresKillConnections => {
                let killed = kill_app_connections(&targets.admin_url, targets.database).await;
                eprintln!("soak: {killed} connections ended");
            }
            FaultKind::StorageDown => {
                targets.s3.stop();
                tokio::time::sleep(length).await;
                targets.s3.start();
            }
            kind => {
                let behaviour = match kind {
                    FaultKind::Replicate5xx => {
                        replicate_5xx_status = if replicate_5xx_status == 500 { 503 } else { 500 };
                        Behaviour::server_error(replicate_5xx_status)
                    }
                    FaultKind::Replicate429Long => Behaviour::throttled(30),
                    // Throttled then fine, in turn: the product's one retry succeeds.
                    FaultKind::Replicate429Short => Behaviour::throttled(1),
                    FaultKind::WebhooksDuplicated => {
                        Behaviour::webhook(WebhookMode::Duplicate { count: 3, concurrent: true })
                    }
                    FaultKind::WebhooksDelayed => Behaviour::webhook(WebhookMode::Delayed { ms: 25_000 }),
                    _ => Behaviour::webhook(WebhookMode::None),
                };
                if kind == FaultKind::Replicate429Short {
                    alternate_short_throttles(targets.sim, length).await;
                } else {
                    targets.sim.set_behaviour(behaviour, None);
                    tokio::time::sleep(length).await;
                }
                clear_sim(targets.sim);
            }
        }
        log.record(planned.kind, begin, Instant::now());
    }
}

/// One throttled create followed by a normal one, over and over, so each
/// submit's single retry after `Retry-After: 1` goes through.
async fn alternate_short_throttles(sim: &SimHandle, length: Duration) {
    let until = Instant::now() + length;
    while Instant::now() < until {
        if sim.behaviours().is_empty() {
            sim.set_behaviour(Behaviour::throttled(1), Some(1));
            sim.push_behaviour(Behaviour::default(), Some(1));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Back to the default behaviour for every later create.
pub fn clear_sim(sim: &SimHandle) {
    sim.set_behaviour(Behaviour::default(), Some(0));
}

pub async fn kill_app_connections(admin_url: &str, database: &str) -> usize {
    let Ok((client, connection)) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await else {
        return 0;
    };
    let driver = tokio::spawn(connection);
    let killed = client
        .query(
            "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'authenticator' and datname = $1",
            &[&database],
        )
        .await
        .map(|rows| rows.len())
        .unwrap_or(0);
    drop(client);
    let _ = driver.await;
    killed
}
