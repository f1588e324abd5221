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
