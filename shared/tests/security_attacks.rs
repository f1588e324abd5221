//! SECURITY.md items 1-11, attack by attack: each test does what an attacker
//! holding the anon key and their own access token can do over Supabase's
//! Data API (SQL as role `authenticated` with their claims, or as `anon`),
//! then checks as superuser that nothing changed. Where the rule is a
//! constraint, it is also shown to hold for the service itself.
//!
//! "Refused" means either an error (a missing grant or a WITH CHECK
//! violation: SQLSTATE 42501) or no row touched (RLS hides the row); the
//! assertion that matters is the unchanged database.

use shared::db::{DbError, Param, Type};
use std::sync::Arc;
use testkit::{TestApp, TestUser};
use uuid::Uuid;

// ------------------------------------------------------------------- helpers

/// Every table the attacks could touch.
const ALL_TABLES: [&str; 13] = [
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
async fn snapshot(app: &TestApp) -> Vec<(String, String)> {
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
async fn assert_unchanged(app: &TestApp, before: &[(String, String)], attack: &str) {
    let after = snapshot(app).await;
    let changed: Vec<&str> = before.iter().zip(&after).filter(|(b, a)| b.1 != a.1).map(|(b, _)| b.0.as_str()).collect();
    assert!(changed.is_empty(), "{attack}: rows changed in {changed:?}");
}

#[track_caller]
fn assert_refused(outcome: &Result<u64, DbError>, attack: &str) {
    assert!(
        matches!(outcome, Ok(0) | Err(DbError::PermissionDenied)),
        "{attack}: expected a refusal (42501) or no row touched, got {outcome:?}"
    );
}

/// One statement as the user, committed when it succeeds.
async fn as_user(app: &TestApp, user: &TestUser, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
    let mut tx = app.db.as_user(&user.identity).await?;
    let n = tx.execute(sql, params).await?;
    tx.commit().await?;
    Ok(n)
}

/// Rows a read returns as the user (0 when refused).
async fn rows_as_user(app: &TestApp, user: &TestUser, sql: &str) -> Result<Vec<String>, DbError> {
    let mut tx = app.db.as_user(&user.identity).await?;
    let rows = tx.query(sql, &[]).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

async fn rows_as_anon(app: &TestApp, sql: &str) -> Result<Vec<String>, DbError> {
    let mut tx = app.db.as_anon().await?;
    let rows = tx.query(sql, &[]).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// One statement as the service, committed when it succeeds.
async fn as_service(app: &TestApp, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
    let mut tx = app.db.as_service().await?;
    let n = tx.execute(sql, params).await?;
    tx.commit().await?;
    Ok(n)
}

/// Runs every statement as `user`, each in its own transaction, and checks
/// each is refused and that nothing at all changed.
async fn attempt_all_as(app: &TestApp, user: &TestUser, attacks: &[String]) {
    let before = snapshot(app).await;
    for sql in attacks {
        let outcome = as_user(app, user, sql, &[]).await;
        assert_refused(&outcome, sql);
        assert_unchanged(app, &before, sql).await;
    }
}

fn check_violation(outcome: Result<u64, DbError>, constraint: &str, attack: &str) {
    match outcome {
        Err(DbError::CheckViolation { constraint: c }) if c == constraint => {}
        other => panic!("{attack}: expected check violation of {constraint}, got {other:?}"),
    }
}

fn fk_violation(outcome: Result<u64, DbError>, constraint: &str, attack: &str) {
    match outcome {
        Err(DbError::ForeignKeyViolation { constraint: c }) if c == constraint => {}
        other => panic!("{attack}: expected foreign key violation of {constraint}, got {other:?}"),
    }
}

fn unique_violation(outcome: Result<u64, DbError>, constraint: &str, attack: &str) {
    match outcome {
        Err(e) if e.is_unique_violation_of(constraint) => {}
        other => panic!("{attack}: expected unique violation of {constraint}, got {other:?}"),
    }
}

/// The rows a user owns, seeded as the service would have written them.
#[derive(Clone, Copy, Debug)]
struct Owned {
    job: Uuid,
    render: Uuid,
    fav: Uuid,
    coll: Uuid,
    ledger: Uuid,
}

/// A finished render with 2 variants, in My Favorites and in an ordinary
/// collection, its debit, its webhook delivery and a private upload.
async fn seed_everything(app: &TestApp, user: &TestUser) -> Owned {
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

async fn favorites_of(app: &TestApp, user: &TestUser) -> Option<Uuid> {
    app.admin()
        .query_opt("select id from public.collections where owner_id = $1 and is_default_favorites", &[&user.id])
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// A job in flight (as the service creates it on submit).
async fn seed_processing_job(app: &TestApp, user: &TestUser) -> Uuid {
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
async fn seed_failed_job(app: &TestApp, user: &TestUser) -> Uuid {
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

// ------------------------------------------ 1. users writing their own ledger

#[tokio::test]
async fn attack_01_user_cannot_insert_a_negative_debit() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let (job, _) = app.seed_render(&attacker, 1).await;
    let before = snapshot(&app).await;
    let job_text = job.to_string();
    let outcome = as_user(
        &app,
        &attacker,
        "insert into public.usage_ledger (owner_id, kind, amount, meta)
         values ($1, 'generation_debit', -1000, jsonb_build_object('jobId', $2::text))",
        &[(&attacker.id, Type::UUID), (&job_text, Type::TEXT)],
    )
    .await;
    assert_refused(&outcome, "negative debit");
    assert_unchanged(&app, &before, "negative debit").await;
    assert_eq!(app.count("public.usage_ledger").await, 0);
}

#[tokio::test]
async fn attack_01_user_cannot_credit_themselves() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let before = snapshot(&app).await;
    for amount in [1_000_i32, 1] {
        let outcome = as_user(
            &app,
            &attacker,
            "insert into public.usage_ledger (owner_id, kind, amount, meta) values ($1, 'credit_adjustment', $2, '{\"reason\": \"gift\"}')",
            &[(&attacker.id, Type::UUID), (&amount, Type::INT4)],
        )
        .await;
        assert_refused(&outcome, "self credit");
    }
    assert_unchanged(&app, &before, "self credit").await;
    assert_eq!(app.count("public.usage_ledger").await, 0);
}

#[tokio::test]
async fn attack_01_user_cannot_rewrite_or_erase_their_debits() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let ledger = mine.ledger;
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("update public.usage_ledger set amount = 1 where id = '{ledger}'"),
            format!("update public.usage_ledger set kind = 'credit_adjustment' where id = '{ledger}'"),
            format!("update public.usage_ledger set owner_id = gen_random_uuid() where id = '{ledger}'"),
            format!("delete from public.usage_ledger where id = '{ledger}'"),
            "delete from public.usage_ledger".to_string(),
        ],
    )
    .await;
    assert_eq!(app.count(&format!("public.usage_ledger where id = '{ledger}' and amount = 1")).await, 1);
}

#[tokio::test]
async fn attack_01_non_positive_amount_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (job, _) = app.seed_render(&user, 1).await;
    let before = snapshot(&app).await;
    for amount in [-5_i32, 0] {
        let debit = as_service(
            &app,
            "insert into public.usage_ledger (owner_id, kind, amount, meta) values ($1, 'generation_debit', $2, jsonb_build_object('jobId', $3::uuid::text))",
            &[(&user.id, Type::UUID), (&amount, Type::INT4), (&job, Type::UUID)],
        )
        .await;
        check_violation(debit, "usage_ledger_amount_positive_check", "non-positive debit");
        let credit = as_service(
            &app,
            "insert into public.usage_ledger (owner_id, kind, amount, meta) values ($1, 'credit_adjustment', $2, '{}')",
            &[(&user.id, Type::UUID), (&amount, Type::INT4)],
        )
        .await;
        check_violation(credit, "usage_ledger_amount_positive_check", "non-positive credit");
    }
    // A generation debit must name its job.
    let orphan = as_service(
        &app,
        "insert into public.usage_ledger (owner_id, kind, amount, meta) values ($1, 'generation_debit', 1, '{}')",
        &[(&user.id, Type::UUID)],
    )
    .await;
    check_violation(orphan, "usage_ledger_debit_job_check", "debit without a job");
    assert_unchanged(&app, &before, "service non-positive amounts").await;

    // Sanity: a positive debit is accepted.
    let ok = as_service(
        &app,
        "insert into public.usage_ledger (owner_id, kind, amount, meta) values ($1, 'generation_debit', 1, jsonb_build_object('jobId', $2::uuid::text))",
        &[(&user.id, Type::UUID), (&job, Type::UUID)],
    )
    .await;
    assert_eq!(ok.unwrap(), 1);
}

// ------------------------------------------------- 2. self-upgrade of billing

async fn self_upgrade_attempt(sql: &str) {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let before = snapshot(&app).await;
    let outcome = as_user(&app, &attacker, sql, &[(&attacker.id, Type::UUID)]).await;
    assert_refused(&outcome, sql);
    assert_unchanged(&app, &before, sql).await;
    let row = app
        .admin()
        .query_one("select price_id, has_access, customer_id from public.profiles where id = $1", &[&attacker.id])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert!(!row.get::<_, bool>(1));
    assert_eq!(row.get::<_, Option<String>>(2), None);
}

#[tokio::test]
async fn attack_02_user_cannot_set_own_price_id() {
    self_upgrade_attempt("update public.profiles set price_id = 'price_pro_yearly' where id = $1").await;
}

#[tokio::test]
async fn attack_02_user_cannot_set_own_has_access() {
    self_upgrade_attempt("update public.profiles set has_access = true where id = $1").await;
}

#[tokio::test]
async fn attack_02_user_cannot_set_own_customer_id() {
    self_upgrade_attempt("update public.profiles set customer_id = 'cus_someone_who_pays' where id = $1").await;
}

#[tokio::test]
async fn attack_02_user_cannot_self_upgrade_through_an_upsert() {
    // PostgREST's `Prefer: resolution=merge-duplicates` is an INSERT ... ON CONFLICT DO UPDATE.
    self_upgrade_attempt(
        "insert into public.profiles (id, email, price_id, has_access, customer_id)
         values ($1, 'me@example.test', 'price_pro', true, 'cus_x')
         on conflict (id) do update set price_id = excluded.price_id, has_access = excluded.has_access,
                                        customer_id = excluded.customer_id",
    )
    .await;
}

#[tokio::test]
async fn attack_02_user_cannot_recreate_own_profile_with_access() {
    // Delete-then-insert would also reset the plan by hand.
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    app.set_plan(&attacker, Some("price_basic"), false).await;
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("delete from public.profiles where id = '{}'", attacker.id),
            format!(
                "insert into public.profiles (id, email, price_id, has_access) values ('{}', 'me@example.test', 'price_pro', true)",
                Uuid::new_v4()
            ),
        ],
    )
    .await;
}

