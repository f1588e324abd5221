//! `GET /renders`, `GET /renders/{id}`, `DELETE /renders/{id}` at the edges:
//! shapes, validation, authentication, other users' renders, wrong methods.

mod support;

use testkit::{error_code, TestStack};
use uuid::Uuid;

#[tokio::test]
async fn the_gallery_lists_the_callers_renders_with_cover_count_and_favorite() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let other = stack.create_user().await;
    let (job_id, render_id) = stack.app.seed_render(&user, 3).await;
    stack.app.seed_render(&other, 1).await;
    stack
        .app
        .admin()
        .execute(
            "insert into public.collection_items (collection_id, render_id)
             select id, $2 from public.collections where owner_id = $1 and is_default_favorites",
            &[&user.id, &render_id],
        )
        .await
        .unwrap();

    let (status, body) = stack.call(renders::handle, "GET", "/renders", Some(&user.token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert!(body["data"]["nextCursor"].is_null());
    let items = body["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the caller's renders: {body}");
    let item = &items[0];
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
    assert_eq!(item["id"], render_id.to_string());
    assert_eq!(item["jobId"], job_id.to_string());
    assert_eq!(
        (item["mode"].as_str(), item["roomType"].as_str(), item["style"].as_str()),
        (Some("imagine"), Some("bedroom"), Some("modern"))
    );
    assert_eq!(item["coverVariant"], 0);
    assert_eq!(item["variantCount"], 3);
    assert_eq!(item["isFavorite"], true);
    assert_eq!(
        item["coverImageUrl"],
        format!("{}/storage/v1/object/public/public/renders/{render_id}/0.jpg", stack.base_url),
        "absolute public URL"
    );
}

#[tokio::test]
async fn a_render_comes_with_all_its_variants() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (job_id, render_id) = stack.app.seed_render(&user, 3).await;

    let (status, body) =
        stack.call(renders::handle, "GET", &format!("/renders/{render_id}"), Some(&user.token), None).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["id"], render_id.to_string());
    assert_eq!(data["jobId"], job_id.to_string());
    assert_eq!(data["mode"], "imagine");
    assert_eq!(data["roomType"], "bedroom");
    assert_eq!(data["style"], "modern");
    assert_eq!(data["coverVariant"], 0);
    assert_eq!(data["isFavorite"], false);
    assert!(data["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{data}");
    let variants = data["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 3);
    for (index, variant) in variants.iter().enumerate() {
        assert_eq!(variant["index"], index);
        assert_eq!(
            variant["imageUrl"],
            format!("{}/storage/v1/object/public/public/renders/{render_id}/{index}.jpg", stack.base_url)
        );
    }
}

#[tokio::test]
async fn another_users_render_is_not_found_exactly_like_a_missing_one() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let owner = stack.create_user().await;
    let (_, theirs) = stack.app.seed_render(&owner, 2).await;
    let keys = support::store_images(&stack, theirs).await;

    for method in ["GET", "DELETE"] {
        let (status, foreign) =
            stack.call(renders::handle, method, &format!("/renders/{theirs}"), Some(&user.token), None).await;
        let (missing_status, missing) =
            stack.call(renders::handle, method, &format!("/renders/{}", Uuid::new_v4()), Some(&user.token), None).await;
        assert_eq!((status, missing_status), (404, 404), "{method}: {foreign} / {missing}");
        assert_eq!(foreign, missing, "{method}: no existence leak");
        assert_eq!(error_code(&foreign), "NOT_FOUND");
    }
    let (status, body) = stack.call(renders::handle, "GET", "/renders/not-a-uuid", Some(&user.token), None).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"), "a malformed id cannot exist");

    assert_eq!(stack.app.count(&format!("public.renders where id = '{theirs}'")).await, 1);
    assert_eq!(stack.app.count(&format!("public.render_variants where render_id = '{theirs}'")).await, 2);
    for key in &keys {
        assert!(support::object_exists(&stack, key).await, "{key} untouched");
    }
}

