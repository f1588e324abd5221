//! Reading what a request carries, turning every malformed part into a 4xx.

use super::error::{ApiError, ErrorCode};
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// JSON bodies are small (settings, names, ids); images never pass through a
/// function (they go to storage with a presigned URL).
pub const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// The Lambda request id, or a fresh one when the request did not come
/// through Lambda (tests, the local gateway).
pub fn request_id(request: &Request) -> String {
    request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

/// The raw `Authorization` header, if it is valid text.
pub fn bearer_header(request: &Request) -> Option<&str> {
    request.headers().get(lambda_http::http::header::AUTHORIZATION).and_then(|value| value.to_str().ok())
}

/// Parses the JSON body into `T` (bodies are read through [`super::json_object`]).
pub(super) fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = match request.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if bytes.len() > MAX_JSON_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("request body exceeds {MAX_JSON_BODY_BYTES} bytes"),
        ));
    }
    if let Some(content_type) = request.headers().get(lambda_http::http::header::CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .map(|value| value.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"))
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::validation("content-type must be application/json"));
        }
    }
    if bytes.is_empty() {
        return Err(ApiError::validation("a JSON body is required"));
    }
    serde_json::from_slice(bytes).map_err(|error| {
        // serde's message names the field and the expected type, nothing more.
        ApiError::validation(format!("invalid JSON body: {error}"))
    })
}

/// A path segment that must be a UUID; anything else is a 404, as an id that
/// cannot exist.
pub fn path_uuid(value: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| ApiError::not_found(what))
}

/// One query-string parameter: from API Gateway's parsed parameters, or from
/// the URI when the request did not come through API Gateway.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    if let Some(value) = request.query_string_parameters_ref().and_then(|params| params.first(name)) {
        return Some(value.to_owned());
    }
    request.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

/// Form decoding: `+` is a space, `%` and two hex digits a byte, any other
/// `%` stays as it is (so `%+0` is no NUL byte: found by cargo fuzz).
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " ")).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Named {
        #[allow(dead_code)]
        name: String,
    }

    fn request_with(body: &str, content_type: Option<&str>) -> Request {
        let mut builder = lambda_http::http::Request::builder().method("POST").uri("/x");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(Body::Text(body.to_string())).unwrap()
    }

    #[test]
    fn parses_json() {
        assert!(json_body::<Named>(&request_with(r#"{"name":"a"}"#, Some("application/json; charset=utf-8"))).is_ok());
        assert!(json_body::<Named>(&request_with(r#"{"name":"a"}"#, None)).is_ok());
    }

    #[test]
    fn rejects_bad_bodies_with_4xx() {
        let cases = [
            (request_with("", None), ErrorCode::ValidationError),
            (request_with("{", None), ErrorCode::ValidationError),
            (request_with(r#"{"name":1}"#, None), ErrorCode::ValidationError),
            (request_with(r#"{"name":"a","x":1}"#, None), ErrorCode::ValidationError),
            (request_with(r#"{"name":"a"}"#, Some("text/plain")), ErrorCode::ValidationError),
            (request_with(&"x".repeat(MAX_JSON_BODY_BYTES + 1), None), ErrorCode::PayloadTooLarge),
        ];
        for (request, code) in cases {
            assert_eq!(json_body::<Named>(&request).unwrap_err().code, code);
        }
    }

    #[test]
    fn query_params_from_the_uri() {
        let request = lambda_http::http::Request::builder()
            .uri("/x?jobId=abc&name=a%20b+c&flag&bad=%zz")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(query_param(&request, "jobId").as_deref(), Some("abc"));
        assert_eq!(query_param(&request, "name").as_deref(), Some("a b c"));
        assert_eq!(query_param(&request, "flag").as_deref(), Some(""));
        assert_eq!(query_param(&request, "bad").as_deref(), Some("%zz"));
        assert_eq!(query_param(&request, "missing"), None);
    }

    #[test]
    fn malformed_ids_are_not_found() {
        assert_eq!(path_uuid("../etc", "render").unwrap_err().code, ErrorCode::NotFound);
        assert!(path_uuid("6f1c1d2e-8d0e-4d3b-9a57-2a3b4c5d6e7f", "render").is_ok());
    }
}
