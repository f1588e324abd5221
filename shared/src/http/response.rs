//! The JSON envelope and the headers every response carries.

use super::error::ApiError;
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheControl {
    /// The default: per-user data must never sit in a shared cache.
    PrivateNoStore,
    /// Public content that may be cached for this many seconds.
    Public { max_age_seconds: u32 },
}

impl CacheControl {
    fn header_value(self) -> HeaderValue {
        match self {
            CacheControl::PrivateNoStore => HeaderValue::from_static("private, no-store"),
            CacheControl::Public { max_age_seconds } => {
                HeaderValue::from_str(&format!("public, max-age={max_age_seconds}"))
                    .unwrap_or(HeaderValue::from_static("private, no-store"))
            }
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    pub success: bool,
    pub data: T,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    success: bool,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: super::ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
}

/// `200 {"success": true, "data": ...}`.
pub fn ok<T: Serialize>(request_id: &str, data: &T, cache: CacheControl) -> Response<Body> {
    ok_with_status(request_id, StatusCode::OK, data, cache)
}

pub fn ok_with_status<T: Serialize>(
    request_id: &str,
    status: StatusCode,
    data: &T,
    cache: CacheControl,
) -> Response<Body> {
    // Room for a typical answer up front (a gallery page is about 11 KB),
    // rather than growing from serde_json's 128 bytes seven times.
    let mut json = Vec::with_capacity(8 * 1024);
    match serde_json::to_writer(&mut json, &Envelope { success: true, data }).map(|()| String::from_utf8(json)) {
        Ok(Ok(json)) => build(request_id, status, Body::Text(json), cache),
        Ok(Err(error)) => {
            tracing::error!(%error, "a serialized response is not UTF-8");
            ApiError::internal().into_response(request_id)
        }
        Err(error) => {
            tracing::error!(%error, "serializing a response failed");
            ApiError::internal().into_response(request_id)
        }
    }
}

/// `204` with no body.
pub fn empty(request_id: &str) -> Response<Body> {
    build(request_id, StatusCode::NO_CONTENT, Body::Empty, CacheControl::PrivateNoStore)
}

impl ApiError {
    pub fn into_response(&self, request_id: &str) -> Response<Body> {
        let envelope = ErrorEnvelope {
            success: false,
            error: ErrorBody { code: self.code, message: &self.message, details: self.details.as_ref() },
        };
        let json = serde_json::to_string(&envelope).unwrap_or_else(|_| {
            r#"{"success":false,"error":{"code":"INTERNAL_ERROR","message":"something went wrong on our side"}}"#
                .to_string()
        });
        let mut response = build(request_id, self.status(), Body::Text(json), CacheControl::PrivateNoStore);
        for (name, value) in &self.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.headers_mut().insert(*name, value);
            }
        }
        response
    }
}

fn build(request_id: &str, status: StatusCode, body: Body, cache: CacheControl) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, cache.header_value());
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ErrorCode;

    fn body_json(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            _ => panic!("expected a text body"),
        }
    }

    #[test]
    fn success_envelope_and_headers() {
        let response = ok("req-1", &serde_json::json!({"a": 1}), CacheControl::PrivateNoStore);
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-request-id"], "req-1");
        assert_eq!(response.headers()["cache-control"], "private, no-store");
        assert_eq!(body_json(&response), serde_json::json!({"success": true, "data": {"a": 1}}));
    }

    #[test]
    fn error_envelope() {
        let response = ApiError::invalid_field("name", "must not be empty").into_response("req-2");
        assert_eq!(response.status(), 400);
        let json = body_json(&response);
        assert_eq!(json["success"], false);
        assert_eq!(json["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(json["error"]["details"]["name"], "must not be empty");
        let limit = ApiError::new(ErrorCode::LimitExceeded, "quota used").into_response("r");
        assert_eq!(limit.status(), 402);
        assert_eq!(body_json(&limit)["error"].get("details"), None);
    }

    #[test]
    fn public_cache() {
        let response = ok("r", &1, CacheControl::Public { max_age_seconds: 300 });
        assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    }
}
