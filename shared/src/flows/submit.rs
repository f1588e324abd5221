//! `POST /generations`: from a validated request to a job at Replicate.
//!
//! Order matters for money and fairness: validate everything (inputs must be
//! the caller's own images) before touching the database; create the job
//! under the database's one-in-flight rule and the plan's quota; clean the
//! input photos (a photo that is not a readable image refuses the whole
//! submit, and its job is removed as if it never was); only then call
//! Replicate. If Replicate refuses or is down, the job ends `failed`
//! right away, so the user is never left blocked and nothing is charged
//! (charging happens only when a job succeeds).

mod inputs;
mod request;

pub use request::{validate, SubmitRequest, ValidSubmission};

use inputs::{check_inputs, clean_inputs, remove_inputs, CleanFailure};

use crate::app::Services;
use crate::auth::VerifiedUser;
use crate::config::{RateLimitedAction, JOB_TIMEOUT};
use crate::db::DbError;
use crate::http::{ApiError, ErrorCode};
use crate::prompt::build_prompt;
use crate::replicate::ReplicateError;
use crate::repositories::generation_jobs::{self as jobs, Job, NewJob, Transition};
use crate::repositories::usage;
use crate::storage::{InputPath, PRIVATE_BUCKET};
use std::time::Duration;
use uuid::Uuid;

/// Replicate reads inputs through presigned GETs that outlive the job timeout.
pub const INPUT_URL_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// What a submit did.
pub enum SubmitOutcome {
    /// A new job (202).
    Created(Job),
    /// The same request with the same idempotency key: the earlier job (200).
    Replayed(Job),
}

fn same_request(job: &Job, submission: &ValidSubmission) -> bool {
    let paths: Vec<String> = submission.inputs.iter().map(InputPath::db_path).collect();
    job.mode == submission.mode.as_str()
        && job.room_type.as_deref() == submission.room_type.map(|p| p.id)
        && job.style.as_deref() == submission.style.map(|p| p.id)
        && job.prompt == submission.prompt
        && job.input1_path.as_deref() == paths.first().map(String::as_str)
        && job.input2_path.as_deref() == paths.get(1).map(String::as_str)
}

async fn replay(services: &Services, job_id: Uuid, submission: &ValidSubmission) -> Result<SubmitOutcome, ApiError> {
    let mut tx = services.db.as_service().await?;
    let job = jobs::get_job_by_id(&mut tx, job_id).await?.ok_or_else(ApiError::internal)?;
    tx.commit().await?;
    if same_request(&job, submission) {
        Ok(SubmitOutcome::Replayed(job))
    } else {
        Err(ApiError::conflict(ErrorCode::IdempotencyMismatch, "this idempotency key was used for a different request"))
    }
}

/// Validates, creates the job and starts the prediction.
pub async fn submit(
    services: &Services,
    user: &VerifiedUser,
    request: &SubmitRequest,
) -> Result<SubmitOutcome, ApiError> {
    let submission = validate(request, user.user_id())?;
    refuse_anonymous_without_allowance(services, user)?;
    check_inputs(services, &submission.inputs).await?;
    let job = match create_job(services, user, &submission).await? {
        Ok(job) => job,
        Err(existing) => return replay(services, existing, &submission).await,
    };
    crate::telemetry::record_job(job.id);
    match clean_inputs(services, &submission.inputs).await {
        Ok(false) => {}
        Ok(true) => {
            // The account may have been erased while the photos were
            // cleaned: then the clean files are nobody's.
            let mut tx = services.db.as_service().await?;
            let still_there = jobs::get_job_by_id(&mut tx, job.id).await?.is_some();
            tx.commit().await?;
            if !still_there {
                remove_inputs(services, &submission.inputs).await;
                return Err(ApiError::new(ErrorCode::Unauthorized, "this account has been deleted"));
            }
        }
        Err(CleanFailure::Refused(refusal)) => {
            // Nothing started and nothing is charged: the job goes, so it
            // neither shows in the user's history nor holds their slot.
            let mut tx = services.db.as_service().await?;
            jobs::delete_unstarted_job(&mut tx, job.id).await?;
            tx.commit().await?;
            return Err(refusal);
        }
        Err(CleanFailure::Storage(error)) => {
            let refusal = ApiError::from(error);
            fail_job(services, job.id, "storage was unavailable; please try again").await?;
            return Err(refusal.with_details(serde_json::json!({ "jobId": job.id })));
        }
    }
    start_prediction(services, job, &submission).await.map(SubmitOutcome::Created)
}

