//! What every attack needs: statements as the attacker, the user's role or
//! `anon` (what PostgREST and the storage server run for them), snapshots as
//! superuser to prove nothing changed, and the rows a user owns, seeded as
//! the service writes them.

use shared::db::{DbError, Param};
use testkit::{TestApp, TestUser};
use uuid::Uuid;

/// Every table the attacks could touch.
pub const ALL_TABLES: [&str; 13] = [
    "public.profiles",
    "public.generation_jobs",
    "public.renders",
    "public.render_variants",
    "public.collections",
    "public.collection_items",
    "public.community_collections",
    "public.community_items",
    "public.usage_ledger",
    "public.webhook_events",
    "auth.users",
    "storage.objects",
    "storage.buckets",
];

/// Every row of every table, as superuser.
pub async fn snapshot(app: &TestApp) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in ALL_TABLES {
        let rows: String = app
            .admin()
            .query_one(
                &format!("select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]'::jsonb)::text from {table} t"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        out.push((table.to_string(), rows));
    }
    out
}

/// Fails naming the tables whose rows differ from `before`.
pub async fn assert_unchanged(app: &TestApp, before: &[(String, String)], attack: &str) {
    let after = snapshot(app).await;
    let changed: Vec<&str> = before.iter().zip(&after).filter(|(b, a)| b.1 != a.1).map(|(b, _)| b.0.as_str()).collect();
    assert!(changed.is_empty(), "{attack}: rows changed in {changed:?}");
}

#[track_caller]
pub fn assert_refused(outcome: &Result<u64, DbError>, attack: &str) {
    assert!(
        matches!(outcome, Ok(0) | Err(DbError::PermissionDenied)),
        "{attack}: expected a refusal (42501) or no row touched, got {outcome:?}"
    );
}

/// One statement as the user, committed when it succeeds.
pub async fn as_user(app: &TestApp, user: &TestUser, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
    let mut tx = app.db.as_user(&user.identity).await?;
    let n = tx.execute(sql, params).await?;
    tx.commit().await?;
    Ok(n)
}

/// Rows a read returns as the user (0 when refused).
pub async fn rows_as_user(app: &TestApp, user: &TestUser, sql: &str) -> Result<Vec<String>, DbError> {
    let mut tx = app.db.as_user(&user.identity).await?;
    let rows = tx.query(sql, &[]).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

pub async fn rows_as_anon(app: &TestApp, sql: &str) -> Result<Vec<String>, DbError> {
    let mut tx = app.db.as_anon().await?;
    let rows = tx.query(sql, &[]).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// One statement as the service, committed when it succeeds.
pub async fn as_service(app: &TestApp, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
    let mut tx = app.db.as_service().await?;
    let n = tx.execute(sql, params).await?;
    tx.commit().await?;
    Ok(n)
}

/// Runs every statement as `user`, each in its own transaction, and checks
/// each is refused and that nothing at all changed.
pub async fn attempt_all_as(app: &TestApp, user: &TestUser, attacks: &[String]) {
    let before = snapshot(app).await;
    for sql in attacks {
        let outcome = as_user(app, user, sql, &[]).await;
        assert_refused(&outcome, sql);
        assert_unchanged(app, &before, sql).await;
    }
}

pub fn check_violation(outcome: Result<u64, DbError>, constraint: &str, attack: &str) {
    match outcome {
        Err(DbError::CheckViolation { constraint: c }) if c == constraint => {}
        other => panic!("{attack}: expected check violation of {constraint}, got {other:?}"),
    }
}

pub fn fk_violation(outcome: Result<u64, DbError>, constraint: &str, attack: &str) {
    match outcome {
        Err(DbError::ForeignKeyViolation { constraint: c }) if c == constraint => {}
        other => panic!("{attack}: expected foreign key violation of {constraint}, got {other:?}"),
    }
}

pub fn unique_violation(outcome: Result<u64, DbError>, constraint: &str, attack: &str) {
    match outcome {
        Err(e) if e.is_unique_violation_of(constraint) => {}
        other => panic!("{attack}: expected unique violation of {constraint}, got {other:?}"),
    }
}

/// The rows a user owns, seeded as the service would have written them.
#[derive(Clone, Copy, Debug)]
pub struct Owned {
    pub job: Uuid,
    pub render: Uuid,
    pub fav: Uuid,
    pub coll: Uuid,
    pub ledger: Uuid,
}

/// A finished render with 2 variants, in My Favorites and in an ordinary
/// collection, its debit, its webhook delivery and a private upload.
pub async fn seed_everything(app: &TestApp, user: &TestUser) -> Owned {
    let admin = app.admin();
    let (job, render) = app.seed_render(user, 2).await;
    let fav = favorites_of(app, user).await.expect("My Favorites");
    let coll: Uuid = admin
        .query_one(
            "insert into public.collections (owner_id, name) values ($1, 'Living rooms') returning id",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    admin
        .execute(
            "insert into public.collection_items (collection_id, render_id) values ($1, $3), ($2, $3)",
            &[&fav, &coll, &render],
        )
        .await
        .unwrap();
    let ledger: Uuid = admin
        .query_one(
            "insert into public.usage_ledger (owner_id, kind, amount, meta)
             values ($1, 'generation_debit', 1, jsonb_build_object('jobId', $2::uuid::text)) returning id",
            &[&user.id, &job],
        )
        .await
        .unwrap()
        .get(0);
    admin
        .execute(
            "insert into public.webhook_events (id, job_id, event_type) values ('msg_' || $1::uuid::text, $1, 'prediction.completed')",
            &[&job],
        )
        .await
        .unwrap();
    admin
        .execute(
            "insert into storage.objects (bucket_id, name, owner, metadata) values ('private', $1::uuid::text || '/inputs/room.jpg', $1, '{\"size\": 1000, \"mimetype\": \"image/jpeg\"}')",
            &[&user.id],
        )
        .await
        .unwrap();
    admin
        .execute(
            "insert into storage.objects (bucket_id, name, metadata) values ('public', 'renders/' || $1::uuid::text || '/0.jpg', '{\"size\": 1000, \"mimetype\": \"image/jpeg\"}')",
            &[&render],
        )
        .await
        .unwrap();
    Owned { job, render, fav, coll, ledger }
}

pub async fn favorites_of(app: &TestApp, user: &TestUser) -> Option<Uuid> {
    app.admin()
        .query_opt("select id from public.collections where owner_id = $1 and is_default_favorites", &[&user.id])
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// A job in flight (as the service creates it on submit).
pub async fn seed_processing_job(app: &TestApp, user: &TestUser) -> Uuid {
    app.admin()
        .query_one(
            "insert into public.generation_jobs (owner_id, mode, prompt, status, prediction_id)
             values ($1, 'imagine', 'a calm bedroom', 'processing', 'pred_' || $1::uuid::text) returning id",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0)
}

/// A job that ended without a render.
pub async fn seed_failed_job(app: &TestApp, user: &TestUser) -> Uuid {
    app.admin()
        .query_one(
            "insert into public.generation_jobs (owner_id, mode, prompt, status, error, completed_at)
             values ($1, 'imagine', 'a calm bedroom', 'failed', 'model error', now()) returning id",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0)
}

/// Every row of `table` as superuser, to compare before and after.
pub async fn table_rows(app: &TestApp, table: &str) -> String {
    app.admin()
        .query_one(
            &format!("select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]')::text from {table} t"),
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Calls `public.ensure_default_favorites()` and returns the favorites id,
/// whether the function returns the id or the collection row.
pub async fn ensure_favorites(tx: &mut shared::db::Tx) -> Result<Uuid, DbError> {
    let json: String =
        tx.query_one("select to_jsonb(f.*)::text from public.ensure_default_favorites() f", &[]).await?.get(0);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let id = match &value {
        serde_json::Value::Object(row) => row.get("id").or_else(|| row.values().next()).cloned(),
        other => Some(other.clone()),
    };
    let id = id.and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| panic!("no favorites id in {json}"));
    Ok(id.parse().unwrap())
}

/// A community collection as the curators' service writes it.
pub async fn community_collection(app: &TestApp, title: &str, published: bool) -> Uuid {
    app.admin()
        .query_one(
            "insert into public.community_collections (title, is_published) values ($1, $2) returning id",
            &[&title, &published],
        )
        .await
        .unwrap()
        .get(0)
}

/// A community item showing `render`, at `order` in its collection.
pub async fn community_item(app: &TestApp, collection: Uuid, render: Uuid, order: i32) -> Uuid {
    app.admin()
        .query_one(
            "insert into public.community_items (collection_id, render_id, order_index) values ($1, $2, $3) returning id",
            &[&collection, &render, &order],
        )
        .await
        .unwrap()
        .get(0)
}
