//! SECURITY.md 7: another user's rows in every table, and their storage folder.

use crate::support::*;
use shared::db::DbError;
use testkit::{TestApp, TestUser};
use uuid::Uuid;

// ---------------------------------------- 7. other users' rows, every table
/// Statements by which `attacker` reaches for `victim`'s rows.
fn reach_for(attacker: &TestUser, victim: &TestUser, theirs: &Owned, mine: &Owned) -> (Vec<String>, Vec<String>) {
    let (me, them) = (attacker.id, victim.id);
    let Owned { job, render, fav, coll, ledger } = *theirs;
    let updates = vec![
        format!("update public.profiles set has_access = true, price_id = 'price_pro' where id = '{them}'"),
        format!("update public.profiles set email = 'attacker@example.test' where id = '{them}'"),
        format!("update public.generation_jobs set status = 'canceled' where id = '{job}'"),
        format!("update public.generation_jobs set owner_id = owner_id where owner_id = '{them}'"),
        format!("update public.renders set cover_variant = 1 where id = '{render}'"),
        format!("update public.renders set owner_id = owner_id where owner_id = '{them}'"),
        format!("update public.render_variants set image_path = image_path where render_id = '{render}'"),
        format!("update public.collections set name = 'pwned' where owner_id = '{them}'"),
        format!("update public.collections set name = 'pwned' where id = '{coll}'"),
        format!("update public.collection_items set render_id = '{}' where collection_id = '{fav}'", mine.render),
        format!("update public.usage_ledger set amount = 1000 where id = '{ledger}'"),
        format!("update public.webhook_events set job_id = null where job_id = '{job}'"),
        format!("update storage.objects set name = '{me}/inputs/stolen.jpg' where bucket_id = 'private' and name like '{them}/%'"),
        format!("update storage.objects set bucket_id = 'public' where bucket_id = 'private' and name like '{them}/%'"),
        format!("update storage.objects set metadata = '{{}}' where bucket_id = 'public' and name like 'renders/{render}/%'"),
    ];
    let deletes = vec![
        format!("delete from public.profiles where id = '{them}'"),
        format!("delete from public.generation_jobs where id = '{job}'"),
        format!("delete from public.renders where id = '{render}'"),
        format!("delete from public.renders where owner_id = '{them}'"),
        format!("delete from public.render_variants where render_id = '{render}'"),
        format!("delete from public.collections where id = '{coll}'"),
        format!("delete from public.collections where owner_id = '{them}'"),
        format!("delete from public.collection_items where collection_id = '{fav}'"),
        format!("delete from public.collection_items where render_id = '{render}'"),
        format!("delete from public.usage_ledger where id = '{ledger}'"),
        format!("delete from public.webhook_events where job_id = '{job}'"),
        format!("delete from storage.objects where bucket_id = 'private' and name like '{them}/%'"),
        format!("delete from storage.objects where bucket_id = 'public' and name like 'renders/{render}/%'"),
    ];
    (updates, deletes)
}

async fn two_seeded_users(app: &TestApp) -> (TestUser, Owned, TestUser, Owned) {
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let mine = seed_everything(app, &attacker).await;
    let theirs = seed_everything(app, &victim).await;
    (attacker, mine, victim, theirs)
}

