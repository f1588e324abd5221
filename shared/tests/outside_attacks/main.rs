//! SECURITY.md 21-26, attack by attack, as an outside attacker does them:
//! signed in (or anonymous) and talking to Supabase's Data API and Storage
//! API directly, which here means SQL as `anon` or as `authenticated` with
//! the attacker's claims, exactly what PostgREST and the storage server run.
//! Each test performs the attack and checks, as superuser, that nothing
//! changed. The HTTP side (cancel race, replayed webhook, rate limits over
//! the API) is in `dev/gateway/tests/outside_attacks.rs`.

mod bucket_limits;
mod collection_rules;
mod community_columns;
mod later_objects;
mod rate_limits;
mod storage_listing;

use shared::db::DbError;
use testkit::{TestApp, TestUser};

/// One statement as the user, committed when it succeeds; rows touched.
pub async fn execute_as(app: &TestApp, user: &TestUser, sql: &str) -> Result<u64, DbError> {
    let mut tx = app.db.as_user(&user.identity).await?;
    let n = tx.execute(sql, &[]).await?;
    tx.commit().await?;
    Ok(n)
}

/// The first column of every row a read returns as the user.
pub async fn rows_as_user(app: &TestApp, user: &TestUser, sql: &str) -> Result<Vec<String>, DbError> {
    let mut tx = app.db.as_user(&user.identity).await?;
    let rows = tx.query(sql, &[]).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|row| row.get::<_, String>(0)).collect())
}

pub async fn rows_as_anon(app: &TestApp, sql: &str) -> Result<Vec<String>, DbError> {
    let mut tx = app.db.as_anon().await?;
    let rows = tx.query(sql, &[]).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|row| row.get::<_, String>(0)).collect())
}

/// Every row of `table` as superuser, to compare before and after.
pub async fn snapshot(app: &TestApp, table: &str) -> String {
    app.admin()
        .query_one(
            &format!("select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]')::text from {table} t"),
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[track_caller]
pub fn assert_denied<T: std::fmt::Debug>(outcome: &Result<T, DbError>, attack: &str) {
    assert!(matches!(outcome, Err(DbError::PermissionDenied)), "{attack}: expected 42501, got {outcome:?}");
}
