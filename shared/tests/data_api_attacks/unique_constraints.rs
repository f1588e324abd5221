//! SECURITY.md 10: what may exist once per job or per user, even for the service.

use crate::support::*;
use shared::db::Type;
use testkit::TestApp;

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
