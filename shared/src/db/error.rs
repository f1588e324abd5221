//! What can go wrong talking to PostgreSQL, classified so the HTTP layer can
//! answer with the right status without reading SQL error text.

use tokio_postgres::error::SqlState;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The pool or the connection is unavailable (server down, restarted,
    /// network cut): worth retrying, answered 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database configuration: {0}")]
    Config(String),
    /// A unique constraint refused the row; the constraint name says which rule.
    #[error("unique violation on {constraint}")]
    UniqueViolation { constraint: String },
    #[error("foreign key violation on {constraint}")]
    ForeignKeyViolation { constraint: String },
    #[error("check violation on {constraint}")]
    CheckViolation { constraint: String },
    /// A grant or a row-level security policy refused the statement.
    #[error("permission denied")]
    PermissionDenied,
    /// A value PostgreSQL could not parse (e.g. a malformed uuid in text).
    #[error("invalid input value")]
    InvalidInput,
    #[error("no row")]
    NotFound,
    #[error("more rows than expected")]
    TooManyRows,
    #[error("transaction already ended")]
    TransactionClosed,
    /// Anything else: a bug or an unexpected server state, answered 500.
    #[error("query failed: {0}")]
    Query(tokio_postgres::Error),
}

impl DbError {
    pub(crate) fn from_pool(error: deadpool_postgres::PoolError) -> Self {
        DbError::Unavailable(error.to_string())
    }

    pub(crate) fn from_postgres(error: tokio_postgres::Error) -> Self {
        let Some(db_error) = error.as_db_error() else {
            // No server error attached: I/O, closed connection, protocol.
            return DbError::Unavailable(error.to_string());
        };
        let constraint = || db_error.constraint().unwrap_or_default().to_string();
        match db_error.code() {
            c if *c == SqlState::UNIQUE_VIOLATION => DbError::UniqueViolation { constraint: constraint() },
            c if *c == SqlState::FOREIGN_KEY_VIOLATION => DbError::ForeignKeyViolation { constraint: constraint() },
            c if *c == SqlState::CHECK_VIOLATION => DbError::CheckViolation { constraint: constraint() },
            c if *c == SqlState::INSUFFICIENT_PRIVILEGE => DbError::PermissionDenied,
            // A value PostgreSQL cannot take: malformed text for the type, too
            // long, or a NUL byte (which no PostgreSQL text can hold; found
            // from outside as `?style=%00` answering 500).
            c if *c == SqlState::INVALID_TEXT_REPRESENTATION
                || *c == SqlState::STRING_DATA_RIGHT_TRUNCATION
                || *c == SqlState::CHARACTER_NOT_IN_REPERTOIRE
                || *c == SqlState::UNTRANSLATABLE_CHARACTER =>
            {
                DbError::InvalidInput
            }
            // Class 08, connection exception: the connection broke under the
            // statement (a pooler such as PgBouncer answers a killed server
            // connection with an error of this class, not a closed socket).
            c if c.code().starts_with("08") => DbError::Unavailable(db_error.message().to_string()),
            // Server shutting down, too many connections, crash recovery.
            c if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::TOO_MANY_CONNECTIONS =>
            {
                DbError::Unavailable(db_error.message().to_string())
            }
            _ => DbError::Query(error),
        }
    }

    /// True for a unique violation of the named constraint or index.
    pub fn is_unique_violation_of(&self, name: &str) -> bool {
        matches!(self, DbError::UniqueViolation { constraint } if constraint == name)
    }
}