// ------------------------------------------------- 3. writing jobs directly

#[tokio::test]
async fn attack_03_user_cannot_insert_a_job_directly() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let me = attacker.id;
    attempt_all_as(
        &app,
        &attacker,
        &[
            // skipping the quota and in-flight checks of the submit endpoint
            format!(
                "insert into public.generation_jobs (owner_id, mode, prompt) values ('{me}', 'imagine', 'free render')"
            ),
            // born finished
            format!(
                "insert into public.generation_jobs (owner_id, mode, prompt, status, completed_at)
                 values ('{me}', 'imagine', 'free render', 'succeeded', now())"
            ),
            // with a forged prediction id (would let a webhook complete it)
            format!(
                "insert into public.generation_jobs (owner_id, mode, prompt, prediction_id)
                 values ('{me}', 'imagine', 'free render', 'pred_forged')"
            ),
        ],
    )
    .await;
    assert_eq!(app.count("public.generation_jobs").await, 0);
}

#[tokio::test]
async fn attack_03_user_cannot_update_job_status() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let job = seed_processing_job(&app, &attacker).await;
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("update public.generation_jobs set status = 'succeeded', completed_at = now() where id = '{job}'"),
            format!("update public.generation_jobs set status = 'canceled' where id = '{job}'"),
            format!("update public.generation_jobs set status = 'failed', error = 'timeout' where id = '{job}'"),
            format!("update public.generation_jobs set prediction_id = 'pred_other' where id = '{job}'"),
            format!("update public.generation_jobs set owner_id = gen_random_uuid() where id = '{job}'"),
            format!("delete from public.generation_jobs where id = '{job}'"),
        ],
    )
    .await;
    assert_eq!(app.count(&format!("public.generation_jobs where id = '{job}' and status = 'processing'")).await, 1);
}

