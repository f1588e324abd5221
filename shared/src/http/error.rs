//! One error type for every handler, mapped to HTTP in one place.

use crate::auth::AuthError;
use crate::db::DbError;
use lambda_http::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

/// The error codes of API.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationError,
    /// An input image that is not a JPEG, PNG or WebP (HEIC has its own message).
    UnsupportedImageType,
    /// An input image that does not decode: cut short, corrupt, or another
    /// type than it was uploaded as.
    InvalidImage,
    /// An input image beyond the pixel cap (`INPUT_MAX_MEGAPIXELS`).
    ImageTooLarge,
    Unauthorized,
    TokenExpired,
    WebhookSignatureInvalid,
    LimitExceeded,
    Forbidden,
    /// An anonymous sign-in asked for something only a signed-up user gets.
    SignInRequired,
    NotFound,
    MethodNotAllowed,
    TooManyInflight,
    IdempotencyMismatch,
    ResourceConflict,
    PayloadTooLarge,
    RateLimited,
    InternalError,
    UpstreamError,
    ServiceUnavailable,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::ValidationError
            | ErrorCode::UnsupportedImageType
            | ErrorCode::InvalidImage
            | ErrorCode::ImageTooLarge => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized | ErrorCode::TokenExpired | ErrorCode::WebhookSignatureInvalid => {
                StatusCode::UNAUTHORIZED
            }
            ErrorCode::LimitExceeded => StatusCode::PAYMENT_REQUIRED,
            ErrorCode::Forbidden | ErrorCode::SignInRequired => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::TooManyInflight | ErrorCode::IdempotencyMismatch | ErrorCode::ResourceConflict => {
                StatusCode::CONFLICT
            }
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::UpstreamError => StatusCode::BAD_GATEWAY,
            ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// What a handler returns when it cannot succeed. The message is for people;
/// it never carries SQL, stack traces or secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    /// Headers HTTP requires beside some answers: `Retry-After` on a 429,
    /// `Allow` on a 405.
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), details: None, headers: Vec::new() }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    /// A validation error about one field, with `details: {field: message}`.
    pub fn invalid_field(field: &str, message: &str) -> Self {
        Self::validation(format!("{field}: {message}")).with_details(serde_json::json!({ field: message }))
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "a valid access token is required")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// 403 `SIGN_IN_REQUIRED`: anonymous sign-ins may look, not spend.
    pub fn sign_in_required(what: &str) -> Self {
        Self::new(ErrorCode::SignInRequired, format!("sign up or sign in to {what}"))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// A 405 naming the methods the route does allow (`Allow`, RFC 9110).
    pub fn method_not_allowed(allowed: &[&str]) -> Self {
        Self::new(ErrorCode::MethodNotAllowed, "method not allowed on this route")
            .with_header("allow", allowed.join(", "))
    }

    /// A 429: too many requests of this kind; `Retry-After` in whole seconds.
    pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
        Self::new(ErrorCode::RateLimited, message)
            .with_details(serde_json::json!({ "retryAfterSeconds": seconds }))
            .with_header("retry-after", seconds.to_string())
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code, message)
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalError, "something went wrong on our side")
    }

    pub fn unavailable() -> Self {
        Self::new(ErrorCode::ServiceUnavailable, "temporarily unavailable, please retry")
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Expired => ApiError::new(ErrorCode::TokenExpired, "the access token has expired"),
            AuthError::KeysUnavailable => {
                tracing::warn!("token signing keys unavailable");
                ApiError::unavailable()
            }
            AuthError::Missing | AuthError::Invalid(_) => ApiError::unauthorized(),
        }
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(error: crate::storage::StorageError) -> Self {
        use crate::storage::StorageError;
        match &error {
            StorageError::Unavailable(_) => {
                tracing::warn!(%error, "storage unavailable");
                ApiError::unavailable()
            }
            // The operator's to fix: loud in the logs, 503 to the caller
            // (never "not found", which would blame the user's upload).
            StorageError::Misconfigured(_) => {
                tracing::error!(%error, "storage misconfigured");
                ApiError::unavailable()
            }
            StorageError::Rejected(_) => {
                tracing::error!(%error, "storage refused a request");
                ApiError::internal()
            }
        }
    }
}

/// Replicate failed to start or read a prediction: the caller is told what it
/// can do about it (wait, or try again), never Replicate's own text.
impl From<&crate::replicate::ReplicateError> for ApiError {
    fn from(error: &crate::replicate::ReplicateError) -> Self {
        use crate::replicate::ReplicateError;
        match error {
            ReplicateError::RateLimited { .. } => {
                ApiError::new(ErrorCode::RateLimited, "the image service is busy; please try again in a moment")
            }
            ReplicateError::Rejected { .. } => {
                ApiError::new(ErrorCode::UpstreamError, "the image service refused this request")
            }
            ReplicateError::NotFound | ReplicateError::Unavailable(_) | ReplicateError::InvalidResponse(_) => {
                ApiError::new(ErrorCode::UpstreamError, "the image service is unavailable; please try again")
            }
        }
    }
}

/// A completion that could not be recorded: 503, so that Replicate (or the
/// next poll) delivers it again.
impl From<crate::flows::complete::CompleteError> for ApiError {
    fn from(error: crate::flows::complete::CompleteError) -> Self {
        tracing::warn!(%error, "completion not recorded; it will come again");
        ApiError::unavailable()
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match &error {
            DbError::Unavailable(_) => {
                tracing::warn!(error = %error, "database unavailable");
                ApiError::unavailable()
            }
            // RLS refusing a row means the caller may not touch it: answer as
            // if it did not exist, so existence never leaks.
            DbError::PermissionDenied | DbError::NotFound => ApiError::not_found("resource"),
            DbError::InvalidInput => ApiError::validation("a value has an invalid format"),
            DbError::UniqueViolation { .. } => {
                ApiError::conflict(ErrorCode::ResourceConflict, "conflicts with an existing resource")
            }
            // Every owned table's key to the profile: the account was
            // erased (`DELETE /me`) while its token still verifies.
            DbError::ForeignKeyViolation { constraint } if constraint.ends_with("_owner_fk") => {
                ApiError::new(ErrorCode::Unauthorized, "this account has been deleted")
            }
            DbError::ForeignKeyViolation { .. } => ApiError::not_found("referenced resource"),
            // The database's own caps (e.g. collections per user), reached
            // past the functions' friendlier check by a racing request.
            DbError::CheckViolation { constraint } if constraint.ends_with("_cap") => {
                ApiError::conflict(ErrorCode::ResourceConflict, "a limit on how many of these you may have is reached")
            }
            DbError::CheckViolation { .. } => ApiError::validation("a value is out of the allowed range"),
            DbError::Config(_) | DbError::TooManyRows | DbError::TransactionClosed | DbError::Query(_) => {
                tracing::error!(error = %error, "database error");
                ApiError::internal()
            }
        }
    }
}
