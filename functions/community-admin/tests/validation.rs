//! Every admin body is validated field by field: 400 `VALIDATION_ERROR`
//! with `details` naming each bad field, and nothing written.

mod support;

use serde_json::{json, Value};

/// Sends each body and expects a 400 whose details name `field`.
async fn expect_invalid(s: &support::Setup, method: &str, path: &str, cases: Vec<(Value, &str)>) {
    let before = s.snapshot().await;
    for (body, field) in cases {
        let (status, answer) = s.as_admin(method, path, Some(body.clone())).await;
        assert_eq!(status, 400, "{method} {path} {body}: {answer}");
        assert!(support::details(&answer).contains_key(field), "{body}: expected details.{field}: {answer}");
    }
    assert_eq!(s.snapshot().await, before, "a refused write changes nothing");
}

#[tokio::test]
async fn collection_fields_are_checked() {
    let s = support::setup().await;
    let long_title = "t".repeat(121);
    let long_description = "d".repeat(1001);
    let bad = vec![
        (json!({}), "title"),
        (json!({"title": null}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": 7}), "title"),
        (json!({"title": long_title}), "title"),
        (json!({"title": "a\nb"}), "title"),
        (json!({"title": "ok", "description": long_description}), "description"),
        (json!({"title": "ok", "description": 3}), "description"),
        (json!({"title": "ok", "isFeatured": "yes"}), "isFeatured"),
        (json!({"title": "ok", "isPublished": null}), "isPublished"),
        (json!({"title": "ok", "orderIndex": 1.5}), "orderIndex"),
        (json!({"title": "ok", "orderIndex": "1"}), "orderIndex"),
        (json!({"title": "ok", "orderIndex": 3_000_000_000_i64}), "orderIndex"),
        (json!({"title": "ok", "order_index": 1}), "order_index"),
        (json!({"title": "ok", "ownerId": "x"}), "ownerId"),
    ];
    expect_invalid(&s, "POST", "/admin/community/collections", bad).await;

    let id = s.collection(json!({"title": "Shelf"})).await;
    let path = format!("/admin/community/collections/{id}");
    let bad = vec![
        (json!({}), "body"),
        (json!({"title": ""}), "title"),
        (json!({"title": null}), "title"),
        (json!({"isFeatured": 1}), "isFeatured"),
        (json!({"orderIndex": -1_000_001}), "orderIndex"),
        (json!({"createdAt": "2020-01-01T00:00:00Z"}), "createdAt"),
    ];
    expect_invalid(&s, "PATCH", &path, bad).await;
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let s = support::setup().await;
    let (status, answer) = s
        .as_admin("POST", "/admin/community/collections", Some(json!({"title": "", "isFeatured": "no", "extra": 1})))
        .await;
    assert_eq!(status, 400);
    let details = support::details(&answer);
    for field in ["title", "isFeatured", "extra"] {
        assert!(details.contains_key(field), "{answer}");
    }
}

#[tokio::test]
async fn item_fields_and_apply_settings_are_checked() {
    let s = support::setup().await;
    let shelf = s.collection(json!({"title": "Shelf"})).await;
    let path = format!("/admin/community/collections/{shelf}/items");
    let url = |u: &str| json!({"externalImageUrl": u});
    let with =
        |settings: Value| json!({"externalImageUrl": "https://cdn.example.com/a.jpg", "applySettings": settings});
    let long_url = format!("https://cdn.example.com/{}.jpg", "a".repeat(2048));
    let long_prompt = "p".repeat(1001);
    let bad = vec![
        (url("http://cdn.example.com/a.jpg"), "externalImageUrl"),
        (url("javascript:alert(1)"), "externalImageUrl"),
        (url("data:image/png;base64,AAAA"), "externalImageUrl"),
        (url("https://user:secret@cdn.example.com/a.jpg"), "externalImageUrl"),
        (url("https://cdn.example.com/a b.jpg"), "externalImageUrl"),
        (url("https://localhost/a.jpg"), "externalImageUrl"),
        (url("cdn.example.com/a.jpg"), "externalImageUrl"),
        (url(&long_url), "externalImageUrl"),
        (json!({"externalImageUrl": 5}), "externalImageUrl"),
        (json!({"renderId": "not-a-uuid"}), "renderId"),
        (with(json!("redesign")), "applySettings"),
        (with(json!({})), "applySettings.mode"),
        (with(json!({"mode": "paint"})), "applySettings.mode"),
        (with(json!({"mode": "Redesign"})), "applySettings.mode"),
        (with(json!({"mode": "staging", "roomType": "attic"})), "applySettings.roomType"),
        (with(json!({"mode": "staging", "style": "gothic"})), "applySettings.style"),
        (with(json!({"mode": "staging", "style": 3})), "applySettings.style"),
        (with(json!({"mode": "imagine", "prompt": long_prompt})), "applySettings.prompt"),
        (with(json!({"mode": "redesign", "aspectRatio": "16:9"})), "applySettings.aspectRatio"),
        (with(json!({"mode": "redesign", "room_type": "bedroom"})), "applySettings.room_type"),
        (json!({"externalImageUrl": "https://cdn.example.com/a.jpg", "orderIndex": "first"}), "orderIndex"),
        (json!({"externalImageUrl": "https://cdn.example.com/a.jpg", "collectionId": shelf}), "collectionId"),
    ];
    expect_invalid(&s, "POST", &path, bad).await;

    let item = s.item(shelf, json!({"externalImageUrl": "https://cdn.example.com/ok.jpg"})).await;
    let item_path = format!("/admin/community/items/{item}");
    let bad = vec![
        (json!({}), "body"),
        (json!({"applySettings": {"mode": "compose", "prompt": 5}}), "applySettings.prompt"),
        (json!({"orderIndex": null}), "orderIndex"),
        (json!({"externalImageUrl": "https://cdn.example.com/b.jpg"}), "externalImageUrl"),
    ];
    expect_invalid(&s, "PATCH", &item_path, bad).await;
}

#[tokio::test]
async fn bodies_must_be_json_objects() {
    let s = support::setup().await;
    let (status, answer) = s.as_admin("POST", "/admin/community/collections", Some(json!(["title"]))).await;
    assert_eq!(status, 400);
    assert!(support::details(&answer).contains_key("body"));
    let mut request = s.stack.request("POST", "/api/ignored", Some(&s.admin), None);
    *request.uri_mut() = "/api/v1/admin/community/collections".parse().unwrap();
    *request.body_mut() = shared::http::Body::Text("{not json".into());
    let response = community_admin::handle(&s.stack.services, request).await;
    assert_eq!(response.status(), 400);
    let request = s.stack.request("POST", "/admin/community/collections", Some(&s.admin), None);
    let response = community_admin::handle(&s.stack.services, request).await;
    assert_eq!(response.status(), 400, "a body is required");
    assert_eq!(s.counts().await, (0, 0));
}
