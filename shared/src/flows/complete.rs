//! Recording a prediction's end: the one path the webhook, the poll on
//! `GET /generations/{id}` and the sweeper share.
//!
//! Exactly once, whatever the network does: the images are stored first
//! under keys derived from the job (the render id is derived from the job
//! id), so a
//! duplicate or retried delivery overwrites the same objects instead of
//! leaving orphans; then one transaction records the delivery id, moves the
//! job with a conditional update, and writes render, variants and the single
//! debit. A concurrent duplicate blocks on the same rows and then finds the
//! work done. A transient failure (storage down, output host unreachable)
//! records nothing and is reported as such, so Replicate retries.

use crate::app::Services;
use crate::replicate::{OutputError, Prediction, PredictionStatus};
use crate::repositories::generation_jobs::{self as jobs, Job, JobStatus, Transition};
use crate::repositories::{renders, usage, webhook_events};
use crate::storage::{render_key, PUBLIC_BUCKET};
use futures_util::future::try_join_all;
use uuid::Uuid;

/// Where a prediction's result came from.
#[derive(Debug, Clone)]
pub enum Source<'a> {
    /// A verified webhook delivery and its `webhook-id`. `bound_to_job`:
    /// its URL carried the job's token, so Replicate sent it for the
    /// prediction created for this very job (SECURITY.md 25).
    Webhook { delivery_id: &'a str, bound_to_job: bool },
    /// Our own poll of Replicate (get-job or the sweeper).
    Poll,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        render_id: Uuid,
    },
    Failed,
    Canceled,
    /// Replicate is still working; the job moved to `processing` if it was starting.
    StillRunning,
    /// Nothing to do: duplicate delivery, unknown job, job already finished
    /// or canceled, or a prediction that is not this job's.
    Ignored(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    /// Worth retrying later: nothing was recorded.
    #[error("transient failure: {0}")]
    Transient(String),
}

impl From<crate::db::DbError> for CompleteError {
    fn from(error: crate::db::DbError) -> Self {
        CompleteError::Transient(format!("database: {error}"))
    }
}

/// The message a user sees for a failed prediction, never Replicate's raw text.
const PREDICTION_FAILED: &str = "the image could not be generated; please try again";
const BAD_OUTPUT: &str = "the image service returned an unusable result";

pub async fn complete(
    services: &Services,
    job_id: Uuid,
    prediction: &Prediction,
    source: Source<'_>,
) -> Result<Outcome, CompleteError> {
    crate::telemetry::record_job(job_id);
    let (delivery_id, bound_to_job) = match source {
        Source::Webhook { delivery_id, bound_to_job } => (Some(delivery_id), bound_to_job),
        // We fetched this prediction by the id the job records.
        Source::Poll => (None, true),
    };
    // A cheap look first, so duplicates do not download anything.
    let mut tx = services.db.as_service().await?;
    let Some(job) = jobs::get_job_by_id(&mut tx, job_id).await? else {
        return Ok(Outcome::Ignored("unknown job"));
    };
    let already_delivered = match delivery_id {
        Some(id) => webhook_events::delivery_recorded(&mut tx, id).await?,
        None => false,
    };
    tx.commit().await?;
    if already_delivered {
        return Ok(Outcome::Ignored("duplicate delivery"));
    }
    // The signed body names a prediction; the job must be that prediction's:
    // by the id it records, or, before the id is recorded, by the token of
    // the URL the prediction was created with. Otherwise a captured delivery
    // could be aimed at another user's starting job.
    let recorded = job.prediction_id.as_deref();
    if recorded.is_some_and(|id| id != prediction.id) || (recorded.is_none() && !bound_to_job) {
        return Ok(Outcome::Ignored("prediction is not this job's"));
    }
    if !may_change(&job, prediction.status) {
        // An earlier attempt may have stored this success's images and then
        // failed to record them (database gone mid-way, answered 503); the
        // job has since ended another way (e.g. canceled), so no render will
        // ever name them. This retry is the last one to know their keys.
        if prediction.status == PredictionStatus::Succeeded && job.status != JobStatus::Succeeded {
            remove_objects(services, renders::render_id_for_job(job.id), prediction.output.len()).await;
        }
        return Ok(Outcome::Ignored("job already finished"));
    }
    match prediction.status {
        PredictionStatus::Succeeded => succeed(services, &job, prediction, delivery_id).await,
        PredictionStatus::Failed => {
            let detail = prediction.error.as_deref().unwrap_or("failed without an error message");
            let message =
                if refused_by_safety_filter(detail) { jobs::CONTENT_REFUSED_ERROR } else { PREDICTION_FAILED };
            let failed = Transition::Failed { error: message, detail: Some(detail) };
            finish(services, &job, delivery_id, failed, Outcome::Failed).await
        }
        // Replicate's deadline (our Cancel-After) passed before the
        // prediction started: the job timed out, nobody canceled it.
        PredictionStatus::Aborted => {
            let detail = Some("aborted: the deadline passed before the prediction started");
            let timed_out = Transition::Failed { error: jobs::TIMEOUT_ERROR, detail };
            finish(services, &job, delivery_id, timed_out, Outcome::Failed).await
        }
        PredictionStatus::Canceled => {
            finish(services, &job, delivery_id, Transition::Canceled, Outcome::Canceled).await
        }
        PredictionStatus::Starting | PredictionStatus::Processing => {
            if job.status == JobStatus::Starting {
                let mut tx = services.db.as_service().await?;
                jobs::set_job_status(&mut tx, job.id, &Transition::Processing).await?;
                tx.commit().await?;
            }
            Ok(Outcome::StillRunning)
        }
    }
}

