//! Keeping jobs moving when webhooks do not arrive: a stale job is polled at
//! Replicate (at most once per interval across all callers, claimed through
//! the database) and completed, and a job past the timeout becomes `failed`
//! so its owner can generate again. Used by `GET /generations/{id}` and the
//! sweeper.

use super::complete::{self, Outcome};
use crate::app::Services;
use crate::config::JOB_TIMEOUT;
use crate::repositories::generation_jobs::{self as jobs, Job, JobWithOutputs, Transition};
use chrono::Utc;
use std::time::Duration;

/// A job without news for this long is worth asking Replicate about.
pub const STALE_AFTER: Duration = Duration::from_secs(20);
/// At most one poll per job in this interval, whoever asks.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub enum Refreshed {
    /// Nothing was due, or another caller holds the poll.
    Unchanged,
    Polled,
    /// Replicate's answer ended the job: as stored now, with its outputs.
    Completed(Box<JobWithOutputs>),
    /// The timeout failed the job: as stored now.
    Expired(Box<Job>),
}

fn age(job: &Job) -> Duration {
    (Utc::now() - job.created_at).to_std().unwrap_or_default()
}

/// Polls or expires `job` if it is stale. Failures to reach Replicate leave
/// the job as it is (the next call tries again); they are not the caller's
/// problem.
pub async fn refresh_if_stale(services: &Services, job: &Job) -> Result<Refreshed, crate::db::DbError> {
    crate::telemetry::record_job(job.id);
    if job.status.is_terminal() || age(job) < STALE_AFTER {
        return Ok(Refreshed::Unchanged);
    }
    let mut tx = services.db.as_service().await?;
    let claimed = jobs::claim_poll(&mut tx, job.id, POLL_INTERVAL).await?;
    tx.commit().await?;
    // The claim answers the job as it stands now, which is what the poll
    // and the timeout judge.
    let Some(job) = claimed else {
        return Ok(Refreshed::Unchanged);
    };
    if let Some(prediction_id) = &job.prediction_id {
        match services.replicate.get_prediction(prediction_id).await {
            Ok(prediction) => match complete::complete_poll(services, &job, &prediction).await {
                Ok(Outcome::Ended(ended)) => return Ok(Refreshed::Completed(ended)),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, job_id = %job.id, "completing after a poll failed"),
            },
            Err(error) => tracing::warn!(%error, job_id = %job.id, "polling Replicate failed"),
        }
    }
    if age(&job) >= JOB_TIMEOUT {
        let mut tx = services.db.as_service().await?;
        let expired = jobs::set_job_status(&mut tx, job.id, &Transition::TimedOut).await?;
        tx.commit().await?;
        if let Some(expired) = expired {
            tracing::info!(job_id = %job.id, "generation timed out");
            return Ok(Refreshed::Expired(Box::new(expired)));
        }
    }
    Ok(Refreshed::Polled)
}
