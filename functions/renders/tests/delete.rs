//! `DELETE /renders/{id}`: rows and stored images go together; with storage
//! down nothing changes and a retry completes the delete.

mod support;

use support::{object_exists, store_images};
use testkit::{error_code, S3Choice, TestStack};

#[tokio::test]
async fn deleting_removes_images_variants_and_collection_items_but_keeps_the_job() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (job_id, render_id) = stack.app.seed_render(&user, 3).await;
    let (_, kept) = stack.app.seed_render(&user, 1).await;
    let keys = store_images(&stack, render_id).await;
    let kept_keys = store_images(&stack, kept).await;
    stack
        .app
        .admin()
        .execute(
            "insert into public.collection_items (collection_id, render_id)
             select id, $2 from public.collections where owner_id = $1",
            &[&user.id, &render_id],
        )
        .await
        .unwrap();

    let (status, body) =
        stack.call(renders::handle, "DELETE", &format!("/renders/{render_id}"), Some(&user.token), None).await;
    assert_eq!(status, 204, "{body}");
    assert!(body.is_null(), "no body");
    for key in &keys {
        assert!(!object_exists(&stack, key).await, "{key} removed from storage");
    }
    assert_eq!(stack.app.count(&format!("public.renders where id = '{render_id}'")).await, 0);
    assert_eq!(stack.app.count(&format!("public.render_variants where render_id = '{render_id}'")).await, 0);
    assert_eq!(stack.app.count(&format!("public.collection_items where render_id = '{render_id}'")).await, 0);
    assert_eq!(stack.app.count(&format!("public.generation_jobs where id = '{job_id}'")).await, 1, "the job stays");
    // The other render is untouched.
    assert!(object_exists(&stack, &kept_keys[0]).await);
    assert_eq!(stack.app.count("public.renders").await, 1);

    let (status, body) =
        stack.call(renders::handle, "GET", &format!("/renders/{render_id}"), Some(&user.token), None).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"));
    let (status, body) =
        stack.call(renders::handle, "DELETE", &format!("/renders/{render_id}"), Some(&user.token), None).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"), "already gone");
}

#[tokio::test]
async fn images_already_missing_do_not_block_the_delete() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    // Rows only: no object was ever stored under these keys.
    let (_, render_id) = stack.app.seed_render(&user, 2).await;
    let (status, body) =
        stack.call(renders::handle, "DELETE", &format!("/renders/{render_id}"), Some(&user.token), None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(stack.app.count("public.renders").await, 0);
}

#[tokio::test]
async fn storage_down_answers_503_changes_nothing_and_a_retry_completes() {
    let stack = TestStack::spawn_with(S3Choice::Dedicated).await;
    let user = stack.create_user().await;
    let (job_id, render_id) = stack.app.seed_render(&user, 2).await;
    let keys = store_images(&stack, render_id).await;

    stack.s3().stop();
    let (status, body) =
        stack.call(renders::handle, "DELETE", &format!("/renders/{render_id}"), Some(&user.token), None).await;
    assert_eq!((status, error_code(&body)), (503, "SERVICE_UNAVAILABLE"), "{body}");
    stack.s3().start();
    assert_eq!(stack.app.count(&format!("public.renders where id = '{render_id}'")).await, 1, "render kept");
    assert_eq!(stack.app.count(&format!("public.render_variants where render_id = '{render_id}'")).await, 2);
    for key in &keys {
        assert!(object_exists(&stack, key).await, "{key} kept");
    }

    let (status, body) =
        stack.call(renders::handle, "DELETE", &format!("/renders/{render_id}"), Some(&user.token), None).await;
    assert_eq!(status, 204, "the retry completes: {body}");
    for key in &keys {
        assert!(!object_exists(&stack, key).await, "{key} removed");
    }
    assert_eq!(stack.app.count(&format!("public.renders where id = '{render_id}'")).await, 0);
    assert_eq!(stack.app.count(&format!("public.generation_jobs where id = '{job_id}'")).await, 1);
}
