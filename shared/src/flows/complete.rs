//! Recording a prediction's end: the one path the webhook, the poll on
//! `GET /generations/{id}` and the sweeper share.
//!
//! Exactly once, whatever the network does: the images and their WebP
//! thumbnails are stored first under keys derived from the job (the render
//! id is derived from the job id), so a duplicate or retried delivery
//! overwrites the same objects instead of leaving orphans or a second set; then one transaction records the delivery id, moves the
//! job with a conditional update, and writes render, variants and the single
//! debit. A concurrent duplicate blocks on the same rows and then finds the
//! work done. A transient failure (storage down, output host unreachable)
//! records nothing and is reported as such, so Replicate retries.

use crate::app::Services;
use crate::images::{thumbnail_webp, ImageRefusal};
use crate::replicate::{OutputError, Prediction, PredictionStatus};
use crate::repositories::generation_jobs::{self as jobs, Job, JobStatus, JobWithOutputs, OutputVariant, Transition};
use crate::repositories::renders::VariantObjects;
use crate::repositories::{renders, usage, webhook_events};
use crate::storage::{render_key, thumb_key, PUBLIC_BUCKET};
use futures_util::future::try_join_all;
use uuid::Uuid;

/// A verified webhook delivery: its `webhook-id`, and whether its URL
/// carried the job's token, so Replicate sent it for the prediction created
/// for this very job (SECURITY.md 25).
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub id: &'a str,
    pub bound_to_job: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The job ended (succeeded, failed or canceled): as stored now, with
    /// its render and variants when it succeeded.
    Ended(Box<JobWithOutputs>),
    /// Replicate is still working; the job moved to `processing` if it was starting.
    StillRunning,
    /// Nothing to do: duplicate delivery, unknown job, job already finished
    /// or canceled, or a prediction that is not this job's.
    Ignored(&'static str),
}

impl Outcome {
    /// A word for the webhook's answer and the logs.
    pub fn describe(&self) -> &'static str {
        match self {
            Outcome::Ended(ended) => ended.job.status.as_str(),
            Outcome::StillRunning => "processing",
            Outcome::Ignored(reason) => reason,
        }
    }
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

/// A webhook delivery about the job its URL names. A cheap look first (the
/// job, and whether this delivery was seen), so duplicates download nothing.
pub async fn complete_delivery(
    services: &Services,
    job_id: Uuid,
    prediction: &Prediction,
    delivery: Delivery<'_>,
) -> Result<Outcome, CompleteError> {
    crate::telemetry::record_job(job_id);
    let mut tx = services.db.as_service().await?;
    let Some(job) = jobs::get_job_by_id(&mut tx, job_id).await? else {
        return Ok(Outcome::Ignored("unknown job"));
    };
    let already_delivered = webhook_events::delivery_recorded(&mut tx, delivery.id).await?;
    tx.commit().await?;
    if already_delivered {
        return Ok(Outcome::Ignored("duplicate delivery"));
    }
    // The signed body names a prediction; the job must be that prediction's:
    // by the id it records, or, before the id is recorded, by the token of
    // the URL the prediction was created with. Otherwise a captured delivery
    // could be aimed at another user's starting job.
    let recorded = job.prediction_id.as_deref();
    if recorded.is_some_and(|id| id != prediction.id) || (recorded.is_none() && !delivery.bound_to_job) {
        return Ok(Outcome::Ignored("prediction is not this job's"));
    }
    record(services, &job, prediction, Some(delivery.id)).await
}

/// Our own poll's answer (get-job or the sweeper) for `job` as it stands; we
/// fetched the prediction by the id the job records.
pub async fn complete_poll(services: &Services, job: &Job, prediction: &Prediction) -> Result<Outcome, CompleteError> {
    crate::telemetry::record_job(job.id);
    if job.prediction_id.as_deref() != Some(prediction.id.as_str()) {
        return Ok(Outcome::Ignored("prediction is not this job's"));
    }
    record(services, job, prediction, None).await
}

