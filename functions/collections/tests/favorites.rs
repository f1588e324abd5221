//! `POST /favorites/toggle`: in and out of My Favorites.

mod support;

use serde_json::json;
use support::{bulk_renders, favorites_id, item_count};
use testkit::{error_code, TestStack};
use uuid::Uuid;

#[tokio::test]
async fn toggling_twice_adds_then_removes() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    let favorites = favorites_id(&stack, &user).await;
    for expected in [true, false, true] {
        let (status, body) = stack
            .call(
                collections::handle,
                "POST",
                "/favorites/toggle",
                Some(&user.token),
                Some(json!({"renderId": render})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"], json!({ "isFavorite": expected }));
        assert_eq!(item_count(&stack, favorites).await, i64::from(expected));
    }
}

#[tokio::test]
async fn concurrent_toggles_apply_one_after_the_other() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let services = stack.services.clone();
        let request = stack.request("POST", "/favorites/toggle", Some(&user.token), Some(json!({"renderId": render})));
        tasks.spawn(async move { collections::handle(&services, request).await });
    }
    let mut answers = Vec::new();
    while let Some(response) = tasks.join_next().await {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        answers.push(testkit::stack::json(&response)["data"]["isFavorite"].as_bool().unwrap());
    }
    answers.sort_unstable();
    assert_eq!(answers, [false, false, false, true, true, true], "each answer is the state its toggle left");
    assert_eq!(item_count(&stack, favorites_id(&stack, &user).await).await, 0, "an even number of toggles");
}

#[tokio::test]
async fn another_users_render_is_not_found_like_a_missing_one() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let owner = stack.create_user().await;
    let (_, theirs) = stack.app.seed_render(&owner, 1).await;
    let (status, foreign) = stack
        .call(collections::handle, "POST", "/favorites/toggle", Some(&user.token), Some(json!({"renderId": theirs})))
        .await;
    let (_, missing) = stack
        .call(
            collections::handle,
            "POST",
            "/favorites/toggle",
            Some(&user.token),
            Some(json!({"renderId": Uuid::new_v4()})),
        )
        .await;
    assert_eq!((status, error_code(&foreign)), (404, "NOT_FOUND"));
    assert_eq!(foreign, missing);
    assert_eq!(stack.app.count("public.collection_items").await, 0);
}

#[tokio::test]
async fn a_bad_render_id_is_400_with_details() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    for body in [json!({}), json!({"renderId": null}), json!({"renderId": "nope"}), json!({"renderId": 7})] {
        let (status, answer) =
            stack.call(collections::handle, "POST", "/favorites/toggle", Some(&user.token), Some(body.clone())).await;
        assert_eq!((status, error_code(&answer)), (400, "VALIDATION_ERROR"), "{body}: {answer}");
        assert!(answer["error"]["details"]["renderId"].is_string(), "{body}: {answer}");
    }
    let (status, _) = stack.call(collections::handle, "POST", "/favorites/toggle", Some(&user.token), None).await;
    assert_eq!(status, 400, "no body");
}

#[tokio::test]
async fn toggling_recreates_a_missing_my_favorites() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    stack.app.admin().execute("delete from public.collections where owner_id = $1", &[&user.id]).await.unwrap();
    let (status, body) = stack
        .call(collections::handle, "POST", "/favorites/toggle", Some(&user.token), Some(json!({"renderId": render})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["isFavorite"], true);
    assert_eq!(item_count(&stack, favorites_id(&stack, &user).await).await, 1);
}

#[tokio::test]
async fn my_favorites_is_capped_like_any_collection() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let renders = bulk_renders(&stack, &user, 1001).await;
    let favorites = favorites_id(&stack, &user).await;
    stack
        .app
        .admin()
        .execute(
            "insert into public.collection_items (collection_id, render_id) select $1, unnest($2::uuid[])",
            &[&favorites, &renders[..1000].to_vec()],
        )
        .await
        .unwrap();
    let (status, body) = stack
        .call(
            collections::handle,
            "POST",
            "/favorites/toggle",
            Some(&user.token),
            Some(json!({"renderId": renders[1000]})),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "RESOURCE_CONFLICT"), "{body}");
    // Taking one out is always possible.
    let (status, body) = stack
        .call(
            collections::handle,
            "POST",
            "/favorites/toggle",
            Some(&user.token),
            Some(json!({"renderId": renders[0]})),
        )
        .await;
    assert_eq!((status, body["data"]["isFavorite"].as_bool()), (200, Some(false)));
    assert_eq!(item_count(&stack, favorites).await, 999);
}