/// Whether a result with `status` may still change this job: running jobs
/// may end any way; a job the timeout failed may still succeed late;
/// canceled and finished jobs never change again.
fn may_change(job: &Job, status: PredictionStatus) -> bool {
    match job.status {
        JobStatus::Starting | JobStatus::Processing => true,
        JobStatus::Failed => job.timed_out() && status == PredictionStatus::Succeeded,
        JobStatus::Succeeded | JobStatus::Canceled => false,
    }
}

async fn succeed(
    services: &Services,
    job: &Job,
    prediction: &Prediction,
    delivery_id: Option<&str>,
) -> Result<Outcome, CompleteError> {
    if prediction.output.is_empty() {
        let failed = Transition::Failed { error: BAD_OUTPUT, detail: Some("succeeded without output") };
        return finish(services, job, delivery_id, failed, Outcome::Failed).await;
    }
    let render_id = renders::render_id_for_job(job.id);
    // Download and store every variant concurrently.
    let stored = try_join_all(prediction.output.iter().enumerate().map(|(index, url)| async move {
        let bytes = services.replicate.download_output(url).await?;
        let key = render_key(render_id, index as i32);
        services
            .storage
            .put(PUBLIC_BUCKET, &key, bytes, "image/jpeg")
            .await
            .map_err(|error| StoreError::Storage(error.to_string()))?;
        Ok::<String, StoreError>(key)
    }))
    .await;
    let keys = match stored {
        Ok(keys) => keys,
        Err(StoreError::Output(error)) if is_permanent(&error) => {
            tracing::warn!(%error, job_id = %job.id, "unusable output");
            remove_orphans(services, job.id, prediction.output.len()).await?;
            let detail = error.to_string();
            let failed = Transition::Failed { error: BAD_OUTPUT, detail: Some(&detail) };
            return finish(services, job, delivery_id, failed, Outcome::Failed).await;
        }
        Err(error) => {
            remove_orphans(services, job.id, prediction.output.len()).await?;
            return Err(CompleteError::Transient(error.to_string()));
        }
    };

    let mut tx = services.db.as_service().await?;
    if let Some(id) = delivery_id {
        if !webhook_events::record_delivery(&mut tx, id, Some(job.id), "completed").await? {
            // A concurrent copy of this delivery won; its render names these
            // keys, unless it was deleted meanwhile.
            tx.rollback().await?;
            remove_orphans(services, job.id, keys.len()).await?;
            return Ok(Outcome::Ignored("duplicate delivery"));
        }
    }
    if jobs::set_job_status(&mut tx, job.id, &Transition::Succeeded).await?.is_none() {
        // Another delivery or poll finished it first (then the objects are
        // that render's), or it was canceled meanwhile (then they are orphans).
        tx.rollback().await?;
        remove_orphans(services, job.id, keys.len()).await?;
        return Ok(Outcome::Ignored("job already finished"));
    }
    let new_render = renders::NewRender {
        id: render_id,
        job_id: job.id,
        owner_id: job.owner_id,
        mode: &job.mode,
        room_type: job.room_type.as_deref(),
        style: job.style.as_deref(),
        cover_variant: 0,
    };
    renders::create_render(&mut tx, &new_render).await?;
    renders::add_variants(&mut tx, render_id, job.owner_id, &keys).await?;
    usage::debit_generation(&mut tx, job.owner_id, job.id, 1).await?;
    tx.commit().await?;
    tracing::info!(job_id = %job.id, variants = keys.len(), "generation completed");
    Ok(Outcome::Succeeded { render_id })
}