#[tokio::test]
async fn attack_03_user_cannot_point_a_job_at_another_users_upload() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    seed_everything(&app, &victim).await;
    let job = seed_failed_job(&app, &attacker).await;
    let me = attacker.id;
    let theirs = format!("private/{}/inputs/room.jpg", victim.id);
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!(
                "insert into public.generation_jobs (owner_id, mode, input1_path) values ('{me}', 'redesign', '{theirs}')"
            ),
            format!(
                "insert into public.generation_jobs (owner_id, mode, input1_path, input2_path)
                 values ('{me}', 'compose', 'private/{me}/inputs/a.jpg', '{theirs}')"
            ),
            format!("update public.generation_jobs set input1_path = '{theirs}' where id = '{job}'"),
            format!("update public.generation_jobs set input2_path = '{theirs}' where id = '{job}'"),
        ],
    )
    .await;
}

#[tokio::test]
async fn attack_03_foreign_input_path_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let me = attacker.id;
    let them = victim.id;
    let before = snapshot(&app).await;
    let bad_paths = [
        format!("private/{them}/inputs/room.jpg"),
        format!("private/{me}/inputs/../../{them}/inputs/room.jpg"),
        format!("private/{me}/inputs/"),
        format!("public/renders/{me}/inputs/room.jpg"),
        format!("{me}/inputs/room.jpg"),
        format!("private/{me}/other/room.jpg"),
    ];
    let good = format!("private/{me}/inputs/room.jpg");
    for bad in &bad_paths {
        let first = as_service(
            &app,
            "insert into public.generation_jobs (owner_id, mode, input1_path) values ($1, 'redesign', $2)",
            &[(&me, Type::UUID), (bad, Type::TEXT)],
        )
        .await;
        check_violation(first, "generation_jobs_input1_path_check", bad);
        let second = as_service(
            &app,
            "insert into public.generation_jobs (owner_id, mode, input1_path, input2_path) values ($1, 'compose', $2, $3)",
            &[(&me, Type::UUID), (&good, Type::TEXT), (bad, Type::TEXT)],
        )
        .await;
        check_violation(second, "generation_jobs_input2_path_check", bad);
    }
    assert_unchanged(&app, &before, "service with foreign paths").await;

    // An existing job cannot be repointed either.
    let job = seed_failed_job(&app, &attacker).await;
    let before = snapshot(&app).await;
    let theirs = format!("private/{them}/inputs/room.jpg");
    let update = as_service(
        &app,
        "update public.generation_jobs set input1_path = $2 where id = $1",
        &[(&job, Type::UUID), (&theirs, Type::TEXT)],
    )
    .await;
    check_violation(update, "generation_jobs_input1_path_check", "service repoints a job");
    assert_unchanged(&app, &before, "service repoints a job").await;

    // Sanity: the caller's own upload is accepted.
    let ok = as_service(
        &app,
        "insert into public.generation_jobs (owner_id, mode, input1_path) values ($1, 'redesign', $2)",
        &[(&me, Type::UUID), (&good, Type::TEXT)],
    )
    .await;
    assert_eq!(ok.unwrap(), 1);
}

// ---------------------------------- 4. renders / variants with foreign refs

#[tokio::test]
async fn attack_04_user_cannot_insert_a_render_for_another_users_job() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let their_job = seed_failed_job(&app, &victim).await;
    let my_job = seed_failed_job(&app, &attacker).await;
    let (me, them) = (attacker.id, victim.id);
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("insert into public.renders (job_id, owner_id, mode) values ('{their_job}', '{me}', 'imagine')"),
            format!("insert into public.renders (job_id, owner_id, mode) values ('{their_job}', '{them}', 'imagine')"),
            // nor even for their own job: renders come from the webhook only
            format!("insert into public.renders (job_id, owner_id, mode) values ('{my_job}', '{me}', 'imagine')"),
        ],
    )
    .await;
    assert_eq!(app.count("public.renders").await, 0);
}

