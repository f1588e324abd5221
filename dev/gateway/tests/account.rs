//! `DELETE /api/v1/me` (issue 15): everything the caller owns goes, in the
//! tables and in both buckets, nothing of anyone else's changes, a running
//! prediction is canceled, storage failing half-way is finished by a retry,
//! and the erased account's still-valid token creates nothing.

mod support;

use replicate_sim::{Behaviour, Outcome, WebhookMode};
use serde_json::json;
use shared::storage::{PRIVATE_BUCKET, PUBLIC_BUCKET};
use support::{render_of, Api};
use testkit::{S3Choice, TestUser};
use uuid::Uuid;

/// Tables where a user's rows live, with the column naming the owner.
const OWNED: [(&str, &str); 6] = [
    ("public.profiles", "id"),
    ("public.generation_jobs", "owner_id"),
    ("public.renders", "owner_id"),
    ("public.render_variants", "owner_id"),
    ("public.collections", "owner_id"),
    ("public.usage_ledger", "owner_id"),
];

async fn rows_of(api: &Api, user: &TestUser) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for (table, column) in OWNED {
        counts.push((table, api.count(&format!("{table} where {column} = '{}'", user.id)).await));
    }
    counts
}

/// Every object of both buckets that belongs to `user`: their uploads (by
/// prefix) and their renders' images and thumbnails (by render id).
fn objects_of(api: &Api, user: &TestUser, render_ids: &[Uuid]) -> Vec<String> {
    let s3 = api.stack.s3();
    let mut keys: Vec<String> =
        s3.object_keys(PRIVATE_BUCKET).into_iter().filter(|k| k.starts_with(&format!("{}/", user.id))).collect();
    keys.extend(
        s3.object_keys(PUBLIC_BUCKET)
            .into_iter()
            .filter(|k| render_ids.iter().any(|id| k.starts_with(&format!("renders/{id}/")))),
    );
    keys
}

