//! `POST /api/v1/uploads`: a presigned PUT for one input image, so the image
//! goes straight to storage (a Lambda payload is capped at 6 MB).

use serde::{Deserialize, Serialize};
use shared::app::Services;
use shared::config::RateLimitedAction;
use shared::http::{self, allow, api_segments, ApiError, Body, CacheControl, Method, Request, Response};
use shared::repositories::rate_limits;
use shared::storage::{ImageType, InputPath, MAX_INPUT_BYTES, PRIVATE_BUCKET};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the client has to start the upload.
pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadRequest {
    content_type: String,
    size_bytes: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadTicket {
    path: String,
    upload_url: String,
    method: String,
    headers: BTreeMap<String, String>,
    expires_at: chrono::DateTime<chrono::Utc>,
}

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    match api_segments(request.uri().path()).as_deref() {
        Some(["uploads"]) => allow(request.method(), vec![(Method::POST, ())])?,
        _ => return Err(ApiError::not_found("route")),
    }
    let user = services.authenticate(request).await?;
    // Storage costs money too: anonymous sign-ins upload only where they
    // may also generate.
    shared::flows::submit::refuse_anonymous_without_allowance(services, &user)?;
    let body: UploadRequest = http::json_body(request)?;
    let image_type = ImageType::from_content_type(&body.content_type)
        .ok_or_else(|| ApiError::invalid_field("contentType", "must be image/jpeg, image/png or image/webp"))?;
    if body.size_bytes == 0 || body.size_bytes > MAX_INPUT_BYTES {
        return Err(ApiError::invalid_field("sizeBytes", "must be between 1 byte and 15 MiB"));
    }
    let limit = services.env.rate_limits.of(RateLimitedAction::Upload);
    let tx = services.db.as_user(&user).await?;
    if let Some(wait) = rate_limits::take_caller_token(tx, RateLimitedAction::Upload, &limit).await? {
        return Err(ApiError::rate_limited("too many uploads; please wait a moment", wait));
    }
    let path = InputPath::new(user.user_id(), image_type);
    let presigned = services
        .storage
        .presign_put(
            PRIVATE_BUCKET,
            &path.bucket_key(),
            image_type.content_type(),
            body.size_bytes,
            UPLOAD_URL_LIFETIME,
        )
        .await?;
    let ticket = UploadTicket {
        path: path.db_path(),
        upload_url: presigned.url,
        method: presigned.method,
        headers: presigned.headers.into_iter().collect(),
        expires_at: chrono::Utc::now() + UPLOAD_URL_LIFETIME,
    };
    Ok(http::ok(request_id, &ticket, CacheControl::PrivateNoStore))
}
