//! Every route of the group: 401 without a valid token, 405 for a wrong
//! method on a known path, 404 for unknown paths.

mod support;

use serde_json::json;
use testkit::{error_code, TestStack};
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
        let (status, answer) = stack.call(collections::handle, method, &path, None, body.clone()).await;
        assert_eq!((status, error_code(&answer)), (401, "UNAUTHORIZED"), "{method} {path}");
        let (status, _) = stack.call(collections::handle, method, &path, Some("not.a.token"), body).await;
        assert_eq!(status, 401, "{method} {path}, bad token");
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
        let (status, body) = stack.call(collections::handle, method, &path, Some(&user.token), None).await;
        assert_eq!((status, error_code(&body)), (405, "METHOD_NOT_ALLOWED"), "{method} {path}");
    }
    for path in ["/favorites", "/collections/a/b", "/favorites/toggle/x"] {
        let (status, body) = stack.call(collections::handle, "GET", path, Some(&user.token), None).await;
        assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"), "{path}");
    }
}

#[tokio::test]
async fn every_answer_is_private_and_never_stored() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render) = stack.app.seed_render(&user, 1).await;
    let kitchen = support::create(&stack, &user, "Kitchen").await;
    let answers = [
        ("GET", "/collections".to_string(), None, Some(user.token.as_str())),
        ("POST", "/collections".to_string(), Some(json!({"name": "Bath"})), Some(&user.token)),
        ("PATCH", format!("/collections/{kitchen}"), Some(json!({"name": "Kitchens"})), Some(&user.token)),
        ("PUT", format!("/collections/{kitchen}/items/{render}"), None, Some(&user.token)),
        ("GET", format!("/collections/{kitchen}/items"), None, Some(&user.token)),
        ("POST", "/favorites/toggle".to_string(), Some(json!({"renderId": render})), Some(&user.token)),
        ("DELETE", format!("/collections/{kitchen}"), None, Some(&user.token)),
        ("GET", "/collections".to_string(), None, None),
        ("POST", "/collections".to_string(), Some(json!({"name": 7})), Some(&user.token)),
    ];
    for (method, path, body, token) in answers {
        let reply = stack.reply(collections::handle, method, &path, token, body).await;
        assert!(reply.status < 500, "{method} {path}: {:?}", reply.body);
        assert_eq!(reply.header("cache-control"), "private, no-store", "{method} {path}");
    }
}
