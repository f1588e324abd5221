//! SECURITY.md 1-2: users writing their own ledger, and upgrading their own plan.

use crate::support::*;
use shared::db::Type;
use testkit::TestApp;
use uuid::Uuid;

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
