//! `POST /api/v1/uploads`: a presigned PUT for one input image, so the image
//! goes straight to storage (a Lambda payload is capped at 6 MB).

use serde::{Deserialize, Serialize};
use shared::app::Services;
use shared::config::RateLimitedAction;
use shared::http::{
    self, allow, api_segments, json_object, ApiError, Body, CacheControl, Field, Method, Problems, Request, Response,
};
use shared::repositories::rate_limits;
use shared::storage::{ImageType, InputPath, MAX_INPUT_BYTES, PRIVATE_BUCKET};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the client has to start the upload.
pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct UploadBody {
    content_type: Field<String>,
    size_bytes: Field<u64>,
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
    let (image_type, size_bytes) = upload_request(request)?;
    let limit = services.env.rate_limits.of(RateLimitedAction::Upload);
    let path = InputPath::new(user.user_id(), image_type);
    let tx = services.db.as_user(&user).await?;
    if let Some(wait) = rate_limits::take_upload_token(tx, &limit, &path.bucket_key()).await? {
        return Err(ApiError::rate_limited("too many uploads; please wait a moment", wait));
    }
    let presigned = services
        .storage
        .presign_put(PRIVATE_BUCKET, &path.bucket_key(), image_type.content_type(), size_bytes, UPLOAD_URL_LIFETIME)
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

/// The image type and size an upload declares; every bad field is named.
fn upload_request(request: &Request) -> Result<(ImageType, u64), ApiError> {
    let body: UploadBody = json_object(request)?;
    let mut problems = Problems::default();
    let image_type = body.content_type.required("contentType", &mut problems).and_then(|content_type| {
        let known = ImageType::from_content_type(&content_type);
        let refusal = if is_heif(&content_type) {
            // iPhones save HEIC by default: say what to do instead.
            "HEIC/HEIF photos are not accepted: send a JPEG (on an iPhone: Settings > Camera > Formats > Most Compatible)"
        } else {
            "must be image/jpeg, image/png or image/webp"
        };
        problems.check("contentType", known.ok_or(refusal))
    });
    let size = body.size_bytes.required("sizeBytes", &mut problems).and_then(|size| {
        let within = (1..=MAX_INPUT_BYTES).contains(&size);
        problems.check("sizeBytes", within.then_some(size).ok_or("must be between 1 byte and 15 MiB"))
    });
    problems.into_result(image_type.zip(size))
}

fn is_heif(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(essence.as_str(), "image/heic" | "image/heif" | "image/heic-sequence" | "image/heif-sequence")
}
