//! Route group `community` (see API.md). Being written.

use shared::app::Services;
use shared::http::{self, ApiError, Body, Request, Response};

pub async fn handle(_services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, async { Err(ApiError::not_found("route")) }).await
}
