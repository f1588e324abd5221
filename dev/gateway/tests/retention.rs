//! Keep little (issue 15): uploaded inputs go `INPUT_RETENTION_DAYS` after
//! their last job (or after their upload when no job used them), by the
//! sweeper; renders stay, and the render's "before" reads as expired.

mod support;

use shared::storage::PRIVATE_BUCKET;
use support::{render_of, Api};
use uuid::Uuid;

async fn stored(api: &Api, path: &str) -> bool {
    let key = path.strip_prefix("private/").unwrap();
    api.stack.services.storage.get(PRIVATE_BUCKET, key).await.unwrap().is_some()
}

/// Moves an upload and the jobs that used it `days` into the past.
async fn age(api: &Api, path: &str, days: f64) {
    let admin = api.stack.app.admin();
    let key = path.strip_prefix("private/").unwrap();
    let seconds = days * 86_400.0;
    admin
        .execute(
            "update private.uploads set created_at = now() - make_interval(secs => $2) where key = $1",
            &[&key, &seconds],
        )
        .await
        .unwrap();
    admin
        .execute(
            "update public.generation_jobs set created_at = now() - make_interval(secs => $2)
              where input1_path = $1 or input2_path = $1",
            &[&path, &seconds],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn inputs_go_after_their_retention_and_read_as_expired() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let old_photo = api.upload(&user).await;
    let (status, body) = api.submit_redesign(&user, &old_photo).await;
    assert_eq!(status, 202, "{body}");
    let old_job = body["data"]["id"].as_str().unwrap().to_string();
    api.wait_for(&user, &old_job, "succeeded").await;
    let recent_photo = api.upload(&user).await;
    let (status, body) = api.submit_redesign(&user, &recent_photo).await;
    assert_eq!(status, 202, "{body}");
    let recent_job = body["data"]["id"].as_str().unwrap().to_string();
    api.wait_for(&user, &recent_job, "succeeded").await;
    let never_used = api.upload(&user).await;
    let fresh_unused = api.upload(&user).await;

    age(&api, &old_photo, 31.0).await;
    age(&api, &recent_photo, 29.0).await;
    age(&api, &never_used, 31.0).await;
    let report = shared::flows::sweep::sweep(&api.stack.services).await.unwrap();
    assert_eq!(report.inputs_expired, 2, "{report:?}");
    assert!(!stored(&api, &old_photo).await && !stored(&api, &never_used).await);
    assert!(stored(&api, &recent_photo).await && stored(&api, &fresh_unused).await);

    // The render stays; its "before" says expired.
    let render_id: Uuid = render_of(&old_job);
    let (status, detail) = api.call("GET", &format!("/renders/{render_id}"), Some(&user), None).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["data"]["inputs"][0]["expired"], true, "{detail}");
    assert!(detail["data"]["inputs"][0]["url"].is_null());
    let image = api.http.get(detail["data"]["variants"][0]["imageUrl"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(image.status(), 200);
    let job = api.job(&user, &old_job).await;
    assert_eq!(job["inputs"][0]["expired"], true, "{job}");
    let job = api.job(&user, &recent_job).await;
    assert_eq!(job["inputs"][0]["expired"], false, "{job}");

    // Nothing more to do.
    let again = shared::flows::sweep::sweep(&api.stack.services).await.unwrap();
    assert_eq!(again.inputs_expired, 0);
}
