//! SECURITY.md 22 in the database: the per-user limiter is reachable only
//! as the functions use it, counts per user and action, and a refused or
//! rolled-back request takes nothing.

use crate::support::{rows_as_anon, rows_as_user};
use shared::db::{DbError, Type};
use testkit::TestApp;

async fn take(app: &TestApp, user: &testkit::TestUser, action: &str, max: i32, period: f64) -> f64 {
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let row = tx
        .query_one(
            "select private.take_rate_token_for_caller($1, $2, $3)",
            &[(&action, Type::TEXT), (&max, Type::INT4), (&period, Type::FLOAT8)],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    row.get(0)
}

#[tokio::test]
async fn a_user_gets_max_requests_then_waits_and_others_are_unaffected() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let other = app.create_user().await;
    for n in 0..3 {
        assert_eq!(take(&app, &user, "submit", 3, 60.0).await, 0.0, "request {n}");
    }
    let wait = take(&app, &user, "submit", 3, 60.0).await;
    assert!(wait > 15.0 && wait <= 20.0, "one token every 20 s: wait {wait}");
    // Refused requests take nothing: the wait does not grow.
    let again = take(&app, &user, "submit", 3, 60.0).await;
    assert!(again <= wait, "{again} > {wait}");
    // Per action and per user.
    assert_eq!(take(&app, &user, "upload", 3, 60.0).await, 0.0);
    assert_eq!(take(&app, &other, "submit", 3, 60.0).await, 0.0);
}

#[tokio::test]
async fn a_rolled_back_request_is_not_counted() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    for _ in 0..3 {
        let mut tx = app.db.as_user(&user.identity).await.unwrap();
        tx.query("select private.take_rate_token_for_caller('cancel', 1, 60)", &[]).await.unwrap();
        tx.rollback().await.unwrap();
    }
    assert_eq!(take(&app, &user, "cancel", 1, 60.0).await, 0.0);
}

#[tokio::test]
async fn the_limiter_is_closed_to_direct_use() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let victim = app.create_user().await;
    // Spending another user's tokens, resetting one's own, or reading the table.
    for sql in [
        format!("select private.take_rate_token('{}', 'submit', 1, 60)::text", victim.id),
        "select tat::text from private.rate_limits".to_string(),
        "delete from private.rate_limits returning 'x'".to_string(),
    ] {
        let outcome = rows_as_user(&app, &user, &sql).await;
        assert!(matches!(outcome, Err(DbError::PermissionDenied)), "{sql}: {outcome:?}");
    }
    let anon = rows_as_anon(&app, "select private.take_rate_token_for_caller('submit', 1, 60)::text").await;
    assert!(matches!(anon, Err(DbError::PermissionDenied)), "{anon:?}");
    // Unknown actions are refused rather than stored.
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let unknown = tx.query("select private.take_rate_token_for_caller('anything', 1, 60)", &[]).await;
    assert!(matches!(unknown, Err(DbError::CheckViolation { .. })), "{unknown:?}");
}
