//! The JSON shape of `GET /usage`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::config::Plan;
use shared::repositories::usage::{LedgerEntry, UsageOverview};
use uuid::Uuid;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageView<'a> {
    /// `{id, label, monthlyGenerations}` (price ids are not serialized).
    pub plan: &'a Plan,
    pub period: Period,
    pub used: i64,
    pub remaining: i64,
    pub can_generate: bool,
    pub inflight_job_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
}

/// `[start, end)` of the current UTC calendar month, RFC 3339.
#[derive(Debug, Serialize)]
pub struct Period {
    #[serde(serialize_with = "shared::views::timestamp::rfc3339")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "shared::views::timestamp::rfc3339")]
    pub end: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub id: Uuid,
    pub kind: String,
    pub amount: i32,
    pub job_id: Option<Uuid>,
    #[serde(serialize_with = "shared::views::timestamp::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl<'a> UsageView<'a> {
    pub fn new(
        plan: &'a Plan,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        overview: &UsageOverview,
        with_history: bool,
    ) -> Self {
        // A plan downgrade mid-month can leave use above the new allowance.
        let remaining = (plan.monthly_generations - overview.used).max(0);
        UsageView {
            plan,
            period: Period { start, end },
            used: overview.used,
            remaining,
            // Mirrors submit: 402 without allowance, 409 with a job in flight.
            can_generate: remaining > 0 && overview.inflight_job_id.is_none(),
            inflight_job_id: overview.inflight_job_id,
            history: with_history.then(|| overview.history.iter().map(HistoryEntry::from).collect()),
        }
    }
}

impl From<&LedgerEntry> for HistoryEntry {
    fn from(entry: &LedgerEntry) -> Self {
        // `meta` is the service's own jsonb; only the job id is shown, and
        // anything else it may carry (reasons, notes) stays internal.
        let job_id = entry
            .meta
            .as_ref()
            .and_then(|meta| meta.get("jobId"))
            .and_then(|id| id.as_str())
            .and_then(|id| Uuid::parse_str(id).ok());
        HistoryEntry {
            id: entry.id,
            kind: entry.kind.clone(),
            amount: entry.amount,
            job_id,
            created_at: entry.created_at,
        }
    }
}
