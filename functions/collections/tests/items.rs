//! `GET /collections/{id}/items`, `PUT` and `DELETE
//! /collections/{id}/items/{renderId}`: paged like the gallery, idempotent
//! adds and removes, only the caller's own renders, a cap per collection.

mod support;

use support::{bulk_renders, create, favorites_id, item_count};
use testkit::{error_code, TestStack};
use uuid::Uuid;

#[tokio::test]
async fn items_page_like_the_gallery_newest_first() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let renders = bulk_renders(&stack, &user, 130).await;
    let kitchen = create(&stack, &user, "Kitchen").await;
    // 90 of them in the collection, added in no particular order.
    stack
        .app
        .admin()
        .execute(
            "insert into public.collection_items (collection_id, render_id) select $1, unnest($2::uuid[])",
            &[&kitchen, &renders[..90].to_vec()],
        )
        .await
        .unwrap();
    let expected: Vec<String> = stack
        .app
        .admin()
        .query(
            "select r.id::text from public.renders r join public.collection_items ci on ci.render_id = r.id
              where ci.collection_id = $1 order by r.created_at desc, r.id desc",
            &[&kitchen],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();

    let mut served = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, body) = stack
            .call(
                collections::handle,
                "GET",
                &format!("/collections/{kitchen}/items?limit=25&cursor={cursor}"),
                Some(&user.token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let items = body["data"]["items"].as_array().unwrap();
        served.extend(items.iter().map(|item| item["id"].as_str().unwrap().to_string()));
        match body["data"]["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(served, expected, "every item once, (created_at desc, id desc)");

    // Items have exactly the gallery's shape.
    let (_, body) = stack
        .call(
            collections::handle,
            "GET",
            &format!("/collections/{kitchen}/items?limit=1&style=modern"),
            Some(&user.token),
            None,
        )
        .await;
    let item = &body["data"]["items"][0];
    let mut keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "coverImageUrl",
            "coverThumbUrl",
            "coverVariant",
            "createdAt",
            "id",
            "isFavorite",
            "jobId",
            "mode",
            "roomType",
            "style",
            "variantCount"
        ]
    );
    assert_eq!(item["style"], "modern");
    assert!(item["coverImageUrl"].as_str().unwrap().starts_with(&stack.base_url));

    // An empty collection is an empty page, not a 404.
    let empty = create(&stack, &user, "Empty").await;
    let (status, body) =
        stack.call(collections::handle, "GET", &format!("/collections/{empty}/items"), Some(&user.token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], serde_json::json!({"items": [], "nextCursor": null}));
}

#[tokio::test]
async fn item_list_parameters_are_validated() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let favorites = favorites_id(&stack, &user).await;
    for (query, field) in
        [("limit=0", "limit"), ("limit=1000", "limit"), ("cursor=bogus", "cursor"), ("mode=x", "mode")]
    {
        let (status, body) = stack
            .call(
                collections::handle,
                "GET",
                &format!("/collections/{favorites}/items?{query}"),
                Some(&user.token),
                None,
            )
            .await;
        assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{query}: {body}");
        assert!(body["error"]["details"][field].is_string(), "{query}: {body}");
    }
}

