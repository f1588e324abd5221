//! `POST /api/v1/webhooks/replicate` (and the Function URL Replicate calls):
//! a prediction finished. The signature is the only guard, so nothing is
//! read before it is verified; effects are exactly once (see
//! `shared::flows::complete`). Answers: 2xx when handled or ignored, 401 for
//! a bad signature, 503 for a transient failure so Replicate retries.

use serde::Serialize;
use shared::app::Services;
use shared::flows::complete::{self, Delivery, Outcome};
use shared::http::{self, allow, ApiError, Body, CacheControl, ErrorCode, Method, Request, Response};
use shared::replicate::parse_prediction;

/// A prediction document is small; anything bigger is not from Replicate.
pub const MAX_WEBHOOK_BYTES: usize = 256 * 1024;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Handled {
    handled: bool,
    outcome: String,
}

pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let request_id = http::request_id(&request);
    http::respond(&request_id, route(services, &request, &request_id)).await
}

async fn route(services: &Services, request: &Request, request_id: &str) -> Result<Response<Body>, ApiError> {
    // Behind API Gateway the path is /api/v1/webhooks/replicate; behind the
    // Function URL it is whatever Replicate was given. Only the method matters.
    allow(request.method(), vec![(Method::POST, ())])?;
    let body: &[u8] = match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, "webhook body too large"));
    }
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let delivery_id = header("webhook-id");
    services
        .replicate
        .webhook_verifier()
        .verify(
            delivery_id,
            header("webhook-timestamp"),
            header("webhook-signature"),
            body,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|error| {
            tracing::warn!(%error, "webhook rejected");
            ApiError::new(ErrorCode::WebhookSignatureInvalid, "the webhook signature is invalid")
        })?;
    let delivery_id = delivery_id.unwrap_or_default();
    let prediction = parse_prediction(body).map_err(|_| ApiError::validation("the body is not a prediction"))?;
    let Some(job_id) = http::query_param(request, "jobId").and_then(|id| uuid::Uuid::parse_str(&id).ok()) else {
        return Ok(answer(request_id, false, "no job id"));
    };
    let bound_to_job = http::query_param(request, "jobToken")
        .is_some_and(|token| services.replicate.webhook_verifier().job_token_matches(&job_id.to_string(), &token));
    let delivery = Delivery { id: delivery_id, bound_to_job };
    // A completion not recorded answers 503 (`ApiError::from`), so Replicate retries.
    let outcome = complete::complete_delivery(services, job_id, &prediction, delivery).await?;
    Ok(answer(request_id, !matches!(outcome, Outcome::Ignored(_)), outcome.describe()))
}

fn answer(request_id: &str, handled: bool, outcome: &str) -> Response<Body> {
    http::ok(request_id, &Handled { handled, outcome: outcome.to_string() }, CacheControl::PrivateNoStore)
}