#[tokio::test]
async fn attack_07_user_cannot_read_another_users_rows_in_any_table() {
    let app = TestApp::spawn().await;
    let (attacker, mine, victim, theirs) = two_seeded_users(&app).await;
    let their_ids: Vec<String> = [victim.id, theirs.job, theirs.render, theirs.fav, theirs.coll, theirs.ledger]
        .iter()
        .map(Uuid::to_string)
        .collect();
    let my_ids: Vec<String> =
        [attacker.id, mine.job, mine.render, mine.fav, mine.coll, mine.ledger].iter().map(Uuid::to_string).collect();
    let tables = [
        ("public.profiles", true),
        // Every column users may read (failure_detail is the operators', 034).
        (
            "(select id, owner_id, mode, room_type, style, input1_path, input2_path, prompt, prediction_id, status, \
              error, idempotency_key, created_at, completed_at from public.generation_jobs)",
            true,
        ),
        ("public.renders", true),
        ("public.render_variants", true),
        ("public.collections", true),
        ("public.collection_items", true),
        ("public.usage_ledger", true),
        ("public.webhook_events", false), // service only: refused outright
        ("storage.objects where bucket_id = 'private'", true),
    ];
    for (table, sees_own) in tables {
        let sql = if let Some((name, filter)) = table.split_once(" where ") {
            format!("select to_jsonb(t)::text from {name} t where {filter}")
        } else {
            format!("select to_jsonb(t)::text from {table} t")
        };
        match rows_as_user(&app, &attacker, &sql).await {
            Ok(rows) => {
                let leaked: Vec<&String> =
                    rows.iter().filter(|r| their_ids.iter().any(|id| r.contains(id.as_str()))).collect();
                assert!(leaked.is_empty(), "{table}: another user's rows are readable: {leaked:?}");
                if sees_own {
                    assert!(
                        rows.iter().any(|r| my_ids.iter().any(|id| r.contains(id.as_str()))),
                        "{table}: the attacker should at least see their own rows (test sanity)"
                    );
                }
            }
            Err(DbError::PermissionDenied) => assert!(!sees_own, "{table}: users cannot read even their own rows"),
            Err(e) => panic!("{table}: {e:?}"),
        }
    }
    // auth.users is not exposed at all.
    let users = rows_as_user(&app, &attacker, "select email from auth.users").await;
    assert!(matches!(users, Err(DbError::PermissionDenied)), "{users:?}");
    // Asking for the victim's rows by id gives nothing either.
    for sql in [
        format!("select id::text from public.profiles where id = '{}'", victim.id),
        format!("select id::text from public.generation_jobs where owner_id = '{}'", victim.id),
        format!("select id::text from public.renders where id = '{}'", theirs.render),
        format!("select id::text from public.render_variants where render_id = '{}'", theirs.render),
        format!("select id::text from public.collections where id = '{}'", theirs.fav),
        format!("select render_id::text from public.collection_items where collection_id = '{}'", theirs.coll),
        format!("select id::text from public.usage_ledger where owner_id = '{}'", victim.id),
        format!("select name from storage.objects where name like '{}/%'", victim.id),
    ] {
        let rows = rows_as_user(&app, &attacker, &sql).await.unwrap();
        assert!(rows.is_empty(), "{sql}: {rows:?}");
    }
}

#[tokio::test]
async fn attack_07_user_cannot_update_another_users_rows_in_any_table() {
    let app = TestApp::spawn().await;
    let (attacker, mine, victim, theirs) = two_seeded_users(&app).await;
    let (updates, _) = reach_for(&attacker, &victim, &theirs, &mine);
    attempt_all_as(&app, &attacker, &updates).await;
}

#[tokio::test]
async fn attack_07_user_cannot_delete_another_users_rows_in_any_table() {
    let app = TestApp::spawn().await;
    let (attacker, mine, victim, theirs) = two_seeded_users(&app).await;
    let (_, deletes) = reach_for(&attacker, &victim, &theirs, &mine);
    attempt_all_as(&app, &attacker, &deletes).await;
}

#[tokio::test]
async fn attack_07_user_cannot_plant_files_in_another_users_folder_or_the_public_bucket() {
    const JPEG_METADATA: &str = "'{\"size\": 1000, \"mimetype\": \"image/jpeg\"}'";
    let app = TestApp::spawn().await;
    let (attacker, _mine, victim, theirs) = two_seeded_users(&app).await;
    attempt_all_as(
        &app,
        &attacker,
        &[
            // Sizes and types the buckets accept, so the policies are what refuse.
            format!(
                "insert into storage.objects (bucket_id, name, metadata) values ('private', '{}/inputs/planted.jpg', {JPEG_METADATA})",
                victim.id
            ),
            format!(
                "insert into storage.objects (bucket_id, name, metadata) values ('public', 'renders/{}/9.jpg', {JPEG_METADATA})",
                theirs.render
            ),
            format!(
                "insert into storage.objects (bucket_id, name, metadata) values ('public', 'index.jpg', {JPEG_METADATA})"
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn attack_07_the_read_functions_show_another_user_nothing() {
    let app = TestApp::spawn().await;
    let (attacker, _mine, victim, theirs) = two_seeded_users(&app).await;
    app.set_plan(&victim, Some("price_monthly"), true).await;
    // Called through the Data API (RPC) with the victim's ids: the functions
    // run as the caller, so RLS shows the attacker none of the victim's rows.
    let overview = format!(
        "select row(price_id, has_access, used, inflight_job_id, id)::text
           from public.usage_overview('{}', now() - interval '1 year', now() + interval '1 day', true)",
        victim.id
    );
    assert_eq!(rows_as_user(&app, &attacker, &overview).await.unwrap(), ["(,f,0,,)"], "no plan, no debits, no rows");
    let job = format!("select id::text from public.job_with_outputs('{}')", theirs.job);
    assert_eq!(rows_as_user(&app, &attacker, &job).await.unwrap(), Vec::<String>::new());
    let collections = format!("select name from public.list_collections('{}')", victim.id);
    assert_eq!(rows_as_user(&app, &attacker, &collections).await.unwrap(), Vec::<String>::new());
    // The owner sees their own.
    assert_eq!(rows_as_user(&app, &victim, &job).await.unwrap(), [theirs.job.to_string()]);
    // Anonymous callers may not call them at all.
    assert!(matches!(rows_as_anon(&app, &job).await, Err(DbError::PermissionDenied)));
}
