//! Admin curation of items (render-backed and external), and what the
//! public page then shows.

mod support;

use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn render_backed_and_external_items_appear_in_order() {
    let s = support::setup().await;
    let (job_id, render_id) = s.stack.app.seed_render(&s.user, 2).await;
    let shelf = s.collection(json!({"title": "Shelf", "isPublished": true})).await;
    let path = format!("/admin/community/collections/{shelf}/items");
    let settings =
        json!({"mode": "redesign", "roomType": "bedroom", "style": "japandi", "prompt": "  soft morning light "});
    let (status, created) = s
        .as_admin("POST", &path, Some(json!({"renderId": render_id, "applySettings": settings, "orderIndex": 2})))
        .await;
    assert_eq!(status, 201, "{created}");
    let cover_url = format!("{}/storage/v1/object/public/public/renders/{render_id}/0.jpg", s.stack.base_url);
    let data = &created["data"];
    assert_eq!(
        (data["renderId"].as_str(), data["imageUrl"].as_str()),
        (Some(render_id.to_string().as_str()), Some(cover_url.as_str()))
    );
    assert_eq!((&data["externalImageUrl"], &data["orderIndex"]), (&Value::Null, &json!(2)));
    assert_eq!(data["collectionId"], shelf.to_string());
    assert_eq!(
        data["applySettings"],
        json!({"mode": "redesign", "roomType": "bedroom", "style": "japandi", "prompt": "soft morning light"})
    );
    let rendered = data["id"].as_str().unwrap().to_owned();

    let (status, external) = s
        .as_admin("POST", &path, Some(json!({"externalImageUrl": "https://cdn.example.com/look.jpg", "orderIndex": 1})))
        .await;
    assert_eq!(status, 201, "{external}");
    assert_eq!(external["data"]["imageUrl"], "https://cdn.example.com/look.jpg");
    assert_eq!(external["data"]["applySettings"], Value::Null);

    let page = s.public_page().await;
    let items = page["items"][0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["imageUrl"], "https://cdn.example.com/look.jpg", "orderIndex 1 first");
    assert_eq!(items[0]["applySettings"], json!({"mode": null, "roomType": null, "style": null, "prompt": null}));
    assert_eq!(items[1]["id"], rendered.as_str());
    assert_eq!(items[1]["imageUrl"], cover_url.as_str());
    assert_eq!(items[1]["applySettings"]["prompt"], "soft morning light");
    let text = page.to_string();
    for secret in [s.user.id.to_string(), job_id.to_string(), "a calm bedroom".into()] {
        assert!(!text.contains(&secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn an_item_can_be_reordered_and_its_settings_changed_or_cleared() {
    let s = support::setup().await;
    let shelf = s.collection(json!({"title": "Shelf", "isPublished": true})).await;
    let first = s.item(shelf, json!({"externalImageUrl": "https://cdn.example.com/1.jpg", "orderIndex": 0})).await;
    let second = s.item(shelf, json!({"externalImageUrl": "https://cdn.example.com/2.jpg", "orderIndex": 1})).await;
    let path = format!("/admin/community/items/{first}");
    let (status, updated) = s
        .as_admin(
            "PATCH",
            &path,
            Some(json!({"orderIndex": 5, "applySettings": {"mode": "imagine", "prompt": "a loft"}})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["orderIndex"], 5);
    assert_eq!(
        updated["data"]["applySettings"],
        json!({"mode": "imagine", "roomType": null, "style": null, "prompt": "a loft"})
    );
    let ids = |page: &Value| -> Vec<String> {
        page["items"][0]["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&s.public_page().await), vec![second.to_string(), first.to_string()]);

    let (status, cleared) = s.as_admin("PATCH", &path, Some(json!({"applySettings": null}))).await;
    assert_eq!(status, 200);
    assert_eq!(
        (cleared["data"]["applySettings"].clone(), cleared["data"]["orderIndex"].clone()),
        (Value::Null, json!(5))
    );
    let page = s.public_page().await;
    assert_eq!(page["items"][0]["items"][1]["applySettings"]["mode"], Value::Null);
}

#[tokio::test]
async fn deleting_an_item_keeps_its_render() {
    let s = support::setup().await;
    let (_, render_id) = s.stack.app.seed_render(&s.user, 1).await;
    let shelf = s.collection(json!({"title": "Shelf", "isPublished": true})).await;
    let item = s.item(shelf, json!({"renderId": render_id})).await;
    let path = format!("/admin/community/items/{item}");
    let (status, body) = s.as_admin("DELETE", &path, None).await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(s.counts().await, (1, 0));
    assert_eq!(s.stack.app.count(&format!("public.renders where id = '{render_id}'")).await, 1);
    let (status, _) = s.as_admin("DELETE", &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = s.as_admin("PATCH", &path, Some(json!({"orderIndex": 1}))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_missing_render_or_collection_is_404_and_adds_nothing() {
    let s = support::setup().await;
    let shelf = s.collection(json!({"title": "Shelf"})).await;
    let path = format!("/admin/community/collections/{shelf}/items");
    let (status, body) = s.as_admin("POST", &path, Some(json!({"renderId": Uuid::new_v4()}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{body}");
    assert!(body["error"]["details"]["renderId"].is_string());

    // A render without its cover image could never be shown.
    let (_, imageless) = s.stack.app.seed_render(&s.user, 0).await;
    let (status, _) = s.as_admin("POST", &path, Some(json!({"renderId": imageless}))).await;
    assert_eq!(status, 404);

    let elsewhere = format!("/admin/community/collections/{}/items", Uuid::new_v4());
    let (status, body) =
        s.as_admin("POST", &elsewhere, Some(json!({"externalImageUrl": "https://cdn.example.com/a.jpg"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
    assert_eq!(s.counts().await, (1, 0));
}

#[tokio::test]
async fn an_item_has_exactly_one_source() {
    let s = support::setup().await;
    let (_, render_id) = s.stack.app.seed_render(&s.user, 1).await;
    let shelf = s.collection(json!({"title": "Shelf"})).await;
    let path = format!("/admin/community/collections/{shelf}/items");
    for body in [
        json!({"renderId": render_id, "externalImageUrl": "https://cdn.example.com/a.jpg"}),
        json!({}),
        json!({"renderId": null, "externalImageUrl": null}),
        json!({"applySettings": {"mode": "redesign"}}),
    ] {
        let (status, answer) = s.as_admin("POST", &path, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}");
        assert!(support::details(&answer).contains_key("renderId"), "{answer}");
    }
    // null for the other source is the same as leaving it out.
    let (status, _) = s.as_admin("POST", &path, Some(json!({"renderId": render_id, "externalImageUrl": null}))).await;
    assert_eq!(status, 201);
    assert_eq!(s.counts().await, (1, 1));
}
