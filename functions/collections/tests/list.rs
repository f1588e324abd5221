//! `GET /collections`: My Favorites first, counts and covers, and a missing
//! My Favorites recreated once however many lists race.

mod support;

use serde_json::json;
use support::create;
use testkit::TestStack;
use uuid::Uuid;

#[tokio::test]
async fn the_list_puts_my_favorites_first_with_counts_and_covers() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let other = stack.create_user().await;
    let (_, first) = stack.app.seed_render(&user, 2).await;
    let (_, second) = stack.app.seed_render(&user, 1).await;
    let kitchen = create(&stack, &user, "Kitchen").await;
    let empty = create(&stack, &user, "Empty").await;
    create(&stack, &other, "Not mine").await;
    for render in [first, second] {
        let (status, body) = stack
            .call(
                collections::handle,
                "PUT",
                &format!("/collections/{kitchen}/items/{render}"),
                Some(&user.token),
                None,
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }
    let (status, body) = stack
        .call(collections::handle, "POST", "/favorites/toggle", Some(&user.token), Some(json!({"renderId": first})))
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = stack.call(collections::handle, "GET", "/collections", Some(&user.token), None).await;
    assert_eq!(status, 200, "{body}");
    let items = body["data"]["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["My Favorites", "Kitchen", "Empty"], "favorites first, then oldest first; only mine");
    let favorites = &items[0];
    assert_eq!(favorites["isDefaultFavorites"], true);
    assert_eq!(favorites["itemCount"], 1);
    let cover = |render: Uuid| format!("{}/storage/v1/object/public/public/renders/{render}/0.jpg", stack.base_url);
    assert_eq!(favorites["coverImageUrl"], cover(first));
    assert_eq!(items[1]["id"], kitchen.to_string());
    assert_eq!(items[1]["isDefaultFavorites"], false);
    assert_eq!(items[1]["itemCount"], 2);
    assert_eq!(items[1]["coverImageUrl"], cover(second), "cover of the most recently added render");
    assert_eq!(items[2]["id"], empty.to_string());
    assert_eq!((items[2]["itemCount"].as_i64(), items[2]["coverImageUrl"].is_null()), (Some(0), true));
    let mut keys: Vec<&str> = items[2].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["coverImageUrl", "coverThumbUrl", "createdAt", "id", "isDefaultFavorites", "itemCount", "name"]);
}

#[tokio::test]
async fn missing_my_favorites_comes_back_once_under_concurrent_lists() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    create(&stack, &user, "Kitchen").await;
    stack
        .app
        .admin()
        .execute("delete from public.collections where owner_id = $1 and is_default_favorites", &[&user.id])
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let services = stack.services.clone();
        let request = stack.request("GET", "/collections", Some(&user.token), None);
        tasks.spawn(async move { collections::handle(&services, request).await });
    }
    let mut favorite_ids = Vec::new();
    while let Some(response) = tasks.join_next().await {
        let response = response.unwrap();
        let body = testkit::stack::json(&response);
        assert_eq!(response.status(), 200, "{body}");
        let items = body["data"]["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{body}");
        assert_eq!(items[0]["name"], "My Favorites", "{body}");
        assert_eq!(items[0]["isDefaultFavorites"], true);
        assert_eq!(items[0]["itemCount"], 0);
        assert_eq!(items[1]["name"], "Kitchen");
        favorite_ids.push(items[0]["id"].as_str().unwrap().to_string());
    }
    favorite_ids.dedup();
    assert_eq!(favorite_ids.len(), 1, "every answer names the same My Favorites");
    assert_eq!(
        stack.app.count(&format!("public.collections where owner_id = '{}' and is_default_favorites", user.id)).await,
        1
    );
}