#[tokio::test]
async fn attack_04_user_cannot_insert_a_variant_into_another_users_render() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let theirs = seed_everything(&app, &victim).await;
    let (me, them, render) = (attacker.id, victim.id, theirs.render);
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!(
                "insert into public.render_variants (render_id, owner_id, idx, image_path)
                 values ('{render}', '{me}', 5, 'renders/{render}/5.jpg')"
            ),
            format!(
                "insert into public.render_variants (render_id, owner_id, idx, image_path)
                 values ('{render}', '{them}', 5, 'renders/{render}/5.jpg')"
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn attack_04_user_cannot_insert_or_repoint_a_variant_with_an_arbitrary_image_path() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let theirs = seed_everything(&app, &victim).await;
    let (me, render, their_render) = (attacker.id, mine.render, theirs.render);
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!(
                "insert into public.render_variants (render_id, owner_id, idx, image_path)
                 values ('{render}', '{me}', 5, 'renders/{their_render}/0.jpg')"
            ),
            format!(
                "insert into public.render_variants (render_id, owner_id, idx, image_path)
                 values ('{render}', '{me}', 6, 'https://evil.example/phish.jpg')"
            ),
            format!("update public.render_variants set image_path = 'renders/{their_render}/0.jpg' where render_id = '{render}'"),
            format!("update public.render_variants set thumb_path = '../../private/x.jpg' where render_id = '{render}'"),
        ],
    )
    .await;
}

#[tokio::test]
async fn attack_04_render_of_another_owners_job_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let their_job = seed_failed_job(&app, &victim).await;
    let before = snapshot(&app).await;
    let outcome = as_service(
        &app,
        "insert into public.renders (job_id, owner_id, mode) values ($1, $2, 'imagine')",
        &[(&their_job, Type::UUID), (&attacker.id, Type::UUID)],
    )
    .await;
    fk_violation(outcome, "renders_job_owner_fk", "render owner differs from job owner");
    assert_unchanged(&app, &before, "render owner differs from job owner").await;
}

#[tokio::test]
async fn attack_04_variant_of_another_owners_render_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let theirs = seed_everything(&app, &victim).await;
    let before = snapshot(&app).await;
    let path = format!("renders/{}/5.jpg", theirs.render);
    let outcome = as_service(
        &app,
        "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, 5, $3)",
        &[(&theirs.render, Type::UUID), (&attacker.id, Type::UUID), (&path, Type::TEXT)],
    )
    .await;
    fk_violation(outcome, "render_variants_render_owner_fk", "variant owner differs from render owner");
    assert_unchanged(&app, &before, "variant owner differs from render owner").await;
}

#[tokio::test]
async fn attack_04_arbitrary_image_path_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let other = app.create_user().await;
    let mine = seed_everything(&app, &user).await;
    let theirs = seed_everything(&app, &other).await;
    let render = mine.render;
    let before = snapshot(&app).await;
    let bad_paths = [
        format!("renders/{}/0.jpg", theirs.render),
        format!("renders/{render}/../{}/0.jpg", theirs.render),
        format!("renders/{render}/"),
        "https://evil.example/phish.jpg".to_string(),
        format!("private/{}/inputs/room.jpg", other.id),
        format!("/renders/{render}/5.jpg"),
    ];
    let good = format!("renders/{render}/5.jpg");
    for bad in &bad_paths {
        let image = as_service(
            &app,
            "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, 5, $3)",
            &[(&render, Type::UUID), (&user.id, Type::UUID), (bad, Type::TEXT)],
        )
        .await;
        check_violation(image, "render_variants_image_path_check", bad);
        let thumb = as_service(
            &app,
            "insert into public.render_variants (render_id, owner_id, idx, image_path, thumb_path) values ($1, $2, 5, $3, $4)",
            &[(&render, Type::UUID), (&user.id, Type::UUID), (&good, Type::TEXT), (bad, Type::TEXT)],
        )
        .await;
        check_violation(thumb, "render_variants_thumb_path_check", bad);
        let repoint = as_service(
            &app,
            "update public.render_variants set image_path = $2 where render_id = $1 and idx = 0",
            &[(&render, Type::UUID), (bad, Type::TEXT)],
        )
        .await;
        check_violation(repoint, "render_variants_image_path_check", bad);
    }
    let negative = as_service(
        &app,
        "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, -1, $3)",
        &[(&render, Type::UUID), (&user.id, Type::UUID), (&good, Type::TEXT)],
    )
    .await;
    check_violation(negative, "render_variants_idx_check", "negative variant index");
    assert_unchanged(&app, &before, "service with arbitrary paths").await;

    let ok = as_service(
        &app,
        "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, 5, $3)",
        &[(&render, Type::UUID), (&user.id, Type::UUID), (&good, Type::TEXT)],
    )
    .await;
    assert_eq!(ok.unwrap(), 1, "a path under the render's own folder is accepted");
}

// ------------------------------- 5. another user's render in own collection