#[tokio::test]
async fn every_route_needs_a_valid_token() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render_id) = stack.app.seed_render(&user, 1).await;
    for (method, path) in [
        ("GET", "/renders".to_string()),
        ("GET", format!("/renders/{render_id}")),
        ("DELETE", format!("/renders/{render_id}")),
    ] {
        let (status, body) = stack.call(renders::handle, method, &path, None, None).await;
        assert_eq!((status, error_code(&body)), (401, "UNAUTHORIZED"), "{method} {path}");
        let request = stack.request(method, &path, Some("not.a.token"), None);
        let response = renders::handle(&stack.services, request).await;
        assert_eq!(response.status(), 401, "{method} {path} with a bad token");
    }
    assert_eq!(stack.app.count("public.renders").await, 1, "nothing deleted");
}

#[tokio::test]
async fn wrong_methods_are_405_and_unknown_paths_404() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let id = Uuid::new_v4();
    for (method, path) in [
        ("POST", "/renders".to_string()),
        ("DELETE", "/renders".to_string()),
        ("PUT", format!("/renders/{id}")),
        ("POST", format!("/renders/{id}")),
        ("PATCH", format!("/renders/{id}")),
    ] {
        let (status, body) = stack.call(renders::handle, method, &path, Some(&user.token), None).await;
        assert_eq!((status, error_code(&body)), (405, "METHOD_NOT_ALLOWED"), "{method} {path}");
    }
    let (status, body) =
        stack.call(renders::handle, "GET", &format!("/renders/{id}/variants"), Some(&user.token), None).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn malformed_list_parameters_are_400_naming_the_parameter() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("limit=", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=djEuMS4y", "cursor"),
        ("mode=painting", "mode"),
        ("collectionId=123", "collectionId"),
        (&format!("roomType={}", "k".repeat(101)), "roomType"),
    ] {
        let (status, body) =
            stack.call(renders::handle, "GET", &format!("/renders?{query}"), Some(&user.token), None).await;
        assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{query}: {body}");
        assert!(body["error"]["details"][field].is_string(), "{query}: details.{field} in {body}");
    }
    for query in ["limit=1", "limit=100", "mode=staging&style=&roomType=", "collectionId="] {
        let (status, body) =
            stack.call(renders::handle, "GET", &format!("/renders?{query}"), Some(&user.token), None).await;
        assert_eq!(status, 200, "{query}: {body}");
    }
}

#[tokio::test]
async fn filtering_by_another_users_collection_yields_nothing() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let other = stack.create_user().await;
    stack.app.seed_render(&user, 1).await;
    let (_, theirs) = stack.app.seed_render(&other, 1).await;
    let their_favorites: Uuid = stack
        .app
        .admin()
        .query_one(
            "insert into public.collection_items (collection_id, render_id)
             select id, $2 from public.collections where owner_id = $1 and is_default_favorites
             returning collection_id",
            &[&other.id, &theirs],
        )
        .await
        .unwrap()
        .get(0);
    let (status, body) = stack
        .call(renders::handle, "GET", &format!("/renders?collectionId={their_favorites}"), Some(&user.token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["items"], serde_json::json!([]));
    assert!(body["data"]["nextCursor"].is_null());
}

#[tokio::test]
async fn every_answer_is_private_and_never_stored() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render_id) = stack.app.seed_render(&user, 1).await;
    let answers = [
        ("GET", "/renders".to_string(), Some(user.token.as_str())),
        ("GET", format!("/renders/{render_id}"), Some(&user.token)),
        ("GET", "/renders?limit=0".to_string(), Some(&user.token)),
        ("GET", format!("/renders/{}", Uuid::new_v4()), Some(&user.token)),
        ("GET", "/renders".to_string(), None),
        ("DELETE", format!("/renders/{render_id}"), Some(&user.token)),
    ];
    for (method, path, token) in answers {
        let reply = stack.reply(renders::handle, method, &path, token, None).await;
        assert!(reply.status < 500, "{method} {path}: {:?}", reply.body);
        assert_eq!(reply.header("cache-control"), "private, no-store", "{method} {path}");
    }
}
