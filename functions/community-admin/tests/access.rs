//! Who may curate: admins only (`app_metadata.role`), 401 without a valid
//! token, 403 for everyone else with nothing changed; and the routing
//! answers (404 for unknown or malformed ids and paths, 405 wrong method).

mod support;

use serde_json::{json, Value};
use testkit::tokens::TokenBuilder;
use uuid::Uuid;

/// One valid call per admin route, against existing rows.
fn every_route(collection: Uuid, item: Uuid) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("POST", "/admin/community/collections".into(), Some(json!({"title": "Mine now"}))),
        ("PATCH", format!("/admin/community/collections/{collection}"), Some(json!({"title": "Hijacked"}))),
        ("DELETE", format!("/admin/community/collections/{collection}"), None),
        (
            "POST",
            format!("/admin/community/collections/{collection}/items"),
            Some(json!({"externalImageUrl": "https://evil.example.com/x.jpg"})),
        ),
        ("PATCH", format!("/admin/community/items/{item}"), Some(json!({"orderIndex": 9}))),
        ("DELETE", format!("/admin/community/items/{item}"), None),
    ]
}

async fn seeded(s: &support::Setup) -> (Uuid, Uuid) {
    let collection = s.collection(json!({"title": "Shelf", "isPublished": true})).await;
    let item = s.item(collection, json!({"externalImageUrl": "https://cdn.example.com/a.jpg"})).await;
    (collection, item)
}

#[tokio::test]
async fn without_a_valid_token_every_route_is_401() {
    let s = support::setup().await;
    let (collection, item) = seeded(&s).await;
    let before = s.snapshot().await;
    let expired = TokenBuilder::hs256().admin().exp_in(-600).build();
    let wrong_secret = TokenBuilder::hs256_with_secret("not-the-secret-at-all-0123456789-abcdef").admin().build();
    for (method, path, body) in every_route(collection, item) {
        let (status, answer) = s.stack.call(community_admin::handle, method, &path, None, body.clone()).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")), "{method} {path}");
        let (status, answer) = s.stack.call(community_admin::handle, method, &path, Some(&expired), body.clone()).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (401, Some("TOKEN_EXPIRED")), "{method} {path}");
        let (status, _) = s.stack.call(community_admin::handle, method, &path, Some(&wrong_secret), body).await;
        assert_eq!(status, 401, "{method} {path}");
    }
    assert_eq!(s.snapshot().await, before);
}

#[tokio::test]
async fn non_admins_are_403_and_nothing_changes() {
    let s = support::setup().await;
    let (collection, item) = seeded(&s).await;
    let before = s.snapshot().await;
    let counts = s.counts().await;
    let user_id = s.user.id;
    let tokens = [
        s.user.token.clone(),
        // user_metadata is editable by the user: it must not grant anything.
        TokenBuilder::hs256().user_id(user_id).user_metadata(json!({"role": "admin"})).build(),
        TokenBuilder::hs256().user_id(user_id).app_metadata(json!({"role": "editor"})).build(),
        TokenBuilder::hs256().user_id(user_id).app_metadata(json!({"roles": ["admin"]})).build(),
        TokenBuilder::hs256().user_id(user_id).claim("role", "authenticated").claim("is_admin", true).build(),
    ];
    for token in &tokens {
        for (method, path, body) in every_route(collection, item) {
            let (status, answer) = s.stack.call(community_admin::handle, method, &path, Some(token), body).await;
            assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{method} {path}");
        }
        // Even a malformed id or an invalid body is refused as forbidden
        // first: a non-admin learns nothing about the admin API.
        let (status, _) = s
            .stack
            .call(community_admin::handle, "PATCH", "/admin/community/items/nope", Some(token), Some(json!({})))
            .await;
        assert_eq!(status, 403);
    }
    assert_eq!(s.counts().await, counts);
    assert_eq!(s.snapshot().await, before);
    assert_eq!(s.public_titles().await, vec!["Shelf"]);
}

#[tokio::test]
async fn malformed_and_unknown_ids_are_404() {
    let s = support::setup().await;
    let (collection, item) = seeded(&s).await;
    let before = s.snapshot().await;
    let unknown = Uuid::new_v4();
    let cases = [
        ("PATCH", "/admin/community/collections/not-a-uuid".to_string(), Some(json!({"title": "x"}))),
        ("DELETE", "/admin/community/collections/123".into(), None),
        (
            "POST",
            "/admin/community/collections/..%2F/items".into(),
            Some(json!({"externalImageUrl": "https://a.example.com/x.jpg"})),
        ),
        ("PATCH", "/admin/community/items/zzz".into(), Some(json!({"orderIndex": 1}))),
        ("DELETE", format!("/admin/community/items/{collection}"), None),
        ("PATCH", format!("/admin/community/collections/{unknown}"), Some(json!({"title": "x"}))),
        ("DELETE", format!("/admin/community/collections/{item}"), None),
        (
            "POST",
            format!("/admin/community/collections/{unknown}/items"),
            Some(json!({"externalImageUrl": "https://a.example.com/x.jpg"})),
        ),
        ("PATCH", format!("/admin/community/items/{unknown}"), Some(json!({"orderIndex": 1}))),
        ("DELETE", format!("/admin/community/items/{unknown}"), None),
    ];
    for (method, path, body) in cases {
        let (status, answer) = s.as_admin(method, &path, body).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{method} {path}: {answer}");
    }
    assert_eq!(s.snapshot().await, before);
}

#[tokio::test]
async fn wrong_methods_are_405_and_unknown_paths_404() {
    let s = support::setup().await;
    let (collection, item) = seeded(&s).await;
    let wrong = [
        ("GET", "/admin/community/collections".to_string()),
        ("PUT", "/admin/community/collections".into()),
        ("DELETE", "/admin/community/collections".into()),
        ("GET", format!("/admin/community/collections/{collection}")),
        ("POST", format!("/admin/community/collections/{collection}")),
        ("GET", format!("/admin/community/collections/{collection}/items")),
        ("DELETE", format!("/admin/community/collections/{collection}/items")),
        ("GET", format!("/admin/community/items/{item}")),
        ("POST", format!("/admin/community/items/{item}")),
    ];
    for (method, path) in wrong {
        for token in [Some(s.admin.as_str()), None] {
            let (status, answer) = s.stack.call(community_admin::handle, method, &path, token, None).await;
            assert_eq!(
                (status, answer["error"]["code"].as_str()),
                (405, Some("METHOD_NOT_ALLOWED")),
                "{method} {path}"
            );
        }
    }
    for path in [
        "/admin/community",
        "/admin/community/items",
        "/admin/community/other",
        "/admin/community/collections/x/items/y",
    ] {
        let (status, _) = s.as_admin("GET", path, None).await;
        assert_eq!(status, 404, "{path}");
    }
}
