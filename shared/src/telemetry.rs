//! Logging: JSON lines to stdout (CloudWatch), level from `RUST_LOG`
//! (default `info`, see [`level_filter`]), set up once at the top of every `main`; and the ids
//! recorded on a request's span (`shared::http::respond` opens it) so that
//! every later line of the request carries them.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .finish()
        .with(level_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .try_init();
}

/// `RUST_LOG` as `level` or `target=level` directives, comma-separated
/// (`info`, `warn,shared=debug`); `info` when unset or unreadable. A
/// `Targets` filter rather than `EnvFilter`: the functions need no span or
/// field matching, and `EnvFilter` brings a regular-expression engine into
/// every binary.
pub fn level_filter(directives: Option<&str>) -> Targets {
    directives
        .and_then(|text| text.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Puts the caller's id on every later log line of the request.
pub fn record_user(user_id: uuid::Uuid) {
    tracing::Span::current().record("user_id", tracing::field::display(user_id));
}

/// Puts the job's id on every later log line of the request.
pub fn record_job(job_id: uuid::Uuid) {
    tracing::Span::current().record("job_id", tracing::field::display(job_id));
}

#[cfg(test)]
mod tests {
    use super::level_filter;
    use tracing::Level;

    #[test]
    fn the_level_comes_from_rust_log_and_defaults_to_info() {
        let default = level_filter(None);
        assert!(default.would_enable("shared", &Level::INFO));
        assert!(!default.would_enable("shared", &Level::DEBUG));
        let unreadable = level_filter(Some("=?"));
        assert!(unreadable.would_enable("shared", &Level::INFO) && !unreadable.would_enable("x", &Level::DEBUG));
        let chosen = level_filter(Some("warn,shared=debug"));
        assert!(chosen.would_enable("shared::db", &Level::DEBUG));
        assert!(!chosen.would_enable("aws_sdk_s3", &Level::INFO));
        assert!(chosen.would_enable("aws_sdk_s3", &Level::WARN));
    }
}
