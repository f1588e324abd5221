//! What must hold after the soak, checked as a superuser on the database and
//! by listing the S3 server's public bucket, plus what the users and the
//! simulator's webhooks were answered.

use crate::faults::{FaultLog, LEAD, WEBHOOK_LEAD};
use crate::traffic::Sample;
use chrono::{DateTime, Utc};
use replicate_sim::DeliveryRecord;
use shared::config::{PlanTable, JOB_TIMEOUT};
use shared::storage::PUBLIC_BUCKET;
use std::collections::HashSet;
use std::time::Duration;
use testkit::s3::S3Server;
use tokio_postgres::Client;
use uuid::Uuid;

/// One invariant: how many things were checked, what broke it.
pub struct Check {
    pub name: &'static str,
    pub checked: usize,
    pub violations: usize,
    /// The first few violations, to start looking from.
    pub examples: Vec<String>,
    /// Not a violation, but worth saying (e.g. jobs still legitimately running).
    pub note: Option<String>,
}

impl Check {
    fn new(name: &'static str) -> Self {
        Check { name, checked: 0, violations: 0, examples: Vec::new(), note: None }
    }

    fn violation(&mut self, example: String) {
        self.violations += 1;
        if self.examples.len() < 10 {
            self.examples.push(example);
        }
    }
}

/// The answer of the final "can each user submit again" probe.
pub struct Probe {
    pub user: Uuid,
    pub status: Option<u16>,
    pub code: Option<String>,
}

pub struct Evidence<'a> {
    pub admin: &'a Client,
    pub s3: &'a S3Server,
    pub plans: &'a PlanTable,
    pub samples: &'a [Sample],
    pub deliveries: &'a [DeliveryRecord],
    pub faults: &'a FaultLog,
    pub deleted_renders: &'a HashSet<Uuid>,
    pub idempotency_replays: usize,
    pub idempotency_mismatches: usize,
    pub probes: &'a [Probe],
    /// The run's start in wall time (webhook records carry wall time).
    pub started_wall: DateTime<Utc>,
}

pub async fn check_all(evidence: &Evidence<'_>) -> Vec<Check> {
    let db = evidence.admin;
    vec![
        jobs_settled(db).await,
        one_debit_per_success(db).await,
        renders_match_jobs(db, evidence.deleted_renders).await,
        images_match_variants(db, evidence.s3).await,
        users_not_blocked(evidence.probes),
        quota_respected(db, evidence.plans).await,
        no_500(evidence),
        errors_only_in_outages(evidence),
        idempotent_replays(evidence.idempotency_replays, evidence.idempotency_mismatches),
    ]
}

async fn jobs_settled(db: &Client) -> Check {
    let mut check = Check::new("every job terminal or legitimately in flight");
    let rows = db
        .query("select id, status, extract(epoch from now() - created_at)::float8 from public.generation_jobs", &[])
        .await
        .expect("read jobs");
    check.checked = rows.len();
    let mut running = 0;
    for row in rows {
        let (id, status, age): (Uuid, String, f64) = (row.get(0), row.get(1), row.get(2));
        if matches!(status.as_str(), "starting" | "processing") {
            if age >= JOB_TIMEOUT.as_secs_f64() {
                check.violation(format!("job {id} still {status} after {age:.0} s"));
            } else {
                running += 1;
            }
        }
    }
    if running > 0 {
        check.note = Some(format!("{running} still in flight, younger than the {} s timeout", JOB_TIMEOUT.as_secs()));
    }
    check
}

