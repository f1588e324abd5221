//! Per-user rate limits (migration 032, SECURITY.md 22): one token taken per
//! request, in the transaction the route already runs, so a request the
//! route rolls back is not counted and the limit holds across every Lambda
//! environment.

use crate::config::RateLimit;
use crate::db::{DbError, Statement, Tx, Type};
use std::time::Duration;
use tokio_postgres::Row;

/// Takes a token for the caller of a user transaction (the owner is the
/// verified caller, `auth.uid()`); pipeline it with the route's statement.
pub fn take_caller_token_statement<'a>(action: &'a &'static str, limit: &'a RateLimit) -> Statement<'a> {
    Statement {
        sql: "select private.take_rate_token_for_caller($1, $2, $3) as wait_seconds".into(),
        params: vec![(action, Type::TEXT), (&limit.max_requests, Type::INT4), (&limit.period_seconds, Type::FLOAT8)],
    }
}

/// `POST /uploads` in a user transaction: takes the caller's upload token
/// and, when allowed, writes the upload's key down (`private.uploads`, so an
/// erasure finds uploads no job names); commits, one round trip. `Some(wait)`
/// when the caller must wait (nothing was taken or written).
pub async fn take_upload_token(tx: Tx, limit: &RateLimit, bucket_key: &str) -> Result<Option<Duration>, DbError> {
    let rows = tx
        .query_and_commit(
            "select private.take_upload_token_for_caller($1, $2, $3) as wait_seconds",
            &[(&limit.max_requests, Type::INT4), (&limit.period_seconds, Type::FLOAT8), (&bucket_key, Type::TEXT)],
        )
        .await?;
    wait_from_rows(&rows)
}

/// The SQL expression taking `owner`'s token in a service transaction, as a
/// column of a larger statement: `$owner`, `$action`, `$max` and `$period`
/// are that statement's parameter numbers.
pub fn take_token_expression(owner: u8, action: u8, max: u8, period: u8) -> String {
    format!("private.take_rate_token(${owner}, ${action}, ${max}, ${period})")
}

/// How long to wait: `None` when the token was taken.
pub fn wait_from_rows(rows: &[Row]) -> Result<Option<Duration>, DbError> {
    let row = rows.first().ok_or(DbError::NotFound)?;
    Ok(wait(row.get("wait_seconds")))
}

pub fn wait(seconds: f64) -> Option<Duration> {
    (seconds > 0.0).then(|| Duration::from_secs_f64(seconds))
}
