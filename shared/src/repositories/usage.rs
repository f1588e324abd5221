//! `usage_ledger`: debits per succeeded generation (and credit adjustments).
//! Users read their own rows; only the service writes.

use crate::db::{DbError, Statement, Tx, Type};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub kind: String,
    pub amount: i32,
    pub meta: Option<Value>,
    pub created_at: DateTime<Utc>,
}

impl LedgerEntry {
    fn from_row(row: &Row) -> Self {
        LedgerEntry {
            id: row.get("id"),
            owner_id: row.get("owner_id"),
            kind: row.get("kind"),
            amount: row.get("amount"),
            meta: row.get("meta"),
            created_at: row.get("created_at"),
        }
    }
}

/// The UTC calendar month containing `now`: `[start, end)`.
pub fn month_period(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single().unwrap_or(now);
    let (next_year, next_month) = if now.month() == 12 { (now.year() + 1, 1) } else { (now.year(), now.month() + 1) };
    let end = Utc.with_ymd_and_hms(next_year, next_month, 1, 0, 0, 0).single().unwrap_or(now);
    (start, end)
}

/// Debits one generation for a job. At most one debit per job exists (the
/// database's `uniq_usage_debit_per_job`); a repeat returns false, no error.
pub async fn debit_generation(tx: &mut Tx, owner_id: Uuid, job_id: Uuid, amount: i32) -> Result<bool, DbError> {
    let meta = serde_json::json!({ "jobId": job_id });
    let inserted = tx
        .execute(
            "insert into public.usage_ledger (owner_id, kind, amount, meta)
             values ($1, 'generation_debit', $2, $3)
             on conflict ((meta->>'jobId')) where kind = 'generation_debit' do nothing",
            &[(&owner_id, Type::UUID), (&amount, Type::INT4), (&meta, Type::JSONB)],
        )
        .await?;
    Ok(inserted == 1)
}

/// The constraint name `assert_generation_quota` raises with.
pub const QUOTA_CONSTRAINT: &str = "generation_quota";

/// Ends the transaction: commits if the owner's debits since `period_start`
/// are still below `monthly_limit`, rolls back with a check violation named
/// [`QUOTA_CONSTRAINT`] otherwise. One round trip (assertion and COMMIT are
/// pipelined).
pub async fn commit_if_within_quota(
    tx: Tx,
    owner_id: Uuid,
    period_start: DateTime<Utc>,
    monthly_limit: i64,
) -> Result<(), DbError> {
    tx.query_and_commit(
        "select public.assert_generation_quota($1, $2, $3)",
        &[(&owner_id, Type::UUID), (&period_start, Type::TIMESTAMPTZ), (&monthly_limit, Type::INT8)],
    )
    .await
    .map(|_| ())
}

/// What submit needs to decide, read in one statement: the profile's billing
/// columns, this period's debits, a job already made with the same
/// idempotency key, and the submit rate limit's verdict (a token is taken;
/// it stays taken only if the transaction commits).
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSnapshot {
    pub price_id: Option<String>,
    pub has_access: bool,
    pub used: i64,
    pub idempotent_job: Option<Uuid>,
    /// How long the owner must wait before submitting again; `None`: go on.
    pub rate_wait: Option<std::time::Duration>,
}

/// The statement of [`QuotaSnapshot`]; submit pipelines it with the job's
/// insert ([`QuotaSnapshot::from_rows`] reads its answer).
pub fn quota_snapshot_statement<'a>(
    owner_id: &'a Uuid,
    period_start: &'a DateTime<Utc>,
    idempotency_key: &'a Option<Uuid>,
    rate_action: &'a &'static str,
    rate_limit: &'a crate::config::RateLimit,
) -> Statement<'a> {
    Statement {
        sql: format!(
            "select p.price_id, coalesce(p.has_access, false) as has_access,
                    (select coalesce(sum(l.amount), 0)::int8 from public.usage_ledger l
                      where l.owner_id = $1 and l.kind = 'generation_debit' and l.created_at >= $2) as used,
                    (select j.id from public.generation_jobs j
                      where $3::uuid is not null and j.owner_id = $1 and j.idempotency_key = $3) as idempotent_job,
                    {} as rate_wait_seconds
               from (select 1) as one
               left join public.profiles p on p.id = $1",
            super::rate_limits::take_token_expression(1, 4, 5, 6)
        )
        .into(),
        params: vec![
            (owner_id, Type::UUID),
            (period_start, Type::TIMESTAMPTZ),
            (idempotency_key, Type::UUID),
            (rate_action, Type::TEXT),
            (&rate_limit.max_requests, Type::INT4),
            (&rate_limit.period_seconds, Type::FLOAT8),
        ],
    }
}

impl QuotaSnapshot {
    pub fn from_rows(rows: &[Row]) -> Result<Self, DbError> {
        let row = rows.first().ok_or(DbError::NotFound)?;
        Ok(QuotaSnapshot {
            price_id: row.get("price_id"),
            has_access: row.get("has_access"),
            used: row.get("used"),
            idempotent_job: row.get("idempotent_job"),
            rate_wait: super::rate_limits::wait(row.get("rate_wait_seconds")),
        })
    }
}

/// The read of [`usage_overview`], a PL/pgSQL function so that its plan is
/// made once per connection (`037_read_functions.sql`): `$1` owner, `$2`/`$3`
/// the period, `$4` whether to include the ledger rows.
const USAGE_OVERVIEW_SQL: &str = "select * from public.usage_overview($1, $2, $3, $4)";

/// What `GET /usage` shows, read in one statement: the profile's billing
/// columns, this period's debits, the job in flight and (when asked) the
/// period's ledger rows.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageOverview {
    pub price_id: Option<String>,
    pub has_access: bool,
    pub used: i64,
    pub inflight_job_id: Option<Uuid>,
    /// The period's ledger rows, newest first; empty unless asked for.
    pub history: Vec<LedgerEntry>,
}

/// Reads the overview and commits in the same flight: one round trip, with
/// or without history. Each ledger row comes back as its own result row
/// beside the (repeated) overview columns, so no JSON decoding is needed.
/// `used` counts debits from `period_start` on, exactly as submit's quota
/// check (`quota_snapshot`) does, so `remaining` predicts what submit allows.
pub async fn usage_overview(
    tx: Tx,
    owner_id: Uuid,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    with_history: bool,
) -> Result<UsageOverview, DbError> {
    let rows = tx
        .query_and_commit(
            USAGE_OVERVIEW_SQL,
            &[
                (&owner_id, Type::UUID),
                (&period_start, Type::TIMESTAMPTZ),
                (&period_end, Type::TIMESTAMPTZ),
                (&with_history, Type::BOOL),
            ],
        )
        .await?;
    let first = rows.first().ok_or(DbError::NotFound)?;
    let history =
        rows.iter().filter(|row| row.get::<_, Option<Uuid>>("id").is_some()).map(LedgerEntry::from_row).collect();
    Ok(UsageOverview {
        price_id: first.get("price_id"),
        has_access: first.get("has_access"),
        used: first.get("used"),
        inflight_job_id: first.get("inflight_job_id"),
        history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_period_is_the_utc_calendar_month() {
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        let (start, end) = month_period(now);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        let (start, end) = month_period(Utc.with_ymd_and_hms(2028, 2, 29, 12, 0, 0).unwrap());
        assert_eq!(start, Utc.with_ymd_and_hms(2028, 2, 1, 0, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2028, 3, 1, 0, 0, 0).unwrap());
    }
}