#[tokio::test]
async fn attack_05_user_cannot_add_another_users_render_to_own_collection() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let theirs = seed_everything(&app, &victim).await;
    let their_render = theirs.render;
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("insert into public.collection_items (collection_id, render_id) values ('{}', '{their_render}')", mine.fav),
            format!("insert into public.collection_items (collection_id, render_id) values ('{}', '{their_render}')", mine.coll),
            // swapping an existing item's render (no update right at all)
            format!(
                "update public.collection_items set render_id = '{their_render}' where collection_id = '{}' and render_id = '{}'",
                mine.coll, mine.render
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn attack_05_user_cannot_add_anything_to_another_users_collection() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let victim = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let theirs = seed_everything(&app, &victim).await;
    let other_render = app.seed_render(&victim, 1).await.1;
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!(
                "insert into public.collection_items (collection_id, render_id) values ('{}', '{}')",
                theirs.coll, mine.render
            ),
            format!(
                "insert into public.collection_items (collection_id, render_id) values ('{}', '{other_render}')",
                theirs.fav
            ),
        ],
    )
    .await;
}

// ------------------------------------------------- 6. deleting My Favorites

#[tokio::test]
async fn attack_06_user_cannot_unflag_then_delete_my_favorites() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let fav = favorites_of(&app, &attacker).await.unwrap();
    let before = snapshot(&app).await;

    let unflag = as_user(
        &app,
        &attacker,
        "update public.collections set is_default_favorites = false where id = $1",
        &[(&fav, Type::UUID)],
    )
    .await;
    assert_refused(&unflag, "unflag My Favorites");
    let delete = as_user(&app, &attacker, "delete from public.collections where id = $1", &[(&fav, Type::UUID)]).await;
    assert_refused(&delete, "delete My Favorites");
    // both in one transaction, as a script would
    let mut tx = app.db.as_user(&attacker.identity).await.unwrap();
    let both = async {
        let a = tx
            .execute("update public.collections set is_default_favorites = false where id = $1", &[(&fav, Type::UUID)])
            .await?;
        let b = tx.execute("delete from public.collections where id = $1", &[(&fav, Type::UUID)]).await?;
        tx.commit().await?;
        Ok::<u64, DbError>(a + b)
    }
    .await;
    assert_refused(&both, "unflag and delete in one transaction");
    // a blanket delete removes ordinary collections only
    let blanket = as_user(&app, &attacker, "delete from public.collections", &[]).await;
    assert_refused(&blanket, "delete every collection");

    assert_unchanged(&app, &before, "My Favorites").await;
    assert_eq!(favorites_of(&app, &attacker).await, Some(fav));
}

#[tokio::test]
async fn attack_06_user_cannot_rename_my_favorites() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let fav = favorites_of(&app, &attacker).await.unwrap();
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("update public.collections set name = 'Not favorites' where id = '{fav}'"),
            format!(
                "update public.collections set name = 'Not favorites', is_default_favorites = false where id = '{fav}'"
            ),
        ],
    )
    .await;
    let name: String =
        app.admin().query_one("select name from public.collections where id = $1", &[&fav]).await.unwrap().get(0);
    assert_eq!(name, "My Favorites");
}

#[tokio::test]
async fn attack_06_user_cannot_make_another_collection_their_favorites() {
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    let mine = seed_everything(&app, &attacker).await;
    let me = attacker.id;
    // With a second favorites collection (or a flagged ordinary one) the
    // original could be unflagged and deleted, or favorites duplicated.
    attempt_all_as(
        &app,
        &attacker,
        &[
            format!("insert into public.collections (owner_id, name, is_default_favorites) values ('{me}', 'My Favorites', true)"),
            format!("update public.collections set is_default_favorites = true where id = '{}'", mine.coll),
        ],
    )
    .await;
}

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

// ---------------------------------------------- 8. anonymous reads

#[tokio::test]
async fn attack_08_anon_reads_nothing_but_community_content() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    seed_everything(&app, &user).await;
    for table in [
        "public.profiles",
        "public.generation_jobs",
        "public.renders",
        "public.render_variants",
        "public.collections",
        "public.collection_items",
        "public.usage_ledger",
        "public.webhook_events",
    ] {
        match rows_as_anon(&app, &format!("select to_jsonb(t)::text from {table} t")).await {
            Ok(rows) => assert!(rows.is_empty(), "anon reads {table}: {rows:?}"),
            Err(DbError::PermissionDenied) => {}
            Err(e) => panic!("{table}: {e:?}"),
        }
    }
    // nor the auth schema's users
    let users = rows_as_anon(&app, "select email from auth.users").await;
    assert!(matches!(users, Err(DbError::PermissionDenied)), "{users:?}");
    // private uploads neither
    let private = rows_as_anon(&app, "select name from storage.objects where bucket_id = 'private'").await;
    assert!(matches!(&private, Ok(rows) if rows.is_empty()) || matches!(private, Err(DbError::PermissionDenied)));
    // and no user-only function
    let mut tx = app.db.as_anon().await.unwrap();
    let ensure = tx.query("select public.ensure_default_favorites()::text", &[]).await;
    assert!(matches!(ensure, Err(DbError::PermissionDenied)), "{ensure:?}");
}

