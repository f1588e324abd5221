//! `profiles`: one per auth user, created by a trigger. Billing columns are
//! written by the billing integration only; the backend reads them to pick
//! the plan.

use crate::db::{DbError, Tx, Type};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: Uuid,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub price_id: Option<String>,
    pub has_access: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn get_profile(tx: &mut Tx, user_id: Uuid) -> Result<Option<Profile>, DbError> {
    let row = tx
        .query_opt(
            "select id, email, customer_id, price_id, has_access, created_at from public.profiles where id = $1",
            &[(&user_id, Type::UUID)],
        )
        .await?;
    Ok(row.map(|row| Profile {
        id: row.get("id"),
        email: row.get("email"),
        customer_id: row.get("customer_id"),
        price_id: row.get("price_id"),
        has_access: row.get("has_access"),
        created_at: row.get("created_at"),
    }))
}
