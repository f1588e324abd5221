//! `webhook_events`: the deliveries already handled, keyed by the Standard
//! Webhooks `webhook-id`. Recorded in the same transaction as a delivery's
//! effects, so a retried or duplicated delivery finds it and does nothing.

use crate::db::{DbError, Tx, Type};
use uuid::Uuid;

/// Records a delivery; false when it was recorded before (a duplicate). A
/// concurrent duplicate waits on the row lock and then sees the conflict.
pub async fn record_delivery(
    tx: &mut Tx,
    webhook_id: &str,
    job_id: Option<Uuid>,
    event_type: &str,
) -> Result<bool, DbError> {
    let inserted = tx
        .execute(
            "insert into public.webhook_events (id, job_id, event_type) values ($1, $2, $3)
             on conflict (id) do nothing",
            &[(&webhook_id, Type::TEXT), (&job_id, Type::UUID), (&event_type, Type::TEXT)],
        )
        .await?;
    Ok(inserted == 1)
}

pub async fn delivery_recorded(tx: &mut Tx, webhook_id: &str) -> Result<bool, DbError> {
    let row = tx
        .query_one("select exists(select 1 from public.webhook_events where id = $1)", &[(&webhook_id, Type::TEXT)])
        .await?;
    Ok(row.get(0))
}
