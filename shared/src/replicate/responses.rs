//! Reading Replicate's answers: the prediction, or the error it stands for.
//! Bodies are size-capped, and upstream text is bounded and stripped of URL
//! queries before it can reach a log or the database.

use std::time::Duration;

use reqwest::Response;
use serde_json::Value;

use super::error::ReplicateError;
use super::prediction::{parse_prediction, Prediction};
use super::{redact_url_queries, truncate_chars};

/// Wait assumed when a 429 does not say how long to wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A prediction document is a few KiB (input, logs, metrics, urls).
const MAX_API_RESPONSE_BYTES: usize = 1024 * 1024;

/// Longest upstream error detail we keep in a [`ReplicateError::Rejected`].
const MAX_DETAIL_CHARS: usize = 500;

/// A short reason for a failed send. reqwest's own message names the URL,
/// which is not for logs.
pub(super) fn request_failure(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "request timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

pub(super) async fn read_prediction(operation: &'static str, response: Response) -> Result<Prediction, ReplicateError> {
    let status = response.status();
    let body = read_body(response).await?;
    if status.is_success() {
        return parse_prediction(&body);
    }
    tracing::warn!(operation, status = status.as_u16(), "Replicate answered with an error");
    match status.as_u16() {
        404 => Err(ReplicateError::NotFound),
        400..=499 => Err(ReplicateError::Rejected { status: status.as_u16(), detail: error_detail(&body) }),
        500..=599 => Err(ReplicateError::Unavailable(format!("HTTP {}", status.as_u16()))),
        other => Err(ReplicateError::InvalidResponse(format!("unexpected HTTP status {other}"))),
    }
}

/// The response body, refused past [`MAX_API_RESPONSE_BYTES`].
async fn read_body(mut response: Response) -> Result<Vec<u8>, ReplicateError> {
    let too_large = || ReplicateError::InvalidResponse("response body too large".into());
    if response.content_length().is_some_and(|length| length > MAX_API_RESPONSE_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| {
        ReplicateError::Unavailable(format!("reading the response failed: {}", request_failure(&error)))
    })? {
        if body.len() + chunk.len() > MAX_API_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Replicate's errors are `{"detail": "...", "title": "...", "status": n}`;
/// anything else is taken as text. Bounded, URL queries removed.
fn error_detail(body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let detail = match parsed.as_ref().and_then(|json| json.get("detail").or_else(|| json.get("title"))) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::from_utf8_lossy(body).into_owned(),
    };
    let detail = redact_url_queries(detail.trim());
    truncate_chars(&detail, MAX_DETAIL_CHARS).to_string()
}

/// How long a 429 asks us to wait: the `Retry-After` header in seconds, as
/// Replicate documents it (its body is a problem document with a `detail`
/// sentence, no number to rely on).
pub(super) async fn retry_after(response: Response) -> Duration {
    let header = response.headers().get(reqwest::header::RETRY_AFTER).and_then(|value| value.to_str().ok());
    let wait = header.and_then(|value| seconds(&Value::String(value.trim().to_string())));
    // Drain the small body so the connection can be reused.
    let _ = read_body(response).await;
    wait.unwrap_or(DEFAULT_RETRY_AFTER)
}

/// A non-negative number of seconds, as a JSON number or a numeric string.
fn seconds(value: &Value) -> Option<Duration> {
    let seconds = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.parse::<f64>().ok()?,
        _ => return None,
    };
    // try_from_secs_f64 refuses NaN, negatives and overflow instead of panicking.
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retry_after_seconds_are_parsed_defensively() {
        assert_eq!(seconds(&json!(1)), Some(Duration::from_secs(1)));
        assert_eq!(seconds(&json!(0.5)), Some(Duration::from_millis(500)));
        assert_eq!(seconds(&json!("3")), Some(Duration::from_secs(3)));
        assert_eq!(seconds(&json!(-1)), None);
        assert_eq!(seconds(&json!(1e300)), None);
        assert_eq!(seconds(&json!("NaN")), None);
        assert_eq!(seconds(&json!("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(seconds(&json!(null)), None);
    }

    #[test]
    fn error_detail_prefers_replicate_fields_and_is_bounded() {
        assert_eq!(error_detail(br#"{"title":"Invalid input","detail":"prompt is required"}"#), "prompt is required");
        assert_eq!(error_detail(br#"{"title":"Unauthenticated"}"#), "Unauthenticated");
        assert_eq!(error_detail(b" plain text "), "plain text");
        assert_eq!(error_detail("x".repeat(10_000).as_bytes()).len(), MAX_DETAIL_CHARS);
    }
}
