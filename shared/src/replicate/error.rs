//! What can go wrong talking to Replicate, as the callers decide on it.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ReplicateError {
    /// Still throttled after our own retry, or asked to wait too long to retry.
    #[error("Replicate rate limit: retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// A 4xx other than 404 and 429 (bad input, bad token): retrying will not help.
    #[error("Replicate rejected the request (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },
    #[error("prediction not found")]
    NotFound,
    /// 5xx, connection failure or timeout: worth retrying later.
    #[error("Replicate is unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected answer from Replicate: {0}")]
    InvalidResponse(String),
}
