//! `POST /collections`, `PATCH/DELETE /collections/{id}`: name rules, caps,
//! My Favorites protections, other users' collections.

mod support;

use serde_json::json;
use support::{create, favorites_id};
use testkit::{error_code, TestStack};
use uuid::Uuid;

#[tokio::test]
async fn creating_trims_the_name_and_answers_201() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (status, body) = stack
        .call(collections::handle, "POST", "/collections", Some(&user.token), Some(json!({"name": "  Living room  "})))
        .await;
    assert_eq!(status, 201, "{body}");
    let data = &body["data"];
    assert_eq!(data["name"], "Living room");
    assert_eq!(data["isDefaultFavorites"], false);
    assert_eq!(data["itemCount"], 0);
    assert!(data["coverImageUrl"].is_null());
    assert!(data["createdAt"].is_string());
    let id: Uuid = data["id"].as_str().unwrap().parse().unwrap();
    let stored: String = stack
        .app
        .admin()
        .query_one("select name from public.collections where id = $1 and owner_id = $2", &[&id, &user.id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, "Living room");
    let exactly_100 = "é".repeat(100);
    let (status, body) = stack
        .call(collections::handle, "POST", "/collections", Some(&user.token), Some(json!({"name": exactly_100})))
        .await;
    assert_eq!(status, 201, "100 characters (not bytes) is fine: {body}");
}

#[tokio::test]
async fn bad_names_are_400_with_details_name() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let kitchen = create(&stack, &user, "Kitchen").await;
    let before = stack.app.count("public.collections").await;
    for body in [
        json!({"name": ""}),
        json!({"name": "    "}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "two\nlines"}),
        json!({"name": null}),
        json!({"name": 42}),
        json!({}),
    ] {
        for (method, path) in [("POST", "/collections".to_string()), ("PATCH", format!("/collections/{kitchen}"))] {
            let (status, answer) =
                stack.call(collections::handle, method, &path, Some(&user.token), Some(body.clone())).await;
            assert_eq!((status, error_code(&answer)), (400, "VALIDATION_ERROR"), "{method} {body}: {answer}");
            assert!(answer["error"]["details"]["name"].is_string(), "{method} {body}: {answer}");
        }
    }
    // Not JSON at all, or no body.
    let request = stack.request("POST", "/collections", Some(&user.token), None);
    let response = collections::handle(&stack.services, request).await;
    assert_eq!(response.status(), 400);
    let mut request = stack.request("POST", "/collections", Some(&user.token), None);
    *request.body_mut() = lambda_http::Body::Text("{name:".into());
    assert_eq!(collections::handle(&stack.services, request).await.status(), 400);
    assert_eq!(stack.app.count("public.collections").await, before, "nothing created");
}

