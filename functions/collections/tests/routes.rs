//! Every route of the group: 401 without a valid token, 405 for a wrong
//! method on a known path, 404 for unknown paths.

mod support;

use serde_json::json;
use support::{call, error_code};
use testkit::TestStack;
use uuid::Uuid;

#[tokio::test]
async fn every_route_needs_a_valid_token() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    let favorites = support::favorites_id(&stack, &user).await;
    let name = Some(json!({"name": "x"}));
    let routes = [
        ("GET", "/collections".to_string(), None),
        ("POST", "/collections".to_string(), name.clone()),
        ("PATCH", format!("/collections/{favorites}"), name),
        ("DELETE", format!("/collections/{favorites}"), None),
        ("GET", format!("/collections/{favorites}/items"), None),
        ("PUT", format!("/collections/{favorites}/items/{render}"), None),
        ("DELETE", format!("/collections/{favorites}/items/{render}"), None),
        ("POST", "/favorites/toggle".to_string(), Some(json!({"renderId": render}))),
    ];
    let before = stack.app.count("public.collections").await;
    for (method, path, body) in routes {
        let (status, answer) = call(&stack, method, &path, None, body.clone()).await;
        assert_eq!((status, error_code(&answer)), (401, "UNAUTHORIZED"), "{method} {path}");
        let request = stack.request(method, &path, Some("not.a.token"), body);
        assert_eq!(collections::handle(&stack.services, request).await.status(), 401, "{method} {path}, bad token");
    }
    assert_eq!(stack.app.count("public.collections").await, before);
    assert_eq!(stack.app.count("public.collection_items").await, 0);
}

#[tokio::test]
async fn wrong_methods_are_405_and_unknown_paths_404() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (id, render) = (Uuid::new_v4(), Uuid::new_v4());
    for (method, path) in [
        ("PUT", "/collections".to_string()),
        ("DELETE", "/collections".to_string()),
        ("GET", format!("/collections/{id}")),
        ("POST", format!("/collections/{id}")),
        ("POST", format!("/collections/{id}/items")),
        ("GET", format!("/collections/{id}/items/{render}")),
        ("POST", format!("/collections/{id}/items/{render}")),
        ("GET", "/favorites/toggle".to_string()),
        ("PUT", "/favorites/toggle".to_string()),
    ] {
        let (status, body) = call(&stack, method, &path, Some(&user), None).await;
        assert_eq!((status, error_code(&body)), (405, "METHOD_NOT_ALLOWED"), "{method} {path}");
    }
    for path in ["/favorites", "/collections/a/b", "/favorites/toggle/x"] {
        let (status, body) = call(&stack, "GET", path, Some(&user), None).await;
        assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"), "{path}");
    }
}