/// Ends the job with `transition` (a failure's detail goes with it, in the
/// same statement).
async fn finish(
    services: &Services,
    job: &Job,
    delivery_id: Option<&str>,
    transition: Transition<'_>,
    outcome: Outcome,
) -> Result<Outcome, CompleteError> {
    let mut tx = services.db.as_service().await?;
    if let Some(id) = delivery_id {
        if !webhook_events::record_delivery(&mut tx, id, Some(job.id), "completed").await? {
            return Ok(Outcome::Ignored("duplicate delivery"));
        }
    }
    if jobs::set_job_status(&mut tx, job.id, &transition).await?.is_none() {
        return Ok(Outcome::Ignored("job already finished"));
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Whether Replicate's failure text is the model's safety filter refusing
/// the input or the output (nano-banana reports `E005`, "flagged as
/// sensitive"; other models say NSFW or content policy), rather than an
/// outage worth retrying as is.
fn refused_by_safety_filter(detail: &str) -> bool {
    let detail = detail.to_lowercase();
    ["(e005)", "flagged as sensitive", "nsfw", "safety filter", "content policy", "content moderation"]
        .iter()
        .any(|marker| detail.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::refused_by_safety_filter;

    #[test]
    fn safety_refusals_are_told_from_other_failures() {
        assert!(refused_by_safety_filter(
            "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
        ));
        assert!(refused_by_safety_filter("NSFW content detected. Try running it again, or try a different prompt."));
        assert!(!refused_by_safety_filter("CUDA out of memory"));
        assert!(!refused_by_safety_filter("Prediction interrupted; please retry (code: PA)"));
    }
}

#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error("{0}")]
    Output(#[from] OutputError),
    #[error("storage: {0}")]
    Storage(String),
}

/// Outputs that will never become acceptable on a retry.
fn is_permanent(error: &OutputError) -> bool {
    matches!(
        error,
        OutputError::DisallowedUrl(_) | OutputError::Redirected | OutputError::TooLarge | OutputError::NotJpeg
    )
}

/// Removes the objects this attempt stored, unless a render names them: a
/// concurrent delivery or poll won, and its render points at these very keys
/// (they derive from the job id). The job having succeeded is not enough: its
/// owner may have deleted that render (and its objects) while this attempt
/// was storing them again, which would leave objects no row names.
async fn remove_orphans(services: &Services, job_id: Uuid, count: usize) -> Result<(), CompleteError> {
    let render_id = renders::render_id_for_job(job_id);
    let mut tx = services.db.as_service().await?;
    let Some(job) = jobs::get_job_by_id(&mut tx, job_id).await? else {
        tx.commit().await?;
        return Ok(());
    };
    let render = match job.status {
        JobStatus::Succeeded => renders::get_render(&mut tx, render_id, job.owner_id).await?,
        _ => None,
    };
    tx.commit().await?;
    if render.is_none() {
        remove_objects(services, render_id, count).await;
    }
    Ok(())
}

/// Best effort: objects without a render must not linger.
async fn remove_objects(services: &Services, render_id: Uuid, count: usize) {
    for index in 0..count {
        if let Err(error) = services.storage.delete(PUBLIC_BUCKET, &render_key(render_id, index as i32)).await {
            tracing::warn!(%error, %render_id, "could not remove an orphan object");
        }
    }
}
