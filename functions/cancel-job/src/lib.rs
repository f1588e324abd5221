//! `POST /api/v1/generations/{id}/cancel`.

use shared::app::Services;
use shared::flows::cancel;
use shared::http::{self, allow, api_segments, path_uuid, ApiError, Body, CacheControl, Method, Request, Response};
use shared::views::JobView;

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    let job_id = match api_segments(request.uri().path()).as_deref() {
        Some(["generations", id, "cancel"]) => {
            allow(request.method(), vec![(Method::POST, ())])?;
            path_uuid(id, "generation")?
        }
        _ => return Err(ApiError::not_found("route")),
    };
    let user = services.authenticate(request).await?;
    let job = cancel::cancel(services, &user, job_id).await?;
    Ok(http::ok(request_id, &JobView::pending(&job, &services.storage), CacheControl::PrivateNoStore))
}