#[tokio::test]
async fn attack_08_unpublished_community_content_is_hidden_from_anon_and_users() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let owner = app.create_user().await;
    let (_, render) = app.seed_render(&owner, 1).await;
    let admin = app.admin();
    let published: Uuid = admin
        .query_one(
            "insert into public.community_collections (title, is_published) values ('Live', true) returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let draft: Uuid = admin
        .query_one(
            "insert into public.community_collections (title, is_published) values ('Draft', false) returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    admin
        .execute(
            "insert into public.community_items (collection_id, render_id) values ($1, $3), ($2, $3)",
            &[&published, &draft, &render],
        )
        .await
        .unwrap();
    admin
        .execute(
            "insert into public.community_items (collection_id, external_image_url) values ($1, 'https://example.test/draft.jpg')",
            &[&draft],
        )
        .await
        .unwrap();

    // The tables are the service's (migration 030); readers get the feed,
    // which shows published collections only.
    for sql in
        ["select id::text from public.community_collections", "select collection_id::text from public.community_items"]
    {
        let anon = rows_as_anon(&app, sql).await;
        assert!(matches!(anon, Err(DbError::PermissionDenied)), "anon: {sql}: {anon:?}");
        let user_rows = rows_as_user(&app, &user, sql).await;
        assert!(matches!(user_rows, Err(DbError::PermissionDenied)), "user: {sql}: {user_rows:?}");
    }
    let feed = "select distinct collection_id::text from public.community_feed()";
    assert_eq!(rows_as_anon(&app, feed).await.unwrap(), vec![published.to_string()], "anon: community feed");
    assert_eq!(rows_as_user(&app, &user, feed).await.unwrap(), vec![published.to_string()], "user: community feed");
}

#[tokio::test]
async fn attack_08_api_roles_call_only_the_functions_meant_for_them() {
    let app = TestApp::spawn().await;
    let callable = "select coalesce(array_agg(p.proname::text order by p.proname), '{}')
                      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                     where n.nspname = 'public' and has_function_privilege($1, p.oid, 'execute')";
    let anon: Vec<String> = app.admin().query_one(callable, &[&"anon"]).await.unwrap().get(0);
    assert_eq!(anon, ["community_feed"]);
    let authenticated: Vec<String> = app.admin().query_one(callable, &[&"authenticated"]).await.unwrap().get(0);
    assert_eq!(authenticated, ["community_feed", "ensure_default_favorites"]);
    // and neither can create objects in public (e.g. to shadow a function)
    let row = app
        .admin()
        .query_one(
            "select has_schema_privilege('anon', 'public', 'create'), has_schema_privilege('authenticated', 'public', 'create')",
            &[],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>(0) && !row.get::<_, bool>(1));
    let user = app.create_user().await;
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let create = tx.execute("create table public.collections_shadow (id uuid)", &[]).await;
    assert!(matches!(create, Err(DbError::PermissionDenied)), "{create:?}");
}

// ------------------------------------------ 9. SECURITY DEFINER search_path

#[tokio::test]
async fn attack_09_security_definer_functions_have_a_fixed_search_path() {
    let app = TestApp::spawn().await;
    let rows = app
        .admin()
        .query(
            "select n.nspname::text, p.proname::text, coalesce(p.proconfig, '{}')::text[]
               from pg_proc p join pg_namespace n on n.oid = p.pronamespace
              where p.prosecdef and n.nspname in ('public', 'auth', 'storage')
              order by 1, 2",
            &[],
        )
        .await
        .unwrap();
    let mut names = Vec::new();
    for row in &rows {
        let (schema, name, config): (String, String, Vec<String>) = (row.get(0), row.get(1), row.get(2));
        let search_path: Vec<&String> = config.iter().filter(|c| c.starts_with("search_path=")).collect();
        assert_eq!(search_path.len(), 1, "{schema}.{name} runs with the caller's search_path: {config:?}");
        // Empty, or at most system schemas: nothing a caller can create objects in.
        let value = search_path[0].trim_start_matches("search_path=").replace('"', "");
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            assert!(entry == "pg_catalog", "{schema}.{name}: search_path includes {entry}");
        }
        names.push(format!("{schema}.{name}"));
    }
    for expected in [
        "public.handle_new_user",
        "public.create_default_favorites",
        "public.community_feed",
        "public.ensure_default_favorites",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} is expected to be SECURITY DEFINER (found {names:?})");
    }
}

#[tokio::test]
async fn attack_09_a_shadowing_table_on_the_search_path_is_ignored_by_definer_functions() {
    // The attacker shadows public.collections with a temporary table of the
    // same name first on their search_path, then calls the SECURITY DEFINER
    // function that writes collections: it must still write the real table.
    let app = TestApp::spawn().await;
    let attacker = app.create_user().await;
    app.admin().execute("delete from public.collections where owner_id = $1", &[&attacker.id]).await.unwrap();

    let mut tx = app.db.as_user(&attacker.identity).await.unwrap();
    tx.execute(
        "create temporary table collections (
           id uuid default gen_random_uuid(), owner_id uuid, name text,
           is_default_favorites boolean default false, created_at timestamptz default now())
         on commit drop",
        &[],
    )
    .await
    .unwrap();
    tx.query("select set_config('search_path', 'pg_temp, public', true)", &[]).await.unwrap();
    let id = ensure_favorites(&mut tx).await.unwrap();
    let shadowed: i64 = tx.query_one("select count(*) from pg_temp.collections", &[]).await.unwrap().get(0);
    assert_eq!(shadowed, 0, "the definer function wrote the attacker's shadow table");
    tx.commit().await.unwrap();
    assert_eq!(favorites_of(&app, &attacker).await, Some(id));
}

// ------------------------------------------------- 10. unique constraints

#[tokio::test]
async fn attack_10_second_render_for_a_job_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (job, _) = app.seed_render(&user, 2).await;
    let before = snapshot(&app).await;
    let outcome = as_service(
        &app,
        "insert into public.renders (job_id, owner_id, mode) values ($1, $2, 'imagine')",
        &[(&job, Type::UUID), (&user.id, Type::UUID)],
    )
    .await;
    unique_violation(outcome, "uniq_renders_job", "second render for a job");
    assert_unchanged(&app, &before, "second render for a job").await;
}