async fn one_debit_per_success(db: &Client) -> Check {
    let mut check = Check::new("exactly one debit per succeeded job, none for any other");
    let rows = db
        .query(
            "select j.id, j.status, count(l.id) from public.generation_jobs j
             left join public.usage_ledger l on l.kind = 'generation_debit' and l.meta->>'jobId' = j.id::text
             group by j.id, j.status",
            &[],
        )
        .await
        .expect("read debits per job");
    check.checked = rows.len();
    for row in rows {
        let (id, status, debits): (Uuid, String, i64) = (row.get(0), row.get(1), row.get(2));
        let expected = i64::from(status == "succeeded");
        if debits != expected {
            check.violation(format!("job {id} ({status}) has {debits} debits"));
        }
    }
    let strays = db
        .query(
            "select l.id::text from public.usage_ledger l where l.kind = 'generation_debit'
             and not exists (select 1 from public.generation_jobs j where j.id::text = l.meta->>'jobId')",
            &[],
        )
        .await
        .expect("read stray debits");
    for row in strays {
        check.violation(format!("debit {} names no job", row.get::<_, String>(0)));
    }
    check
}

/// A succeeded job has its render (unless its owner deleted it); a render
/// belongs to a succeeded job and has at least one variant.
async fn renders_match_jobs(db: &Client, deleted: &HashSet<Uuid>) -> Check {
    let mut check = Check::new("each succeeded job has its render (or its owner deleted it), no other job has one");
    let rows = db
        .query(
            "select j.id, j.status, r.id, (select count(*) from public.render_variants v where v.render_id = r.id)
             from public.generation_jobs j left join public.renders r on r.job_id = j.id",
            &[],
        )
        .await
        .expect("read renders per job");
    check.checked = rows.len();
    for row in rows {
        let (job, status, render, variants): (Uuid, String, Option<Uuid>, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let expected_render = shared::repositories::renders::render_id_for_job(job);
        match (status.as_str(), render) {
            ("succeeded", None) if !deleted.contains(&expected_render) => {
                check.violation(format!("job {job} succeeded without a render"))
            }
            ("succeeded", Some(render)) if variants == 0 => check.violation(format!("render {render} has no variants")),
            ("succeeded", _) => {}
            (_, Some(render)) => check.violation(format!("render {render} of a {status} job {job}")),
            _ => {}
        }
    }
    check
}

/// Every variant's image and thumbnail exist; every render object is some
/// variant's image or thumbnail.
async fn images_match_variants(db: &Client, s3: &S3Server) -> Check {
    let mut check = Check::new("no render without its images, no image without its render");
    let rows = db
        .query(
            "select image_path from public.render_variants
             union all
             select thumb_path from public.render_variants where thumb_path is not null",
            &[],
        )
        .await
        .expect("read variants");
    let paths: HashSet<String> = rows.iter().map(|row| row.get(0)).collect();
    let objects: HashSet<String> =
        s3.object_keys(PUBLIC_BUCKET).into_iter().filter(|key| key.starts_with("renders/")).collect();
    check.checked = paths.len() + objects.len();
    let mut missing: Vec<_> = paths.difference(&objects).collect();
    missing.sort();
    for path in missing {
        check.violation(format!("variant {path}: no object"));
    }
    let mut orphans: Vec<_> = objects.difference(&paths).collect();
    orphans.sort();
    if !orphans.is_empty() {
        // Name the job behind each orphan (render ids derive from job ids), to start looking from.
        let jobs = db.query("select id, status, error from public.generation_jobs", &[]).await.expect("read jobs");
        let by_render: std::collections::HashMap<String, String> = jobs
            .iter()
            .map(|row| {
                let (job, status, error): (Uuid, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
                let render = shared::repositories::renders::render_id_for_job(job);
                (render.to_string(), format!("job {job} {status} {}", error.unwrap_or_default()))
            })
            .collect();
        for key in orphans {
            let render = key.split('/').nth(1).unwrap_or_default();
            let job = by_render.get(render).map(String::as_str).unwrap_or("no job");
            check.violation(format!("object {key}: no variant ({job})"));
        }
    }
    check
}

fn users_not_blocked(probes: &[Probe]) -> Check {
    let mut check = Check::new("no user left blocked (a new submit is accepted or refused by quota)");
    check.checked = probes.len();
    let mut over_quota = 0;
    for probe in probes {
        match (probe.status, probe.code.as_deref()) {
            (Some(202), _) => {}
            (Some(402), Some("LIMIT_EXCEEDED")) => over_quota += 1,
            (status, code) => check.violation(format!("user {}: {status:?} {code:?}", probe.user)),
        }
    }
    check.note = Some(format!("{over_quota} refused with LIMIT_EXCEEDED (quota used up)"));
    check
}

async fn quota_respected(db: &Client, plans: &PlanTable) -> Check {
    let mut check = Check::new("no user charged beyond their plan's monthly generations");
    let rows = db
        .query(
            "select p.id, p.price_id, p.has_access,
                    (select count(*) from public.usage_ledger l where l.owner_id = p.id and l.kind = 'generation_debit'),
                    (select count(*) from public.generation_jobs j where j.owner_id = p.id and j.status = 'succeeded'
                       and j.completed_at > j.created_at + make_interval(secs => $1))
             from public.profiles p",
            &[&JOB_TIMEOUT.as_secs_f64()],
        )
        .await
        .expect("read debits per user");
    check.checked = rows.len();
    let mut late = 0;
    for row in rows {
        let (user, price, access, debits, late_successes): (Uuid, Option<String>, bool, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        let limit = plans.resolve(price.as_deref(), access, false).monthly_generations;
        if debits > limit {
            // README's known limit: a success after the timeout is still charged.
            if debits - late_successes <= limit {
                late += 1;
            } else {
                check.violation(format!("user {user}: {debits} debits, plan allows {limit}"));
            }
        }
    }
    if late > 0 {
        check.note = Some(format!("{late} users over their limit only by late successes (known limit)"));
    }
    check
}

/// One answer: when, which route, which status, and how long before a
/// window it may have been sent (see [`crate::faults::LEAD`]).
pub struct Answer {
    pub at: Duration,
    pub route: String,
    pub status: Option<u16>,
    lead: Duration,
}

/// Every answer with its time: API calls by the users, webhooks by the simulator.
pub fn answers(evidence: &Evidence<'_>) -> Vec<Answer> {
    let mut all: Vec<_> = evidence
        .samples
        .iter()
        .map(|s| Answer { at: s.at, route: s.route.to_string(), status: s.status, lead: LEAD })
        .collect();
    for delivery in evidence.deliveries {
        let at = (delivery.sent_at - evidence.started_wall).to_std().unwrap_or_default();
        let route = "POST /webhooks/replicate (simulator)".to_string();
        all.push(Answer { at, route, status: delivery.status_code, lead: WEBHOOK_LEAD });
    }
    all
}

fn no_500(evidence: &Evidence<'_>) -> Check {
    let mut check = Check::new("no 500, ever");
    let all = answers(evidence);
    check.checked = all.len();
    for Answer { at, route, status, .. } in all {
        if status == Some(500) {
            check.violation(format!("t={:.1}s {route}: 500", at.as_secs_f64()));
        }
    }
    check
}

fn errors_only_in_outages(evidence: &Evidence<'_>) -> Check {
    let mut check = Check::new("other 5xx, 429 and unanswered requests only during injected outages");
    let all = answers(evidence);
    check.checked = all.len();
    let mut inside = 0;
    for Answer { at, route, status, lead } in all {
        let failed = match status {
            Some(500) => false, // its own invariant
            Some(s) => s >= 500 || s == 429,
            None => true,
        };
        if !failed {
            continue;
        }
        if evidence.faults.in_outage(at, lead) {
            inside += 1;
        } else {
            check.violation(format!("t={:.1}s {route}: {status:?}", at.as_secs_f64()));
        }
    }
    check.note = Some(format!("{inside} inside the windows"));
    check
}

fn idempotent_replays(replays: usize, mismatches: usize) -> Check {
    let mut check = Check::new("a replayed idempotency key returns the same job");
    check.checked = replays;
    for _ in 0..mismatches {
        check.violation("a replay named another job".into());
    }
    check
}
