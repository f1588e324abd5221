//! `generation_jobs`: one row per submission to Replicate.
//!
//! Status moves `starting -> processing -> succeeded | failed | canceled`.
//! Every move is a conditional update (`where status = any(from)`), so
//! concurrent webhooks, polls and the sweeper cannot move a job twice or
//! backwards. The one exception the design asks for: a job failed by the
//! timeout may still succeed when a late result arrives.

use crate::db::{DbError, Param, Statement, Tx, Type};
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

/// The `error` of a job the timeout failed (ours, or Replicate's deadline
/// passing before the prediction started: `aborted`); a late success may
/// still complete it.
pub const TIMEOUT_ERROR: &str = "timeout";
/// The `error` of a job the model's safety filter refused: the user should
/// try another photo or prompt; nothing is charged.
pub const CONTENT_REFUSED_ERROR: &str =
    "the image service declined this photo or prompt; please try another photo or prompt";
/// The partial unique index allowing one starting/processing job per owner.
pub const INFLIGHT_INDEX: &str = "uniq_jobs_owner_inflight";
/// The partial unique index on `(owner_id, idempotency_key)`.
pub const IDEMPOTENCY_INDEX: &str = "uniq_jobs_owner_idem";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Starting,
    Processing,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Starting => "starting",
            JobStatus::Processing => "processing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [JobStatus::Starting, JobStatus::Processing, JobStatus::Succeeded, JobStatus::Failed, JobStatus::Canceled]
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub mode: String,
    pub room_type: Option<String>,
    pub style: Option<String>,
    pub input1_path: Option<String>,
    pub input2_path: Option<String>,
    pub prompt: Option<String>,
    pub prediction_id: Option<String>,
    pub status: JobStatus,
    pub error: Option<String>,
    pub idempotency_key: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub last_polled_at: Option<DateTime<Utc>>,
    /// When the retention sweep deleted the job's input photos.
    pub inputs_expired_at: Option<DateTime<Utc>>,
}

pub(crate) const COLUMNS: &str =
    "id, owner_id, mode, room_type, style, input1_path, input2_path, prompt, prediction_id, \
                       status, error, idempotency_key, created_at, completed_at, last_polled_at, inputs_expired_at";

impl Job {
    /// The input images' paths (`private/...`), in order.
    pub fn input_paths(&self) -> Vec<&str> {
        self.input1_path.iter().chain(&self.input2_path).map(String::as_str).collect()
    }

    pub(crate) fn from_row(row: &Row) -> Result<Self, DbError> {
        let status: String = row.get("status");
        Ok(Job {
            id: row.get("id"),
            owner_id: row.get("owner_id"),
            mode: row.get("mode"),
            room_type: row.get("room_type"),
            style: row.get("style"),
            input1_path: row.get("input1_path"),
            input2_path: row.get("input2_path"),
            prompt: row.get("prompt"),
            prediction_id: row.get("prediction_id"),
            status: JobStatus::parse(&status).ok_or(DbError::InvalidInput)?,
            error: row.get("error"),
            idempotency_key: row.get("idempotency_key"),
            created_at: row.get("created_at"),
            completed_at: row.get("completed_at"),
            last_polled_at: row.get("last_polled_at"),
            inputs_expired_at: row.get("inputs_expired_at"),
        })
    }

    /// True when the timeout failed this job (a late success may complete it).
    pub fn timed_out(&self) -> bool {
        self.status == JobStatus::Failed && self.error.as_deref() == Some(TIMEOUT_ERROR)
    }
}

fn one(rows: Vec<Row>) -> Result<Option<Job>, DbError> {
    rows.first().map(Job::from_row).transpose()
}

#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub owner_id: Uuid,
    pub mode: &'a str,
    pub room_type: Option<&'a str>,
    pub style: Option<&'a str>,
    pub input1_path: Option<&'a str>,
    pub input2_path: Option<&'a str>,
    pub prompt: Option<&'a str>,
    pub idempotency_key: Option<Uuid>,
}

/// Inserts a job in `starting`, as a statement the caller pipelines with
/// others; [`created_job`] reads its answer. The database refuses a second
/// in-flight job of the same owner ([`INFLIGHT_INDEX`]) and a reused
/// idempotency key ([`IDEMPOTENCY_INDEX`]) with a unique violation naming
/// the index.
pub fn create_job_statement<'a>(job: &'a NewJob<'_>) -> Statement<'a> {
    Statement {
        sql: format!(
            "insert into public.generation_jobs
               (owner_id, mode, room_type, style, input1_path, input2_path, prompt, idempotency_key)
             values ($1, $2, $3, $4, $5, $6, $7, $8)
             returning {COLUMNS}"
        )
        .into(),
        params: vec![
            (&job.owner_id, Type::UUID),
            (&job.mode, Type::TEXT),
            (&job.room_type, Type::TEXT),
            (&job.style, Type::TEXT),
            (&job.input1_path, Type::TEXT),
            (&job.input2_path, Type::TEXT),
            (&job.prompt, Type::TEXT),
            (&job.idempotency_key, Type::UUID),
        ],
    }
}

