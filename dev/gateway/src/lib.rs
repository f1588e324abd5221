//! The local stand-in for API Gateway (`make dev` and end-to-end tests):
//! each route of API.md goes to the same handler function the Lambda runs,
//! as a `lambda_http::Request`, so what is tested is what is deployed. It
//! also serves `GET /storage/v1/object/public/<bucket>/<key>` like Supabase
//! Storage does, because the local S3 server wants signatures on every read,
//! and answers CORS on both as production does (`cors`).

pub mod cors;
mod server;

pub use server::{serve, serve_with_storage};

use shared::app::Services;
use shared::http::{self, api_segments, ApiError, Body, Request, Response};

/// Which function serves a path, as `template.yaml` routes them.
pub async fn dispatch(services: &Services, request: Request) -> Response<Body> {
    let segments = api_segments(request.uri().path());
    match segments.as_deref() {
        Some(["uploads"]) => uploads::handle(services, request).await,
        Some(["generations"]) | Some(["generations", _, "retry"]) => submit_job::handle(services, request).await,
        Some(["generations", _]) => get_job::handle(services, request).await,
        Some(["generations", _, "cancel"]) => cancel_job::handle(services, request).await,
        Some(["webhooks", "replicate"]) => replicate_webhook::handle(services, request).await,
        Some(["renders", ..]) => renders::handle(services, request).await,
        Some(["collections", ..]) | Some(["favorites", "toggle"]) => collections::handle(services, request).await,
        Some(["community"]) => community::handle(services, request).await,
        Some(["admin", "community", ..]) => community_admin::handle(services, request).await,
        Some(["usage"]) => usage::handle(services, request).await,
        Some(["presets"]) => presets::handle(request).await,
        Some(["me"]) | Some(["me", "export"]) => account::handle(services, request).await,
        _ => {
            let request_id = http::request_id(&request);
            ApiError::not_found("route").into_response(&request_id)
        }
    }
}

/// Runs the sweeper once (the local stack calls this every minute).
pub async fn sweep(services: &Services) {
    if let Err(error) = sweep_jobs::handle(services).await {
        tracing::warn!(%error, "sweep failed");
    }
}