/// Anonymous sign-ins cost nothing to make: unless the plan table gives
/// them an allowance, they generate nothing (SECURITY.md 27).
pub fn refuse_anonymous_without_allowance(services: &Services, user: &VerifiedUser) -> Result<(), ApiError> {
    if user.is_anonymous() && services.env.plans.anonymous().monthly_generations == 0 {
        return Err(ApiError::sign_in_required("generate renders"));
    }
    Ok(())
}

/// Creates the job under the quota and the one-in-flight rule; `Err(id)` is
/// an earlier job with the same idempotency key.
async fn create_job(
    services: &Services,
    user: &VerifiedUser,
    submission: &ValidSubmission,
) -> Result<Result<Job, Uuid>, ApiError> {
    let owner = user.user_id();
    let (period_start, _) = usage::month_period(chrono::Utc::now());
    let paths: Vec<String> = submission.inputs.iter().map(InputPath::db_path).collect();
    let new_job = NewJob {
        owner_id: owner,
        mode: submission.mode.as_str(),
        room_type: submission.room_type.map(|p| p.id),
        style: submission.style.map(|p| p.id),
        input1_path: paths.first().map(String::as_str),
        input2_path: paths.get(1).map(String::as_str),
        prompt: submission.prompt.as_deref(),
        idempotency_key: submission.idempotency_key,
    };
    // The quota read and the insert share one flight. The insert's verdict
    // is only used once the read allows it; otherwise the transaction is
    // dropped (rolled back) with the job in it.
    let rate_action = RateLimitedAction::Submit.as_str();
    let rate_limit = services.env.rate_limits.of(RateLimitedAction::Submit);
    let mut tx = services.db.as_service().await?;
    let (snapshot, inserted) = tx
        .query_pipelined(
            &usage::quota_snapshot_statement(
                &owner,
                &period_start,
                &submission.idempotency_key,
                &rate_action,
                &rate_limit,
            ),
            &jobs::create_job_statement(&new_job),
        )
        .await?;
    let snapshot = usage::QuotaSnapshot::from_rows(&snapshot?)?;
    if let Some(existing) = snapshot.idempotent_job {
        return Ok(Err(existing));
    }
    if let Some(wait) = snapshot.rate_wait {
        return Err(ApiError::rate_limited("too many generations started; please wait a moment", wait));
    }
    let plan = services.env.plans.resolve(snapshot.price_id.as_deref(), snapshot.has_access, user.is_anonymous());
    if snapshot.used >= plan.monthly_generations {
        return Err(limit_exceeded(plan, snapshot.used));
    }
    match inserted.and_then(jobs::created_job) {
        // The insert may have waited for the owner's previous job to finish
        // (and be debited): check the allowance again as the transaction commits.
        Ok(job) => match usage::commit_if_within_quota(tx, owner, period_start, plan.monthly_generations).await {
            Ok(()) => Ok(Ok(job)),
            Err(DbError::CheckViolation { constraint }) if constraint == usage::QUOTA_CONSTRAINT => {
                Err(limit_exceeded(plan, plan.monthly_generations))
            }
            Err(error) => Err(error.into()),
        },
        Err(error) if error.is_unique_violation_of(jobs::INFLIGHT_INDEX) => Err(ApiError::conflict(
            ErrorCode::TooManyInflight,
            "a generation is already in progress; wait for it to finish or cancel it",
        )),
        // A concurrent submit with the same key won the race.
        Err(error) if error.is_unique_violation_of(jobs::IDEMPOTENCY_INDEX) => {
            let key = submission.idempotency_key.ok_or(DbError::NotFound)?;
            let mut tx = services.db.as_service().await?;
            let existing = jobs::get_job_by_idempotency_key(&mut tx, owner, key).await?.ok_or(DbError::NotFound)?;
            tx.commit().await?;
            Ok(Err(existing.id))
        }
        Err(error) => Err(error.into()),
    }
}