pub fn created_job(rows: Vec<Row>) -> Result<Job, DbError> {
    one(rows)?.ok_or(DbError::NotFound)
}

/// The job with this id, if the transaction's identity may see it.
pub async fn get_job_by_id(tx: &mut Tx, id: Uuid) -> Result<Option<Job>, DbError> {
    let statement = get_job_statement(&id);
    one(tx.query(&statement.sql, &statement.params).await?)
}

/// The statement of [`get_job_by_id`], for a caller that pipelines it;
/// [`job_from_rows`] reads its answer.
pub fn get_job_statement(id: &Uuid) -> Statement<'_> {
    Statement {
        sql: format!("select {COLUMNS} from public.generation_jobs where id = $1").into(),
        params: vec![(id, Type::UUID)],
    }
}

pub fn job_from_rows(rows: Vec<Row>) -> Result<Option<Job>, DbError> {
    one(rows)
}

pub async fn get_job_by_idempotency_key(tx: &mut Tx, owner_id: Uuid, key: Uuid) -> Result<Option<Job>, DbError> {
    let sql = format!("select {COLUMNS} from public.generation_jobs where owner_id = $1 and idempotency_key = $2");
    one(tx.query(&sql, &[(&owner_id, Type::UUID), (&key, Type::UUID)]).await?)
}

/// A status change and the states it may start from.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition<'a> {
    /// Replicate accepted the prediction.
    Processing,
    /// The result is stored; also completes a job the timeout failed.
    Succeeded,
    /// `error` is what the user reads; `detail`, Replicate's own account,
    /// is kept for operators only (users' column grants leave
    /// `failure_detail` out, migration 034).
    Failed {
        error: &'a str,
        detail: Option<&'a str>,
    },
    Canceled,
    /// No terminal status within the timeout.
    TimedOut,
}

impl Transition<'_> {
    fn target(&self) -> JobStatus {
        match self {
            Transition::Processing => JobStatus::Processing,
            Transition::Succeeded => JobStatus::Succeeded,
            Transition::Failed { .. } | Transition::TimedOut => JobStatus::Failed,
            Transition::Canceled => JobStatus::Canceled,
        }
    }

    fn error(&self) -> Option<&str> {
        match self {
            Transition::Failed { error, .. } => Some(error),
            Transition::TimedOut => Some(TIMEOUT_ERROR),
            _ => None,
        }
    }
}

/// Applies `transition` if the job is in a state it may start from; returns
/// the updated job, or `None` when the job is missing or already elsewhere
/// (another delivery won the race, or the job was canceled).
pub async fn set_job_status(tx: &mut Tx, id: Uuid, transition: &Transition<'_>) -> Result<Option<Job>, DbError> {
    let guard = match transition {
        Transition::Processing => "status = 'starting'",
        Transition::Succeeded => "(status in ('starting', 'processing') or (status = 'failed' and error = 'timeout'))",
        Transition::Failed { .. } | Transition::Canceled => "status in ('starting', 'processing')",
        Transition::TimedOut => {
            "status in ('starting', 'processing') and created_at < now() - make_interval(secs => $5)"
        }
    };
    let terminal = transition.target().is_terminal();
    let sql = format!(
        "update public.generation_jobs
            set status = $2,
                error = $3,
                failure_detail = coalesce($4, failure_detail),
                completed_at = case when {terminal} then now() else completed_at end
          where id = $1 and {guard}
          returning {COLUMNS}"
    );
    let status = transition.target().as_str();
    let error = transition.error();
    let detail = match transition {
        Transition::Failed { detail, .. } => *detail,
        _ => None,
    };
    let timeout_seconds = crate::config::JOB_TIMEOUT.as_secs_f64();
    let mut params: Vec<Param<'_>> =
        vec![(&id, Type::UUID), (&status, Type::TEXT), (&error, Type::TEXT), (&detail, Type::TEXT)];
    if matches!(transition, Transition::TimedOut) {
        params.push((&timeout_seconds, Type::FLOAT8));
    }
    let rows = tx.query(&sql, &params).await?;
    one(rows)
}

