//! Per-user limits on the routes that cost money or storage (SECURITY.md
//! 22). The database enforces them (`private.take_rate_token`, migration
//! 032) inside the transaction each route already opens; these are the
//! numbers it is given. `RATE_LIMITS` overrides any of them:
//! `{"submit": {"maxRequests": 10, "periodSeconds": 60}, "cancel": ..., "upload": ...}`.

use serde::Deserialize;
use std::time::Duration;

/// At most `max_requests` at once, then one every `period / max_requests`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    pub max_requests: i32,
    pub period_seconds: f64,
}

impl RateLimit {
    pub const fn per_minute(max_requests: i32) -> Self {
        RateLimit { max_requests, period_seconds: 60.0 }
    }

    fn check(self, name: &str) -> Result<Self, String> {
        if self.max_requests < 1 || !(self.period_seconds > 0.0 && self.period_seconds <= 86_400.0) {
            return Err(format!("{name}: maxRequests must be at least 1 and periodSeconds in (0, 86400]"));
        }
        Ok(self)
    }

    pub fn period(self) -> Duration {
        Duration::from_secs_f64(self.period_seconds)
    }
}

/// The limited actions; the names are the database's (`private.rate_limits.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitedAction {
    /// `POST /generations` and `POST /generations/{id}/retry`: each starts a paid prediction.
    Submit,
    Cancel,
    /// `POST /uploads`: each hands out storage.
    Upload,
}

impl RateLimitedAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitedAction::Submit => "submit",
            RateLimitedAction::Cancel => "cancel",
            RateLimitedAction::Upload => "upload",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub submit: RateLimit,
    pub cancel: RateLimit,
    pub upload: RateLimit,
}

impl Default for RateLimits {
    /// A person redesigning rooms submits a few times a minute at most;
    /// compose uploads two images per generation, so uploads get twice the
    /// submits (each can hold 15 MiB of storage).
    fn default() -> Self {
        RateLimits {
            submit: RateLimit::per_minute(10),
            cancel: RateLimit::per_minute(10),
            upload: RateLimit::per_minute(20),
        }
    }
}

/// `RATE_LIMITS`: any subset of the actions; the rest keep their defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitsDocument {
    submit: Option<RateLimit>,
    cancel: Option<RateLimit>,
    upload: Option<RateLimit>,
}

impl RateLimits {
    pub fn from_json(json: &str) -> Result<Self, String> {
        let document: RateLimitsDocument = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let defaults = RateLimits::default();
        Ok(RateLimits {
            submit: document.submit.unwrap_or(defaults.submit).check("submit")?,
            cancel: document.cancel.unwrap_or(defaults.cancel).check("cancel")?,
            upload: document.upload.unwrap_or(defaults.upload).check("upload")?,
        })
    }

    pub fn of(&self, action: RateLimitedAction) -> RateLimit {
        match action {
            RateLimitedAction::Submit => self.submit,
            RateLimitedAction::Cancel => self.cancel,
            RateLimitedAction::Upload => self.upload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_document_keeps_the_other_defaults() {
        let limits = RateLimits::from_json(r#"{"submit": {"maxRequests": 3, "periodSeconds": 10}}"#).unwrap();
        assert_eq!(limits.submit, RateLimit { max_requests: 3, period_seconds: 10.0 });
        assert_eq!(limits.upload, RateLimits::default().upload);
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            r#"{"submit": {"maxRequests": 0, "periodSeconds": 10}}"#,
            r#"{"submit": {"maxRequests": 1, "periodSeconds": -1}}"#,
            r#"{"submit": {"maxRequests": 1}}"#,
            r#"{"download": {"maxRequests": 1, "periodSeconds": 1}}"#,
            "[]",
        ] {
            assert!(RateLimits::from_json(bad).is_err(), "{bad}");
        }
    }
}