#[tokio::test]
async fn names_are_unique_per_user_ignoring_case_and_spaces() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let other = stack.create_user().await;
    let kitchen = create(&stack, &user, "Kitchen").await;
    let bath = create(&stack, &user, "Bath").await;
    create(&stack, &other, "Kitchen").await; // other users' names do not count

    for name in ["kitchen", " KITCHEN ", "my favorites"] {
        let (status, body) = stack
            .call(collections::handle, "POST", "/collections", Some(&user.token), Some(json!({ "name": name })))
            .await;
        assert_eq!((status, error_code(&body)), (409, "RESOURCE_CONFLICT"), "{name}: {body}");
        assert!(body["error"]["details"]["name"].is_string());
    }
    let (status, body) = stack
        .call(
            collections::handle,
            "PATCH",
            &format!("/collections/{bath}"),
            Some(&user.token),
            Some(json!({"name": "KITCHEN"})),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "RESOURCE_CONFLICT"), "{body}");
    // Renaming a collection to its own name in another case is fine.
    let (status, body) = stack
        .call(
            collections::handle,
            "PATCH",
            &format!("/collections/{kitchen}"),
            Some(&user.token),
            Some(json!({"name": "KITCHEN"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "KITCHEN");
}

#[tokio::test]
async fn at_most_100_collections_even_under_concurrent_creates() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    // My Favorites + 94 = 95; ten concurrent creates: exactly five fit.
    stack
        .app
        .admin()
        .execute(
            "insert into public.collections (owner_id, name) select $1, 'c' || n from generate_series(1, 94) n",
            &[&user.id],
        )
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..10 {
        let services = stack.services.clone();
        let request =
            stack.request("POST", "/collections", Some(&user.token), Some(json!({"name": format!("new {n}")})));
        tasks.spawn(async move { collections::handle(&services, request).await });
    }
    let mut statuses = Vec::new();
    while let Some(response) = tasks.join_next().await {
        let response = response.unwrap();
        let body = testkit::stack::json(&response);
        if response.status() == 409 {
            assert_eq!(error_code(&body), "RESOURCE_CONFLICT");
            assert_eq!(body["error"]["details"]["limit"], 100);
        }
        statuses.push(response.status().as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 201, 201, 201, 409, 409, 409, 409, 409]);
    assert_eq!(stack.app.count(&format!("public.collections where owner_id = '{}'", user.id)).await, 100);

    // Deleting one makes room again.
    let last = create_fails_then_room(&stack, &user).await;
    assert_eq!(last, 201);
}

async fn create_fails_then_room(stack: &TestStack, user: &testkit::TestUser) -> u16 {
    let (status, _) = stack
        .call(collections::handle, "POST", "/collections", Some(&user.token), Some(json!({"name": "one more"})))
        .await;
    assert_eq!(status, 409);
    let victim: Uuid = stack
        .app
        .admin()
        .query_one("select id from public.collections where owner_id = $1 and name = 'c1'", &[&user.id])
        .await
        .unwrap()
        .get(0);
    let (status, _) =
        stack.call(collections::handle, "DELETE", &format!("/collections/{victim}"), Some(&user.token), None).await;
    assert_eq!(status, 204);
    stack
        .call(collections::handle, "POST", "/collections", Some(&user.token), Some(json!({"name": "one more"})))
        .await
        .0
}

#[tokio::test]
async fn renaming_returns_the_collection_with_its_count_and_cover() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    let kitchen = create(&stack, &user, "Kitchen").await;
    stack
        .call(collections::handle, "PUT", &format!("/collections/{kitchen}/items/{render}"), Some(&user.token), None)
        .await;
    let (status, body) = stack
        .call(
            collections::handle,
            "PATCH",
            &format!("/collections/{kitchen}"),
            Some(&user.token),
            Some(json!({"name": " Kitchens "})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "Kitchens");
    assert_eq!(body["data"]["itemCount"], 1);
    assert!(body["data"]["coverImageUrl"].as_str().unwrap().ends_with(&format!("renders/{render}/0.jpg")));
}

#[tokio::test]
async fn my_favorites_can_be_neither_renamed_nor_deleted() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let favorites = favorites_id(&stack, &user).await;
    let (status, body) = stack
        .call(
            collections::handle,
            "PATCH",
            &format!("/collections/{favorites}"),
            Some(&user.token),
            Some(json!({"name": "Loved"})),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{body}");
    assert_eq!(body["error"]["message"], "My Favorites cannot be renamed");
    let (status, body) =
        stack.call(collections::handle, "DELETE", &format!("/collections/{favorites}"), Some(&user.token), None).await;
    assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{body}");
    assert_eq!(body["error"]["message"], "My Favorites cannot be deleted");
    assert_eq!(
        stack
            .app
            .count(&format!(
                "public.collections where id = '{favorites}' and name = 'My Favorites' and is_default_favorites"
            ))
            .await,
        1
    );
}

#[tokio::test]
async fn deleting_a_collection_keeps_its_renders() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    let kitchen = create(&stack, &user, "Kitchen").await;
    stack
        .call(collections::handle, "PUT", &format!("/collections/{kitchen}/items/{render}"), Some(&user.token), None)
        .await;
    let (status, body) =
        stack.call(collections::handle, "DELETE", &format!("/collections/{kitchen}"), Some(&user.token), None).await;
    assert_eq!(status, 204, "{body}");
    assert!(body.is_null());
    assert_eq!(stack.app.count(&format!("public.collections where id = '{kitchen}'")).await, 0);
    assert_eq!(stack.app.count("public.collection_items").await, 0);
    assert_eq!(stack.app.count(&format!("public.renders where id = '{render}'")).await, 1);
    let (status, body) =
        stack.call(collections::handle, "DELETE", &format!("/collections/{kitchen}"), Some(&user.token), None).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"), "already gone");
}

#[tokio::test]
async fn another_users_collection_is_not_found_exactly_like_a_missing_one() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let owner = stack.create_user().await;
    let theirs = create(&stack, &owner, "Theirs").await;
    let their_favorites = favorites_id(&stack, &owner).await;
    let random = Uuid::new_v4();
    let rename = Some(json!({"name": "Mine now"}));
    for (method, body) in [("PATCH", rename.clone()), ("DELETE", None)] {
        let (_, missing) = stack
            .call(collections::handle, method, &format!("/collections/{random}"), Some(&user.token), body.clone())
            .await;
        for target in [theirs, their_favorites] {
            let (status, answer) = stack
                .call(collections::handle, method, &format!("/collections/{target}"), Some(&user.token), body.clone())
                .await;
            assert_eq!(status, 404, "{method} {target}: {answer}");
            assert_eq!(answer, missing, "{method}: no existence leak");
        }
        let (status, answer) =
            stack.call(collections::handle, method, "/collections/not-a-uuid", Some(&user.token), body.clone()).await;
        assert_eq!((status, error_code(&answer)), (404, "NOT_FOUND"));
    }
    let names: Vec<String> = stack
        .app
        .admin()
        .query("select name from public.collections where owner_id = $1 order by name", &[&owner.id])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(names, ["My Favorites", "Theirs"], "nothing of theirs changed");
}
