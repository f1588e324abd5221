//! The HTTP side every function shares: the one error type and its mapping to
//! status codes, the JSON envelope, and request parsing helpers.

pub mod body;
mod error;
pub mod list_params;
mod request;
mod response;
mod route;

pub use body::{json_object, Field, Problems};
pub use error::{ApiError, ErrorCode};
pub use request::{bearer_header, path_uuid, query_param, request_id, MAX_JSON_BODY_BYTES};
pub use response::{empty, ok, ok_with_status, CacheControl, Envelope};
pub use route::{allow, api_segments, API_PREFIX};

pub use lambda_http::{http::Method, http::StatusCode, Body, Request, Response};

/// Runs a handler's work inside the request's log span and turns its error,
/// if any, into the error envelope: the one place where failures become HTTP.
/// Every log line of the request carries `request_id`, and `user_id` /
/// `job_id` once known (see [`crate::telemetry::record_user`] and
/// [`crate::telemetry::record_job`]).
pub async fn respond(
    request_id: &str,
    work: impl std::future::Future<Output = Result<Response<Body>, ApiError>>,
) -> Response<Body> {
    use tracing::Instrument;
    let span =
        tracing::info_span!("request", request_id, user_id = tracing::field::Empty, job_id = tracing::field::Empty);
    async move {
        match work.await {
            Ok(response) => {
                tracing::info!(status = response.status().as_u16(), "request handled");
                response
            }
            Err(error) => {
                let status = error.status().as_u16();
                if error.status().is_server_error() {
                    tracing::warn!(status, code = ?error.code, "request failed");
                } else {
                    tracing::info!(status, code = ?error.code, "request refused");
                }
                error.into_response(request_id)
            }
        }
    }
    .instrument(span)
    .await
}
