//! CORS of the API as API Gateway answers it from `template.yaml`'s
//! `CorsConfiguration`. The front end runs on its own origin, so without
//! this its first preflight fails against `make dev`. A test keeps these
//! values equal to the template's. Storage's paths answer Storage's CORS
//! (`storage_front::cors`).

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

/// `CorsConfiguration.AllowOrigins`.
pub const ALLOW_ORIGINS: &[&str] = &["*"];
/// `CorsConfiguration.AllowHeaders`.
pub const ALLOW_HEADERS: &[&str] = &["authorization", "content-type"];
/// `CorsConfiguration.AllowMethods`.
pub const ALLOW_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// `CorsConfiguration.MaxAge`.
pub const MAX_AGE_SECONDS: u32 = 600;

/// The answer to a preflight of the API: 204 with what may follow.
pub fn preflight() -> Response<BoxBody<Bytes, hyper::Error>> {
    let mut response = Response::new(Empty::<Bytes>::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    allow_origin(headers);
    if let Ok(value) = HeaderValue::from_str(&ALLOW_HEADERS.join(",")) {
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
