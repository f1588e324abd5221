//! `POST /api/v1/generations` and `POST /api/v1/generations/{id}/retry`.

use shared::app::Services;
use shared::flows::submit::{self, SubmitOutcome, SubmitRequest};
use shared::http::{
    self, allow, api_segments, path_uuid, ApiError, Body, CacheControl, Method, Request, Response, StatusCode,
};
use shared::views::JobView;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    let retry_of = match api_segments(request.uri().path()).as_deref() {
        Some(["generations"]) => allow(request.method(), vec![(Method::POST, None)])?,
        Some(["generations", id, "retry"]) => {
            allow(request.method(), vec![(Method::POST, ())])?;
            Some(path_uuid(id, "generation")?)
        }
        _ => return Err(ApiError::not_found("route")),
    };
    let user = services.authenticate(request).await?;
    let (status, job) = match retry_of {
        Some(job_id) => (StatusCode::ACCEPTED, submit::retry(services, &user, job_id).await?),
        None => {
            let body = SubmitRequest::from_request(request)?;
            match submit::submit(services, &user, &body).await? {
                SubmitOutcome::Created(job) => (StatusCode::ACCEPTED, job),
                SubmitOutcome::Replayed(job) => (StatusCode::OK, job),
            }
        }
    };
    let view = JobView::pending(&job, &services.storage);
    Ok(http::ok_with_status(request_id, status, &view, CacheControl::PrivateNoStore))
}
