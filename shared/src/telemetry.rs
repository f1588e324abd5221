//! Logging: JSON lines to stdout (CloudWatch), level from `RUST_LOG`
//! (default `info`), set up once at the top of every `main`; and the ids
//! recorded on a request's span (`shared::http::respond` opens it) so that
//! every later line of the request carries them.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Puts the caller's id on every later log line of the request.
pub fn record_user(user_id: uuid::Uuid) {
    tracing::Span::current().record("user_id", tracing::field::display(user_id));
}

/// Puts the job's id on every later log line of the request.
pub fn record_job(job_id: uuid::Uuid) {
    tracing::Span::current().record("job_id", tracing::field::display(job_id));
}
