//! CORS as Supabase Storage answers it on its own paths: any origin, and a
//! preflight allows whatever headers it asks for (a presigned upload carries
//! `content-type` and may carry `x-amz-*`). A browser on the product's own
//! origin uploads straight to storage, so this is on the product's path.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

/// Methods Storage allows across origins.
pub const ALLOW_METHODS: &str = "GET,HEAD,PUT,POST,DELETE,OPTIONS";
/// Headers allowed when a preflight names none.
const DEFAULT_ALLOW_HEADERS: &str = "authorization,content-type";
const MAX_AGE_SECONDS: u32 = 600;

/// Whether a request is a CORS preflight (OPTIONS with
/// `Access-Control-Request-Method`).
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key("access-control-request-method")
}

/// The answer to a preflight: 204, echoing the requested headers.
pub fn preflight(request_headers: &HeaderMap) -> Response<BoxBody<Bytes, hyper::Error>> {
    let mut response = Response::new(Empty::<Bytes>::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    allow_origin(headers);
    let requested = request_headers.get("access-control-request-headers").cloned();
    headers
        .insert("access-control-allow-headers", requested.unwrap_or(HeaderValue::from_static(DEFAULT_ALLOW_HEADERS)));
    headers.insert("access-control-allow-methods", HeaderValue::from_static(ALLOW_METHODS));
    headers.insert("access-control-max-age", HeaderValue::from(MAX_AGE_SECONDS));
    response
}

/// Adds the origin a browser needs to read an actual (non-preflight) answer.
pub fn allow_origin(headers: &mut HeaderMap) {
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
}
