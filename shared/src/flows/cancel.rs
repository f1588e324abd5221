//! `POST /generations/{id}/cancel`: stop a running generation at Replicate
//! and locally. A late result for a canceled job is never recorded, so a
//! canceled job is never charged.

use crate::app::Services;
use crate::auth::VerifiedUser;
use crate::config::RateLimitedAction;
use crate::http::{ApiError, ErrorCode};
use crate::replicate::ReplicateError;
use crate::repositories::generation_jobs::{self as jobs, Job, Transition};
use crate::repositories::rate_limits;
use uuid::Uuid;

pub async fn cancel(services: &Services, user: &VerifiedUser, job_id: Uuid) -> Result<Job, ApiError> {
    crate::telemetry::record_job(job_id);
    // Read as the user (someone else's job is simply not found), in the same
    // flight as the caller's cancel rate-limit token.
    let action = RateLimitedAction::Cancel.as_str();
    let limit = services.env.rate_limits.of(RateLimitedAction::Cancel);
    let mut tx = services.db.as_user(user).await?;
    let (token, job) = tx
        .query_pipelined(&rate_limits::take_caller_token_statement(&action, &limit), &jobs::get_job_statement(&job_id))
        .await?;
    if let Some(wait) = rate_limits::wait_from_rows(&token?)? {
        return Err(ApiError::rate_limited("too many cancels; please wait a moment", wait));
    }
    let job = jobs::job_from_rows(job?)?.ok_or_else(|| ApiError::not_found("generation"))?;
    tx.commit().await?;
    if job.status.is_terminal() {
        return Err(finished(&job));
    }
    if let Some(prediction_id) = &job.prediction_id {
        match services.replicate.cancel_prediction(prediction_id).await {
            Ok(_) | Err(ReplicateError::NotFound) => {}
            // The local cancel still stands: the user is unblocked and never
            // charged, whatever Replicate does with the prediction.
            Err(error) => tracing::warn!(%error, %job_id, "canceling at Replicate failed"),
        }
    }
    let mut tx = services.db.as_service().await?;
    let canceled = jobs::set_job_status(&mut tx, job.id, &Transition::Canceled).await?;
    match canceled {
        Some(job) => {
            tx.commit().await?;
            Ok(job)
        }
        None => {
            // It finished while we were canceling.
            let now = jobs::get_job_by_id(&mut tx, job.id).await?.ok_or_else(|| ApiError::not_found("generation"))?;
            tx.commit().await?;
            // Most often Replicate's own "canceled" webhook, answering our
            // cancel, got there first: the cancel worked.
            if now.status == jobs::JobStatus::Canceled {
                Ok(now)
            } else {
                Err(finished(&now))
            }
        }
    }
}

fn finished(job: &Job) -> ApiError {
    ApiError::conflict(ErrorCode::ResourceConflict, format!("the generation has already {}", job.status.as_str()))
        .with_details(serde_json::json!({ "status": job.status.as_str() }))
}
