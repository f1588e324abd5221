//! SECURITY.md 3: jobs written straight through the Data API.

use crate::support::*;
use shared::db::Type;
use testkit::TestApp;

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
