//! CORS as production answers it: API Gateway from `template.yaml`'s
//! `CorsConfiguration` for the API, Supabase Storage for its paths (public
//! objects and the S3 path presigned uploads point at). The front end runs
//! on its own origin, so without this its first preflight fails against
//! `make dev`. A test keeps these values equal to the template's.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

/// `CorsConfiguration.AllowOrigins`.
pub const ALLOW_ORIGINS: &[&str] = &["*"];
/// `CorsConfiguration.AllowHeaders`.
pub const ALLOW_HEADERS: &[&str] = &["authorization", "content-type"];
/// `CorsConfiguration.AllowMethods`.
pub const ALLOW_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// `CorsConfiguration.MaxAge`.
pub const MAX_AGE_SECONDS: u32 = 600;

/// Paths that answer CORS: the API and Supabase Storage's.
pub fn applies_to(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/storage/v1/")
}

/// Whether a request is a CORS preflight (OPTIONS with
/// `Access-Control-Request-Method`).
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key("access-control-request-method")
}

/// The answer to a preflight: 204 with what may follow. Storage paths allow
/// the headers a presigned upload carries (any `x-amz-*`, as the request
/// asks) beside the API's.
pub fn preflight(path: &str, request_headers: &HeaderMap) -> Response<BoxBody<Bytes, hyper::Error>> {
    let mut response = Response::new(Empty::<Bytes>::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    allow_origin(headers);
    let allowed_headers = if path.starts_with("/storage/v1/") {
        // Storage echoes the requested headers, as Supabase Storage does.
        request_headers
            .get("access-control-request-headers")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| ALLOW_HEADERS.join(","))
    } else {
        ALLOW_HEADERS.join(",")
    };
    if let Ok(value) = HeaderValue::from_str(&allowed_headers) {
        headers.insert("access-control-allow-headers", value);
    }
    if let Ok(value) = HeaderValue::from_str(&ALLOW_METHODS.join(",")) {
        headers.insert("access-control-allow-methods", value);
    }
    headers.insert("access-control-max-age", HeaderValue::from(MAX_AGE_SECONDS));
    response
}

/// Adds the origin a browser needs to read an actual (non-preflight) answer.
pub fn allow_origin(headers: &mut HeaderMap) {
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
}
