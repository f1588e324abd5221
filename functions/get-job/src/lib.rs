//! `GET /api/v1/generations/{id}`: the job, with its images once done. A
//! stale job is polled at Replicate (and completed or expired) on the way.

use shared::app::Services;
use shared::auth::VerifiedUser;
use shared::flows::refresh::{refresh_if_stale, Refreshed};
use shared::http::{self, allow, api_segments, path_uuid, ApiError, Body, CacheControl, Method, Request, Response};
use shared::repositories::generation_jobs as jobs;
use shared::views::JobView;
use uuid::Uuid;

use jobs::JobWithOutputs;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    let job_id = match api_segments(request.uri().path()).as_deref() {
        Some(["generations", id]) => {
            allow(request.method(), vec![(Method::GET, ())])?;
            path_uuid(id, "generation")?
        }
        _ => return Err(ApiError::not_found("route")),
    };
    shared::telemetry::record_job(job_id);
    let user = services.authenticate(request).await?;
    let (mut job, mut render_id, mut variants) = read_job(services, &user, job_id).await?;
    if !job.status.is_terminal() {
        match refresh_if_stale(services, &job).await {
            Ok(Refreshed::Completed | Refreshed::Expired) => {
                (job, render_id, variants) = read_job(services, &user, job_id).await?;
            }
            Ok(_) => {}
            // The job as stored is still a correct answer.
            Err(error) => tracing::warn!(%error, %job_id, "refreshing a stale job failed"),
        }
    }
    let view = JobView::new(&job, render_id, &variants, &services.storage);
    Ok(http::ok(request_id, &view, CacheControl::PrivateNoStore))
}

/// The caller's job with its outputs, one round trip; someone else's job is
/// not found.
async fn read_job(services: &Services, user: &VerifiedUser, job_id: Uuid) -> Result<JobWithOutputs, ApiError> {
    let tx = services.db.as_user(user).await?;
    let found = jobs::get_job_with_outputs(tx, job_id).await?;
    found.ok_or_else(|| ApiError::not_found("generation"))
}