/// Removes a job that never reached Replicate (its inputs were refused
/// before the prediction was created); `false` when it had moved on
/// meanwhile (canceled by its owner), which then stays as it is.
pub async fn delete_unstarted_job(tx: &mut Tx, id: Uuid) -> Result<bool, DbError> {
    let rows = tx
        .query(
            "delete from public.generation_jobs
              where id = $1 and status = 'starting' and prediction_id is null
              returning id",
            &[(&id, Type::UUID)],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Records the Replicate prediction of a job (once) and moves it to
/// `processing`, as the transaction's last statement, committed in the same
/// round trip.
pub async fn attach_prediction(tx: Tx, id: Uuid, prediction_id: &str) -> Result<Option<Job>, DbError> {
    one(tx.query_and_commit(&attach_sql(), &[(&id, Type::UUID), (&prediction_id, Type::TEXT)]).await?)
}

fn attach_sql() -> String {
    format!(
        "update public.generation_jobs
            set prediction_id = $2,
                status = case when status = 'starting' then 'processing' else status end
          where id = $1 and prediction_id is null
          returning {COLUMNS}"
    )
}

/// Claims the right to poll Replicate for this running job now, for at most
/// one caller per `min_interval` across every process (the claim is a row
/// update, not process memory); the claimer gets the job as it stands.
pub async fn claim_poll(tx: &mut Tx, id: Uuid, min_interval: std::time::Duration) -> Result<Option<Job>, DbError> {
    let sql = format!(
        "update public.generation_jobs
            set last_polled_at = now()
          where id = $1
            and status in ('starting', 'processing')
            and (last_polled_at is null or last_polled_at < now() - make_interval(secs => $2))
          returning {COLUMNS}"
    );
    let seconds = min_interval.as_secs_f64();
    job_from_rows(tx.query(&sql, &[(&id, Type::UUID), (&seconds, Type::FLOAT8)]).await?)
}

/// Jobs not terminal and created more than `older_than` ago, oldest first:
/// what the sweeper polls or expires.
pub async fn list_stale_jobs(tx: &mut Tx, older_than: std::time::Duration, limit: i64) -> Result<Vec<Job>, DbError> {
    let sql = format!(
        "select {COLUMNS} from public.generation_jobs
          where status in ('starting', 'processing') and created_at < now() - make_interval(secs => $1)
          order by created_at
          limit $2"
    );
    let seconds = older_than.as_secs_f64();
    tx.query(&sql, &[(&seconds, Type::FLOAT8), (&limit, Type::INT8)]).await?.iter().map(Job::from_row).collect()
}

/// One variant a job produced, as its answer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputVariant {
    pub index: i32,
    /// Key in the public bucket.
    pub image_path: String,
    /// Its thumbnail's key, when it has one.
    pub thumb_path: Option<String>,
}

/// A job with what it produced: its render's id and the variants, once it
/// succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct JobWithOutputs {
    pub job: Job,
    pub render_id: Option<Uuid>,
    pub variants: Vec<OutputVariant>,
}

impl JobWithOutputs {
    /// A job that produced nothing (it is running, failed or was canceled).
    pub fn without_outputs(job: Job) -> Self {
        JobWithOutputs { job, render_id: None, variants: Vec::new() }
    }
}

/// A job with its outputs (render id, variants' index, path and
/// thumbnail), as a whole read transaction: one statement, one round trip.
pub async fn get_job_with_outputs(tx: Tx, id: Uuid) -> Result<Option<JobWithOutputs>, DbError> {
    job_with_outputs(tx.query_and_commit(OUTPUTS_SQL, &[(&id, Type::UUID)]).await?)
}

/// The read of [`get_job_with_outputs`], a PL/pgSQL function so that its
/// plan is made once per connection (`037_read_functions.sql`, thumbnails
/// since `038_thumbnails.sql`); it answers the job's columns, the render id
/// and the variants' indexes, paths and thumbnail paths.
const OUTPUTS_SQL: &str = "select * from public.job_with_outputs($1)";

fn job_with_outputs(rows: Vec<Row>) -> Result<Option<JobWithOutputs>, DbError> {
    let Some(row) = rows.first() else { return Ok(None) };
    let indexes: Vec<i32> = row.get("variant_indexes");
    let paths: Vec<String> = row.get("variant_paths");
    let thumbs: Vec<Option<String>> = row.get("variant_thumb_paths");
    Ok(Some(JobWithOutputs {
        job: Job::from_row(row)?,
        render_id: row.get("render_id"),
        variants: indexes
            .into_iter()
            .zip(paths)
            .zip(thumbs)
            .map(|((index, image_path), thumb_path)| OutputVariant { index, image_path, thumb_path })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_terminality() {
        for status in
            [JobStatus::Starting, JobStatus::Processing, JobStatus::Succeeded, JobStatus::Failed, JobStatus::Canceled]
        {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        assert!(!JobStatus::Processing.is_terminal());
        assert!(JobStatus::Canceled.is_terminal());
        assert_eq!(Transition::TimedOut.error(), Some(TIMEOUT_ERROR));
    }
}