/// A finished redesign (input, two outputs with thumbnails), a favourite, a
/// collection with the render, and the render shown in the community feed.
async fn a_user_with_everything(api: &Api) -> (TestUser, Uuid) {
    let user = api.stack.create_user().await;
    api.stack.app.set_plan(&user, Some("price_monthly"), true).await;
    api.stack.sim.set_behaviour(Behaviour { outputs: 2, ..Behaviour::default() }, Some(1));
    let input = api.upload(&user).await;
    let (status, body) = api.submit_redesign(&user, &input).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["data"]["id"].as_str().unwrap().to_string();
    api.wait_for(&user, &job_id, "succeeded").await;
    let render_id = render_of(&job_id);
    let (status, _) = api.call("POST", "/favorites/toggle", Some(&user), Some(json!({"renderId": render_id}))).await;
    assert_eq!(status, 200);
    let (status, created) = api.call("POST", "/collections", Some(&user), Some(json!({"name": "Kitchen"}))).await;
    assert_eq!(status, 201, "{created}");
    let kitchen = created["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = api.call("PUT", &format!("/collections/{kitchen}/items/{render_id}"), Some(&user), None).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    // An extra upload no job names.
    api.upload(&user).await;
    (user, render_id)
}

async fn curate(api: &Api, render_id: Uuid) -> Uuid {
    let admin = api.stack.app.admin();
    let collection: Uuid = admin
        .query_one("insert into public.community_collections (title) values ('Editors'' picks') returning id", &[])
        .await
        .unwrap()
        .get(0);
    admin
        .execute(
            "insert into public.community_items (collection_id, render_id) values ($1, $2)",
            &[&collection, &render_id],
        )
        .await
        .unwrap();
    collection
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_my_account_leaves_nothing_of_mine_and_changes_nothing_of_others() {
    let api = Api::start_with(S3Choice::Dedicated).await;
    let (me, my_render) = a_user_with_everything(&api).await;
    let (other, their_render) = a_user_with_everything(&api).await;
    let picks = curate(&api, my_render).await;
    curate(&api, their_render).await;
    // A job of mine still running at Replicate.
    api.stack.sim.set_behaviour(
        Behaviour { outcome: Outcome::Hang, webhook: WebhookMode::None, ..Behaviour::default() },
        Some(1),
    );
    let (status, body) = api.submit_imagine(&me).await;
    assert_eq!(status, 202, "{body}");
    let running = api.prediction_id(body["data"]["id"].as_str().unwrap()).await;

    assert!(!objects_of(&api, &me, &[my_render]).is_empty());
    let theirs_before = (rows_of(&api, &other).await, objects_of(&api, &other, &[their_render]));

    let (status, body) = api.call("DELETE", "/me", Some(&me), None).await;
    assert_eq!(status, 204, "{body}");

    assert!(rows_of(&api, &me).await.iter().all(|(_, n)| *n == 0), "{:?}", rows_of(&api, &me).await);
    assert_eq!(api.count(&format!("auth.users where id = '{}'", me.id)).await, 0, "the Auth user is deleted");
    assert_eq!(api.count(&format!("auth.users where id = '{}'", other.id)).await, 1);
    assert_eq!(api.count(&format!("public.collection_items where render_id = '{my_render}'")).await, 0);
    assert_eq!(api.count(&format!("public.community_items where render_id = '{my_render}'")).await, 0);
    assert_eq!(
        api.count(&format!("public.community_collections where id = '{picks}'")).await,
        1,
        "the collection stays"
    );
    assert_eq!(objects_of(&api, &me, &[my_render]), Vec::<String>::new(), "no object of mine is left");
    assert_eq!(api.count("private.erasure_objects").await, 0);
    assert_eq!(api.stack.sim.prediction(&running).unwrap()["status"], "canceled");
    // Nobody else's rows or objects changed.
    assert_eq!((rows_of(&api, &other).await, objects_of(&api, &other, &[their_render])), theirs_before);
    assert_eq!(api.count(&format!("public.community_items where render_id = '{their_render}'")).await, 1);

    // Again: nothing left to do, the same answer.
    let (status, body) = api.call("DELETE", "/me", Some(&me), None).await;
    assert_eq!(status, 204, "{body}");

    // The token still verifies until it expires, but it creates nothing.
    let (status, body) = api.submit_imagine(&me).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")), "{body}");
    let (status, body) = api.call("GET", "/collections", Some(&me), None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = api.call("GET", "/renders", Some(&me), None).await;
    assert_eq!((status, body["data"]["items"].as_array().map(Vec::len)), (200, Some(0)));
    assert!(rows_of(&api, &me).await.iter().all(|(_, n)| *n == 0));
}

#[tokio::test]
async fn storage_down_half_way_answers_503_and_a_retry_finishes() {
    let api = Api::start_with(S3Choice::Dedicated).await;
    let (me, my_render) = a_user_with_everything(&api).await;
    api.stack.s3().stop();
    let (status, body) = api.call("DELETE", "/me", Some(&me), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "{body}");
    // The rows went in the first transaction; the objects are written down.
    assert_eq!(api.count(&format!("public.profiles where id = '{}'", me.id)).await, 0);
    assert!(api.count("private.erasure_objects").await > 0);
    api.stack.s3().start();
    let (status, body) = api.call("DELETE", "/me", Some(&me), None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(objects_of(&api, &me, &[my_render]), Vec::<String>::new());
    assert_eq!(api.count("private.erasure_objects").await, 0);
}

/// Submits racing the erasure: each either committed its job before the
/// erasure began (and is erased with the rest) or is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submits_racing_the_delete_are_refused_or_erased_too() {
    let api = Api::start().await;
    let me = api.stack.create_user().await;
    api.stack.app.set_plan(&me, Some("price_monthly"), true).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let http = api.http.clone();
        let token = me.token.clone();
        let (me_url, submit_url) = (api.stack.api_url("/me"), api.stack.api_url("/generations"));
        tasks.spawn(async move {
            let request = if n == 6 {
                http.delete(me_url)
            } else {
                http.post(submit_url).json(&json!({"mode": "imagine", "prompt": "a loft"}))
            };
            request.bearer_auth(token).send().await.unwrap().status().as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    assert!(statuses.iter().all(|s| [202, 204, 401, 409].contains(s)), "{statuses:?}");
    // Whatever got in before is erased by a call after the race.
    let (status, body) = api.call("DELETE", "/me", Some(&me), None).await;
    assert_eq!(status, 204, "{body}");
    assert!(rows_of(&api, &me).await.iter().all(|(_, n)| *n == 0), "{:?}", rows_of(&api, &me).await);
    let (status, _) = api.submit_imagine(&me).await;
    assert_eq!(status, 401);
}

/// More objects than one call deletes: the answer says the rest continues,
/// and the sweeper finishes it.
#[tokio::test]
async fn a_large_account_is_finished_by_the_sweeper() {
    let api = Api::start_with(S3Choice::Dedicated).await;
    let (me, my_render) = a_user_with_everything(&api).await;
    let services = &api.stack.services;
    // A budget of 2 objects stands in for thousands of images.
    let first = shared::flows::erase::erase_account(services, me.id, 2).await.unwrap();
    let shared::flows::erase::Erasure::Continuing { left } = first else { panic!("{first:?}") };
    assert!(left > 0);
    assert_eq!(objects_of(&api, &me, &[my_render]).len() as i64, left);
    let report = shared::flows::sweep::sweep(services).await.unwrap();
    assert_eq!(report.erasures_finished, 1);
    assert_eq!(objects_of(&api, &me, &[my_render]), Vec::<String>::new());
    let again = shared::flows::sweep::sweep(services).await.unwrap();
    assert_eq!(again.erasures_finished, 0, "nothing is left to continue");
}

/// The export: every job (one in flight too) with its render, variants,
/// thumbnails, input photo and charge, the collections and the plan, page
/// by page; every URL downloads; nobody else's data is in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_holds_everything_of_mine_and_nothing_of_others() {
    let api = Api::start().await;
    let (me, my_render) = a_user_with_everything(&api).await;
    let (other, their_render) = a_user_with_everything(&api).await;
    curate(&api, my_render).await;
    api.stack.sim.set_behaviour(
        Behaviour { outcome: Outcome::Hang, webhook: WebhookMode::None, ..Behaviour::default() },
        Some(1),
    );
    let (status, body) = api.submit_imagine(&me).await;
    assert_eq!(status, 202, "{body}");
    let running = body["data"]["id"].as_str().unwrap().to_string();

    // One job a page, to walk the cursor.
    let mut pages = Vec::new();
    let mut path = "/me/export?limit=1".to_string();
    loop {
        let (status, body) = api.call("GET", &path, Some(&me), None).await;
        assert_eq!(status, 200, "{body}");
        let data = body["data"].clone();
        pages.push(data.clone());
        match data["nextCursor"].as_str() {
            Some(cursor) => path = format!("/me/export?limit=1&cursor={cursor}"),
            None => break,
        }
        assert!(pages.len() < 10, "the cursor ends");
    }
    let first = &pages[0];
    assert_eq!(first["account"]["userId"], me.id.to_string());
    assert_eq!(first["account"]["plan"], "monthly", "{first}");
    assert!(pages[1..].iter().all(|page| page.get("account").is_none()), "the head comes once");
    let collections = first["collections"].as_array().unwrap();
    assert_eq!(collections.len(), 2);
    assert_eq!(collections[0]["isDefaultFavorites"], true);
    assert!(collections.iter().all(|c| c["renderIds"] == json!([my_render.to_string()])), "{collections:?}");

    let jobs: Vec<&serde_json::Value> = pages.iter().flat_map(|page| page["jobs"].as_array().unwrap()).collect();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!(jobs[0]["id"], running.as_str(), "newest first");
    assert_eq!(jobs[0]["status"], "processing");
    assert!(jobs[0]["render"].is_null());
    let done = jobs[1];
    assert_eq!(done["render"]["id"], my_render.to_string());
    assert_eq!(done["render"]["isFavorite"], true);
    assert_eq!(done["charges"].as_array().unwrap().len(), 1, "{done}");
    assert_eq!(done["charges"][0]["kind"], "generation_debit");
    let mut urls: Vec<&str> = done["inputUrls"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    for variant in done["render"]["variants"].as_array().unwrap() {
        urls.push(variant["imageUrl"].as_str().unwrap());
        urls.push(variant["thumbUrl"].as_str().unwrap());
    }
    assert_eq!(urls.len(), 5, "one input, two images, two thumbnails");
    for url in urls {
        assert!(url.contains("X-Amz-Expires="), "time-limited: {url}");
        let response = api.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
    }
    let everything = serde_json::to_string(&pages).unwrap();
    assert!(!everything.contains(&other.id.to_string()) && !everything.contains(&their_render.to_string()));

    let (status, _) = api.call("GET", "/me/export", None, None).await;
    assert_eq!(status, 401);
    let (status, body) = api.call("GET", "/me/export?cursor=nonsense", Some(&me), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("VALIDATION_ERROR")));
}

/// Supabase Auth down after everything else is gone: 503, and a retry
/// deletes the Auth user.
#[tokio::test]
async fn auth_down_answers_503_and_a_retry_deletes_the_auth_user() {
    let api = Api::start().await;
    let me = api.stack.create_user().await;
    api.upload(&me).await;
    api.stack.auth_admin.set_down(true);
    let (status, body) = api.call("DELETE", "/me", Some(&me), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "{body}");
    assert_eq!(api.count(&format!("public.profiles where id = '{}'", me.id)).await, 0);
    assert_eq!(api.count(&format!("auth.users where id = '{}'", me.id)).await, 1);
    api.stack.auth_admin.set_down(false);
    let (status, body) = api.call("DELETE", "/me", Some(&me), None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(api.count(&format!("auth.users where id = '{}'", me.id)).await, 0);
    assert_eq!(api.count("private.account_erasures where finished_at is null").await, 0);
}