/// Records `prediction`'s news on `job`; `delivery_id` is recorded with it,
/// exactly once, when the news came by webhook.
async fn record(
    services: &Services,
    job: &Job,
    prediction: &Prediction,
    delivery_id: Option<&str>,
) -> Result<Outcome, CompleteError> {
    if !may_change(job, prediction.status) {
        // An earlier attempt may have stored this success's images and then
        // failed to record them (database gone mid-way, answered 503); the
        // job has since ended another way (e.g. canceled), so no render will
        // ever name them. This retry is the last one to know their keys.
        if prediction.status == PredictionStatus::Succeeded && job.status != JobStatus::Succeeded {
            RenderObjects::for_job(job, prediction.output.len()).remove(services).await;
        }
        return Ok(Outcome::Ignored("job already finished"));
    }
    match prediction.status {
        PredictionStatus::Succeeded => succeed(services, job, prediction, delivery_id).await,
        PredictionStatus::Failed => {
            let detail = prediction.error.as_deref().unwrap_or("failed without an error message");
            let message =
                if refused_by_safety_filter(detail) { jobs::CONTENT_REFUSED_ERROR } else { PREDICTION_FAILED };
            let failed = Transition::Failed { error: message, detail: Some(detail) };
            finish(services, job, delivery_id, failed).await
        }
        // Replicate's deadline (our Cancel-After) passed before the
        // prediction started: the job timed out, nobody canceled it.
        PredictionStatus::Aborted => {
            let detail = Some("aborted: the deadline passed before the prediction started");
            let timed_out = Transition::Failed { error: jobs::TIMEOUT_ERROR, detail };
            finish(services, job, delivery_id, timed_out).await
        }
        PredictionStatus::Canceled => finish(services, job, delivery_id, Transition::Canceled).await,
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
        return finish(services, job, delivery_id, failed).await;
    }
    let objects = RenderObjects::for_job(job, prediction.output.len());
    // Download every variant, make its thumbnail and store both, all
    // variants concurrently.
    let variants: Vec<_> =
        prediction.output.iter().zip(&objects.keys).map(|(url, keys)| store_variant(services, url, keys)).collect();
    let stored = try_join_all(variants).await;
    match stored {
        Ok(_) => {}
        Err(error) if error.is_permanent() => {
            tracing::warn!(%error, job_id = %job.id, "unusable output");
            objects.remove_unless_recorded(services).await?;
            let detail = error.to_string();
            let failed = Transition::Failed { error: BAD_OUTPUT, detail: Some(&detail) };
            return finish(services, job, delivery_id, failed).await;
        }
        Err(error) => {
            objects.remove_unless_recorded(services).await?;
            return Err(CompleteError::Transient(error.to_string()));
        }
    }

    let mut tx = services.db.as_service().await?;
    if let Some(id) = delivery_id {
        if !webhook_events::record_delivery(&mut tx, id, Some(job.id), "completed").await? {
            // A concurrent copy of this delivery won; its render names these
            // keys, unless it was deleted meanwhile.
            tx.rollback().await?;
            objects.remove_unless_recorded(services).await?;
            return Ok(Outcome::Ignored("duplicate delivery"));
        }
    }
    let Some(succeeded) = jobs::set_job_status(&mut tx, job.id, &Transition::Succeeded).await? else {
        // Another delivery or poll finished it first (then the objects are
        // that render's), or it was canceled meanwhile (then they are orphans).
        tx.rollback().await?;
        objects.remove_unless_recorded(services).await?;
        return Ok(Outcome::Ignored("job already finished"));
    };
    let new_render = renders::NewRender {
        id: objects.render_id,
        job_id: job.id,
        owner_id: job.owner_id,
        mode: &job.mode,
        room_type: job.room_type.as_deref(),
        style: job.style.as_deref(),
        cover_variant: 0,
    };
    renders::create_render(&mut tx, &new_render).await?;
    renders::add_variants(&mut tx, objects.render_id, job.owner_id, &objects.keys).await?;
    usage::debit_generation(&mut tx, job.owner_id, job.id, 1).await?;
    tx.commit().await?;
    tracing::info!(job_id = %job.id, variants = objects.keys.len(), "generation completed");
    Ok(Outcome::Ended(Box::new(objects.into_outputs(succeeded))))
}