fn limit_exceeded(plan: &crate::config::Plan, used: i64) -> ApiError {
    ApiError::new(
        ErrorCode::LimitExceeded,
        format!("your {} plan's {} generations this month are used up", plan.label, plan.monthly_generations),
    )
    .with_details(serde_json::json!({ "plan": plan.id, "used": used, "limit": plan.monthly_generations }))
}

/// Presigns the inputs, builds the prompt and creates the prediction; on any
/// refusal the job ends `failed` with a message for the user.
pub async fn start_prediction(services: &Services, job: Job, submission: &ValidSubmission) -> Result<Job, ApiError> {
    crate::telemetry::record_job(job.id);
    let mut urls = Vec::with_capacity(submission.inputs.len());
    for input in &submission.inputs {
        match services.storage.presign_get(PRIVATE_BUCKET, &input.bucket_key(), INPUT_URL_LIFETIME).await {
            Ok(url) => urls.push(url),
            Err(error) => {
                let refusal = ApiError::from(error);
                fail_job(services, job.id, "storage was unavailable; please try again").await?;
                return Err(refusal.with_details(serde_json::json!({ "jobId": job.id })));
            }
        }
    }
    let prompt = build_prompt(submission.mode, submission.room_type, submission.style, submission.prompt.as_deref());
    match services.replicate.create_prediction(job.id, &prompt, &urls, JOB_TIMEOUT).await {
        Ok(prediction) => {
            let tx = services.db.as_service().await?;
            match jobs::attach_prediction(tx, job.id, &prediction.id).await? {
                Some(attached) if !attached.status.is_terminal() => Ok(attached),
                // The job ended while Replicate was creating the prediction
                // (its owner canceled it, or it timed out). Its result would
                // be discarded uncharged, so stop the prediction now rather
                // than pay for it (SECURITY.md 22: submit + cancel in a loop).
                ended => {
                    cancel_unwanted_prediction(services, job.id, &prediction.id).await;
                    Ok(ended.unwrap_or(job))
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, job_id = %job.id, "creating the prediction failed");
            // The job keeps the words the caller is given.
            let refusal = ApiError::from(&error);
            fail_job(services, job.id, &refusal.message).await?;
            Err(refusal.with_details(serde_json::json!({ "jobId": job.id })))
        }
    }
}

/// Best effort: Replicate also stops it at the `Cancel-After` deadline, and
/// its result can no longer change the job.
async fn cancel_unwanted_prediction(services: &Services, job_id: Uuid, prediction_id: &str) {
    match services.replicate.cancel_prediction(prediction_id).await {
        Ok(_) | Err(ReplicateError::NotFound) => {
            tracing::info!(%job_id, %prediction_id, "canceled the prediction of a job that ended while it was created")
        }
        Err(error) => tracing::warn!(%error, %job_id, %prediction_id, "could not cancel an unwanted prediction"),
    }
}

async fn fail_job(services: &Services, job_id: Uuid, message: &str) -> Result<(), ApiError> {
    let mut tx = services.db.as_service().await?;
    jobs::set_job_status(&mut tx, job_id, &Transition::Failed { error: message, detail: None }).await?;
    tx.commit().await?;
    Ok(())
}

/// `POST /generations/{id}/retry`: a new job with a failed (or canceled)
/// job's settings and inputs, under the same rules as a submit.
pub async fn retry(services: &Services, user: &VerifiedUser, job_id: Uuid) -> Result<Job, ApiError> {
    let mut tx = services.db.as_user(user).await?;
    let original = jobs::get_job_by_id(&mut tx, job_id).await?.ok_or_else(|| ApiError::not_found("generation"))?;
    tx.commit().await?;
    if !matches!(original.status, jobs::JobStatus::Failed | jobs::JobStatus::Canceled) {
        return Err(ApiError::conflict(
            ErrorCode::ResourceConflict,
            "only a failed or canceled generation can be retried",
        ));
    }
    let request = SubmitRequest {
        mode: original.mode.clone(),
        room_type: original.room_type.clone(),
        style: original.style.clone(),
        prompt: original.prompt.clone(),
        input1_path: original.input1_path.clone(),
        input2_path: original.input2_path.clone(),
        idempotency_key: None,
    };
    match submit(services, user, &request).await? {
        SubmitOutcome::Created(job) | SubmitOutcome::Replayed(job) => Ok(job),
    }
}