#[tokio::test]
async fn attack_10_duplicate_variant_index_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (_, render) = app.seed_render(&user, 2).await;
    let before = snapshot(&app).await;
    let path = format!("renders/{render}/1-again.jpg");
    let outcome = as_service(
        &app,
        "insert into public.render_variants (render_id, owner_id, idx, image_path) values ($1, $2, 1, $3)",
        &[(&render, Type::UUID), (&user.id, Type::UUID), (&path, Type::TEXT)],
    )
    .await;
    unique_violation(outcome, "uniq_variants_render_idx", "duplicate variant index");
    assert_unchanged(&app, &before, "duplicate variant index").await;
}

#[tokio::test]
async fn attack_10_second_debit_for_a_job_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    let (job, _) = app.seed_render(&user, 1).await;
    let debit = "insert into public.usage_ledger (owner_id, kind, amount, meta)
                 values ($1, 'generation_debit', 1, jsonb_build_object('jobId', $2::uuid::text, 'attempt', $3::int))";
    let first = 1_i32;
    as_service(&app, debit, &[(&user.id, Type::UUID), (&job, Type::UUID), (&first, Type::INT4)]).await.unwrap();
    let before = snapshot(&app).await;
    let second = 2_i32;
    let outcome = as_service(&app, debit, &[(&user.id, Type::UUID), (&job, Type::UUID), (&second, Type::INT4)]).await;
    unique_violation(outcome, "uniq_usage_debit_per_job", "second debit for a job");
    assert_unchanged(&app, &before, "second debit for a job").await;
    // Credits are not debits: a refund naming the job is still possible.
    let refund = as_service(
        &app,
        "insert into public.usage_ledger (owner_id, kind, amount, meta) values ($1, 'credit_adjustment', 1, jsonb_build_object('jobId', $2::uuid::text))",
        &[(&user.id, Type::UUID), (&job, Type::UUID)],
    )
    .await;
    assert_eq!(refund.unwrap(), 1);
}

#[tokio::test]
async fn attack_10_second_in_flight_job_refused_even_for_service() {
    let app = TestApp::spawn().await;
    let user = app.create_user().await;
    seed_processing_job(&app, &user).await;
    let before = snapshot(&app).await;
    let outcome = as_service(
        &app,
        "insert into public.generation_jobs (owner_id, mode, prompt) values ($1, 'imagine', 'another')",
        &[(&user.id, Type::UUID)],
    )
    .await;
    unique_violation(outcome, "uniq_jobs_owner_inflight", "second job in flight");
    assert_unchanged(&app, &before, "second job in flight").await;
}

// ------------------------------- 11. auth.uid() per row, unindexed foreign keys