/// Ends the job with `transition` (a failure's detail goes with it, in the
/// same statement).
async fn finish(
    services: &Services,
    job: &Job,
    delivery_id: Option<&str>,
    transition: Transition<'_>,
) -> Result<Outcome, CompleteError> {
    let mut tx = services.db.as_service().await?;
    if let Some(id) = delivery_id {
        if !webhook_events::record_delivery(&mut tx, id, Some(job.id), "completed").await? {
            return Ok(Outcome::Ignored("duplicate delivery"));
        }
    }
    let Some(ended) = jobs::set_job_status(&mut tx, job.id, &transition).await? else {
        return Ok(Outcome::Ignored("job already finished"));
    };
    tx.commit().await?;
    Ok(Outcome::Ended(Box::new(JobWithOutputs::without_outputs(ended))))
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

/// Downloads one output, makes its thumbnail (on a blocking thread: it is
/// CPU work) and stores both under the variant's keys.
async fn store_variant(services: &Services, url: &str, keys: &VariantObjects) -> Result<(), StoreError> {
    let image = services.replicate.download_output(url).await?;
    let (image, thumb) = make_thumbnail(image).await?;
    let thumb_path = keys.thumb_path.as_deref().expect("a completion's variants have thumbnail keys");
    let (image_stored, thumb_stored) = tokio::join!(
        services.storage.put(PUBLIC_BUCKET, &keys.image_path, image, "image/jpeg"),
        services.storage.put(PUBLIC_BUCKET, thumb_path, thumb, "image/webp"),
    );
    image_stored.and(thumb_stored).map_err(|error| StoreError::Storage(error.to_string()))
}

/// A WebP thumbnail of `image`, made on a blocking thread; the image comes
/// back with it (moved there and back rather than copied: a render is
/// megabytes).
pub async fn make_thumbnail(image: Vec<u8>) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let (image, thumb) = tokio::task::spawn_blocking(move || {
        let thumb = thumbnail_webp(&image);
        (image, thumb)
    })
    .await
    .map_err(|error| StoreError::Storage(format!("the thumbnail task failed: {error}")))?;
    Ok((image, thumb.map_err(StoreError::Unreadable)?))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Output(#[from] OutputError),
    /// The output is not an image we can read (so no browser could either).
    #[error("the output is not a readable image: {0}")]
    Unreadable(ImageRefusal),
    #[error("storage: {0}")]
    Storage(String),
}

impl StoreError {
    /// Outputs that will never become acceptable on a retry.
    fn is_permanent(&self) -> bool {
        match self {
            StoreError::Output(error) => matches!(
                error,
                OutputError::DisallowedUrl(_) | OutputError::Redirected | OutputError::TooLarge | OutputError::NotJpeg
            ),
            StoreError::Unreadable(_) => true,
            StoreError::Storage(_) => false,
        }
    }
}

/// Where a succeeded prediction's images and thumbnails go. The keys derive
/// from the job (through its render id), so every attempt writes the same
/// objects.
struct RenderObjects {
    render_id: Uuid,
    owner_id: Uuid,
    keys: Vec<VariantObjects>,
}

impl RenderObjects {
    fn for_job(job: &Job, count: usize) -> Self {
        let render_id = renders::render_id_for_job(job.id);
        let keys = (0..count as i32)
            .map(|index| VariantObjects {
                image_path: render_key(render_id, index),
                thumb_path: Some(thumb_key(render_id, index)),
            })
            .collect();
        RenderObjects { render_id, owner_id: job.owner_id, keys }
    }

    /// The job as it succeeded, with the render these objects belong to.
    fn into_outputs(self, job: Job) -> JobWithOutputs {
        let variants = (0..)
            .zip(self.keys)
            .map(|(index, keys)| OutputVariant { index, image_path: keys.image_path, thumb_path: keys.thumb_path })
            .collect();
        JobWithOutputs { job, render_id: Some(self.render_id), variants }
    }

    /// Removes the objects this attempt stored, unless a render names them:
    /// a concurrent delivery or poll won, and its render points at these
    /// very keys. The job having succeeded is not enough: its owner may have
    /// deleted that render (and its objects) while this attempt was storing
    /// them again, which would leave objects no row names.
    async fn remove_unless_recorded(&self, services: &Services) -> Result<(), CompleteError> {
        let mut tx = services.db.as_service().await?;
        let render = renders::get_render(&mut tx, self.render_id, self.owner_id).await?;
        tx.commit().await?;
        if render.is_none() {
            self.remove(services).await;
        }
        Ok(())
    }

    /// Best effort: objects without a render must not linger.
    async fn remove(&self, services: &Services) {
        // Collected first: a lazy iterator with a closure, held across the
        // awaits below, makes the future's `Send` bound unprovable to rustc.
        let keys: Vec<&String> =
            self.keys.iter().flat_map(|keys| std::iter::once(&keys.image_path).chain(&keys.thumb_path)).collect();
        for key in keys {
            if let Err(error) = services.storage.delete(PUBLIC_BUCKET, key).await {
                tracing::warn!(%error, render_id = %self.render_id, "could not remove an orphan object");
            }
        }
    }
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