#[tokio::test]
async fn adding_and_removing_are_idempotent() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    let kitchen = create(&stack, &user, "Kitchen").await;
    let path = format!("/collections/{kitchen}/items/{render}");
    for _ in 0..2 {
        let (status, body) = stack.call(collections::handle, "PUT", &path, Some(&user.token), None).await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(item_count(&stack, kitchen).await, 1);
    }
    let (_, body) =
        stack.call(collections::handle, "GET", &format!("/collections/{kitchen}/items"), Some(&user.token), None).await;
    assert_eq!(body["data"]["items"][0]["id"], render.to_string());
    for _ in 0..2 {
        let (status, body) = stack.call(collections::handle, "DELETE", &path, Some(&user.token), None).await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(item_count(&stack, kitchen).await, 0);
    }
    // Removing a render that never existed is just as fine.
    let (status, _) = stack
        .call(
            collections::handle,
            "DELETE",
            &format!("/collections/{kitchen}/items/{}", Uuid::new_v4()),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn only_the_callers_renders_and_collections() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let owner = stack.create_user().await;
    let (_, mine) = stack.app.seed_render(&user, 1).await;
    let (_, theirs) = stack.app.seed_render(&owner, 1).await;
    let my_collection = create(&stack, &user, "Mine").await;
    let their_collection = create(&stack, &owner, "Theirs").await;
    let their_render_in_their_collection = format!("/collections/{their_collection}/items/{theirs}");
    stack.call(collections::handle, "PUT", &their_render_in_their_collection, Some(&owner.token), None).await;

    // Another user's render into my collection: 404 like a missing render.
    let (status, foreign) = stack
        .call(
            collections::handle,
            "PUT",
            &format!("/collections/{my_collection}/items/{theirs}"),
            Some(&user.token),
            None,
        )
        .await;
    let (_, missing) = stack
        .call(
            collections::handle,
            "PUT",
            &format!("/collections/{my_collection}/items/{}", Uuid::new_v4()),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!((status, error_code(&foreign)), (404, "NOT_FOUND"));
    assert_eq!(foreign, missing, "no existence leak");

    // Anything on another user's collection: 404 like a missing collection.
    let random = Uuid::new_v4();
    for (method, suffix) in [("GET", String::new()), ("PUT", format!("/{mine}")), ("DELETE", format!("/{theirs}"))] {
        let (status, foreign) = stack
            .call(
                collections::handle,
                method,
                &format!("/collections/{their_collection}/items{suffix}"),
                Some(&user.token),
                None,
            )
            .await;
        let (_, missing) = stack
            .call(collections::handle, method, &format!("/collections/{random}/items{suffix}"), Some(&user.token), None)
            .await;
        assert_eq!((status, error_code(&foreign)), (404, "NOT_FOUND"), "{method}");
        assert_eq!(foreign, missing, "{method}: no existence leak");
    }
    for path in ["/collections/nope/items", &format!("/collections/{my_collection}/items/nope")] {
        let (status, body) = stack.call(collections::handle, "GET", path, Some(&user.token), None).await;
        assert!(status == 404 || status == 405, "{path}: {body}");
    }
    assert_eq!(item_count(&stack, my_collection).await, 0);
    assert_eq!(item_count(&stack, their_collection).await, 1, "their item stays");
}

#[tokio::test]
async fn a_collection_holds_at_most_1000_renders() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let renders = bulk_renders(&stack, &user, 1001).await;
    let kitchen = create(&stack, &user, "Kitchen").await;
    stack
        .app
        .admin()
        .execute(
            "insert into public.collection_items (collection_id, render_id) select $1, unnest($2::uuid[])",
            &[&kitchen, &renders[..1000].to_vec()],
        )
        .await
        .unwrap();
    let (status, body) = stack
        .call(
            collections::handle,
            "PUT",
            &format!("/collections/{kitchen}/items/{}", renders[1000]),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "RESOURCE_CONFLICT"), "{body}");
    assert_eq!(body["error"]["details"]["limit"], 1000);
    assert!(body["error"]["message"].as_str().unwrap().contains("1000"));
    // Adding one already there is still fine (idempotent), and removing makes room.
    let (status, _) = stack
        .call(
            collections::handle,
            "PUT",
            &format!("/collections/{kitchen}/items/{}", renders[0]),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    stack
        .call(
            collections::handle,
            "DELETE",
            &format!("/collections/{kitchen}/items/{}", renders[0]),
            Some(&user.token),
            None,
        )
        .await;
    let (status, _) = stack
        .call(
            collections::handle,
            "PUT",
            &format!("/collections/{kitchen}/items/{}", renders[1000]),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(item_count(&stack, kitchen).await, 1000);
}
