//! `GET /api/v1/generations/{id}`: the job, with its images once done. A
//! stale job is polled at Replicate (and completed or expired) on the way.

use shared::app::Services;
use shared::flows::refresh::{refresh_if_stale, Refreshed};
use shared::http::{self, allow, api_segments, path_uuid, ApiError, Body, CacheControl, Method, Request, Response};
use shared::repositories::generation_jobs as jobs;
use shared::views::{input_images, JobView};

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
    let tx = services.db.as_user(&user).await?;
    let stored = jobs::get_job_with_outputs(tx, job_id).await?.ok_or_else(|| ApiError::not_found("generation"))?;
    let current = if stored.job.status.is_terminal() {
        stored
    } else {
        match refresh_if_stale(services, &stored.job).await {
            Ok(Refreshed::Completed(ended)) => *ended,
            Ok(Refreshed::Expired(expired)) => JobWithOutputs::without_outputs(*expired),
            Ok(Refreshed::Unchanged | Refreshed::Polled) => stored,
            // The job as stored is still a correct answer to this request.
            Err(error) => {
                tracing::warn!(%error, %job_id, "refreshing a stale job failed");
                stored
            }
        }
    };
    // Signed only now that the database (RLS) showed the job to its owner.
    let job = &current.job;
    let inputs = input_images(&services.storage, &job.input_paths(), job.inputs_expired_at.is_some()).await?;
    let view = JobView::new(&current, &services.storage).with_inputs(inputs);
    Ok(http::ok(request_id, &view, CacheControl::PrivateNoStore))
}