#[tokio::test]
async fn attack_11_policies_wrap_auth_uid_in_a_subselect() {
    let app = TestApp::spawn().await;
    let rows = app
        .admin()
        .query(
            "select schemaname::text, tablename::text, policyname::text, coalesce(qual, ''), coalesce(with_check, '')
               from pg_policies where schemaname in ('public', 'storage') order by 1, 2, 3",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 10, "expected the policies of public and storage, found {}", rows.len());
    let mut bare = Vec::new();
    for row in &rows {
        let (schema, table, policy): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        for expr in [row.get::<_, String>(3), row.get::<_, String>(4)] {
            // Only the initplan form may remain: ( SELECT auth.uid() AS uid)
            let rest = expr.replace("( SELECT auth.uid() AS uid)", "");
            for per_row in ["auth.uid()", "auth.jwt()", "auth.role()", "current_setting("] {
                if rest.contains(per_row) {
                    bare.push(format!("{schema}.{table} \"{policy}\": {expr}"));
                }
            }
        }
    }
    assert!(bare.is_empty(), "policies evaluating auth functions per row:\n{}", bare.join("\n"));
}

#[tokio::test]
async fn attack_11_every_foreign_key_has_a_leading_index() {
    let app = TestApp::spawn().await;
    let all: i64 = app
        .admin()
        .query_one(
            "select count(*) from pg_constraint c join pg_namespace n on n.oid = c.connamespace
              where c.contype = 'f' and n.nspname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(all >= 10, "expected the foreign keys of public, found {all}");
    let rows = app
        .admin()
        .query(
            "select c.conrelid::regclass::text || '.' || c.conname::text
               from pg_constraint c join pg_namespace n on n.oid = c.connamespace
              where c.contype = 'f' and n.nspname = 'public'
                and not exists (
                  select 1 from pg_index i
                   where i.indrelid = c.conrelid
                     and i.indisvalid
                     and i.indpred is null
                     and i.indnkeyatts >= array_length(c.conkey, 1)
                     and (string_to_array(i.indkey::text, ' ')::smallint[])[1:array_length(c.conkey, 1)] = c.conkey)
              order by 1",
            &[],
        )
        .await
        .unwrap();
    let missing: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert!(missing.is_empty(), "foreign keys without an index led by their columns: {missing:?}");
}

// ------------------------------------------------------ community_feed()

async fn feed_as_anon(app: &TestApp) -> Vec<serde_json::Value> {
    rows_as_anon(app, "select to_jsonb(f)::text from public.community_feed() f")
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

#[tokio::test]
async fn community_feed_returns_no_owner_prompt_or_job_columns() {
    let app = TestApp::spawn().await;
    let owner = app.create_user().await;
    let (job, render) = app.seed_render(&owner, 2).await;
    let collection: Uuid = app
        .admin()
        .query_one(
            "insert into public.community_collections (title, is_published) values ('Live', true) returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    app.admin()
        .execute(
            "insert into public.community_items (collection_id, render_id) values ($1, $2)",
            &[&collection, &render],
        )
        .await
        .unwrap();

    let statement = app.admin().prepare("select * from public.community_feed()").await.unwrap();
    let columns: Vec<&str> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        columns,
        [
            "collection_id",
            "title",
            "description",
            "is_featured",
            "collection_order",
            "item_id",
            "item_order",
            "image_path",
            "external_image_url",
            "apply_settings"
        ]
    );

    let feed = feed_as_anon(&app).await;
    assert_eq!(feed.len(), 1, "{feed:?}");
    let text = serde_json::to_string(&feed).unwrap();
    // (the render id is part of the public image path by design)
    for secret in [owner.id.to_string(), job.to_string(), "a calm bedroom".to_string()] {
        assert!(!text.contains(&secret), "the feed exposes {secret}: {text}");
    }
    assert_eq!(feed[0]["image_path"], format!("renders/{render}/0.jpg"));
}

async fn community_item(app: &TestApp, collection: Uuid, render: Uuid, order: i32) -> Uuid {
    app.admin()
        .query_one(
            "insert into public.community_items (collection_id, render_id, order_index) values ($1, $2, $3) returning id",
            &[&collection, &render, &order],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn community_feed_omits_unpublished_collections_and_deleted_renders() {
    let app = TestApp::spawn().await;
    let owner = app.create_user().await;
    let (_, kept) = app.seed_render(&owner, 2).await;
    let (_, deleted) = app.seed_render(&owner, 2).await;
    let (_, coverless) = app.seed_render(&owner, 1).await;
    let admin = app.admin();
    admin.execute("update public.renders set cover_variant = 3 where id = $1", &[&coverless]).await.unwrap();
    let live: Uuid = admin
        .query_one(
            "insert into public.community_collections (title, is_published) values ('Live', true) returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let draft: Uuid = admin
        .query_one(
            "insert into public.community_collections (title, is_published) values ('Draft', false) returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let kept_item = community_item(&app, live, kept, 0).await;
    community_item(&app, live, deleted, 1).await;
    community_item(&app, live, coverless, 2).await;
    community_item(&app, draft, kept, 0).await;
    let external: Uuid = admin
        .query_one(
            "insert into public.community_items (collection_id, external_image_url, order_index)
             values ($1, 'https://example.test/a.jpg', 3) returning id",
            &[&live],
        )
        .await
        .unwrap()
        .get(0);
    admin
        .execute(
            "insert into public.community_items (collection_id, external_image_url) values ($1, 'https://example.test/draft.jpg')",
            &[&draft],
        )
        .await
        .unwrap();

    // The owner deletes a render that is featured in the gallery.
    let gone =
        as_user(&app, &owner, "delete from public.renders where id = $1", &[(&deleted, Type::UUID)]).await.unwrap();
    assert_eq!(gone, 1);

    let feed = feed_as_anon(&app).await;
    let items: Vec<String> = feed.iter().map(|r| r["item_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(items, vec![kept_item.to_string(), external.to_string()], "{feed:?}");
    assert!(feed.iter().all(|r| r["collection_id"] == live.to_string()), "{feed:?}");
    assert_eq!(feed[1]["image_path"], serde_json::Value::Null);
    assert_eq!(feed[1]["external_image_url"], "https://example.test/a.jpg");
}

// ------------------------------------------------ ensure_default_favorites()

/// Calls `public.ensure_default_favorites()` and returns the favorites id,
/// whether the function returns the id or the collection row.
async fn ensure_favorites(tx: &mut shared::db::Tx) -> Result<Uuid, DbError> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_default_favorites_recreates_missing_favorites_exactly_once_under_concurrency() {
    let app = TestApp::spawn_with_pool_size(10).await;
    let user = app.create_user().await;
    let bystander = app.create_user().await;
    let original = favorites_of(&app, &user).await.unwrap();
    let bystanders_favorites = favorites_of(&app, &bystander).await.unwrap();

    // Present: returned as is, nothing created.
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let same = ensure_favorites(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(same, original);

    // Missing (an operator removed it): ten concurrent calls recreate it once.
    app.admin().execute("delete from public.collections where id = $1", &[&original]).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(10));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let db = app.db.clone();
        let identity = user.identity.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tx = db.as_user(&identity).await?;
            let id = ensure_favorites(&mut tx).await?;
            tx.commit().await?;
            Ok::<Uuid, DbError>(id)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap());
    }
    let recreated = ids[0];
    assert!(ids.iter().all(|id| *id == recreated), "calls disagree: {ids:?}");
    assert_ne!(recreated, original);
    assert_eq!(app.count(&format!("public.collections where owner_id = '{}'", user.id)).await, 1);
    let row = app
        .admin()
        .query_one("select name, is_default_favorites from public.collections where id = $1", &[&recreated])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "My Favorites");
    assert!(row.get::<_, bool>(1));

    // Once more: still the same one.
    let mut tx = app.db.as_user(&user.identity).await.unwrap();
    let again = ensure_favorites(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again, recreated);
    // Nobody else's favorites were touched.
    assert_eq!(favorites_of(&app, &bystander).await, Some(bystanders_favorites));
    assert_eq!(app.count(&format!("public.collections where owner_id = '{}'", bystander.id)).await, 1);
}
