//! The HTTP side every function shares: the one error type and its mapping to
//! status codes, the JSON envelope, and request parsing helpers.

mod error;
mod request;
mod response;
mod route;

pub use error::{ApiError, ErrorCode};
pub use request::{bearer_header, json_body, path_uuid, query_param, request_id, MAX_JSON_BODY_BYTES};
pub use response::{empty, ok, ok_with_status, CacheControl, Envelope};
pub use route::{allow, api_segments, API_PREFIX};

pub use lambda_http::{http::Method, http::StatusCode, Body, Request, Response};

/// Runs a handler's work and turns its error, if any, into the error
/// envelope: the one place where failures become HTTP.
pub async fn respond(
    request_id: &str,
    work: impl std::future::Future<Output = Result<Response<Body>, ApiError>>,
) -> Response<Body> {
    match work.await {
        Ok(response) => response,
        Err(error) => {
            if error.status().is_server_error() {
                tracing::warn!(request_id, code = ?error.code, "request failed");
            }
            error.into_response(request_id)
        }
    }
}
