//! Admin curation of collections, and its effect on the public page.

mod support;

use serde_json::{json, Value};

#[tokio::test]
async fn create_list_update_and_delete_a_collection() {
    let s = support::setup().await;
    let (status, created) =
        s.as_admin("POST", "/admin/community/collections", Some(json!({"title": "  Calm bedrooms  "}))).await;
    assert_eq!(status, 201, "{created}");
    let data = &created["data"];
    assert_eq!(data["title"], "Calm bedrooms", "trimmed");
    assert_eq!(
        (&data["description"], &data["isFeatured"], &data["orderIndex"], &data["isPublished"]),
        (&Value::Null, &json!(false), &json!(0), &json!(false)),
        "defaults: a draft"
    );
    let id = data["id"].as_str().unwrap().to_owned();
    let stored = format!("public.community_collections where id = '{id}' and not is_published");
    assert_eq!(s.stack.app.count(&stored).await, 1, "stored as a draft");

    let path = format!("/admin/community/collections/{id}");
    let (status, updated) =
        s.as_admin("PATCH", &path, Some(json!({"description": "Soft light", "isFeatured": true}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["data"]["title"].as_str(), updated["data"]["description"].as_str()),
        (Some("Calm bedrooms"), Some("Soft light"))
    );
    assert_eq!(updated["data"]["isFeatured"], true);
    let (_, cleared) = s.as_admin("PATCH", &path, Some(json!({"description": null, "title": "Bedrooms"}))).await;
    assert_eq!(
        (cleared["data"]["description"].clone(), cleared["data"]["title"].clone()),
        (Value::Null, json!("Bedrooms"))
    );
    assert_eq!(cleared["data"]["isFeatured"], true, "fields not sent stay as they are");

    let (status, body) = s.as_admin("DELETE", &path, None).await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(s.counts().await, (0, 0));
    let (status, body) = s.as_admin("DELETE", &path, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _) = s.as_admin("PATCH", &path, Some(json!({"title": "x"}))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn publishing_featuring_and_ordering_show_on_the_public_page() {
    let s = support::setup().await;
    let draft = s.collection(json!({"title": "Draft"})).await;
    s.item(draft, json!({"externalImageUrl": "https://cdn.example.com/d.jpg"})).await;
    assert!(s.public_titles().await.is_empty(), "a draft is not public");

    let a = s.shelf("A", json!({"orderIndex": 2})).await;
    let b = s.shelf("B", json!({"orderIndex": 1})).await;
    s.shelf("C", json!({"orderIndex": 3, "isFeatured": true, "description": "Editors' pick"})).await;
    assert_eq!(s.public_titles().await, vec!["C", "B", "A"], "featured first, then by orderIndex");
    let page = s.public_page().await;
    assert_eq!(page["items"][0]["isFeatured"], true);
    assert_eq!(page["items"][0]["description"], "Editors' pick");

    s.as_admin("PATCH", &format!("/admin/community/collections/{a}"), Some(json!({"orderIndex": 0}))).await;
    assert_eq!(s.public_titles().await, vec!["C", "A", "B"]);
    s.as_admin(
        "PATCH",
        &format!("/admin/community/collections/{b}"),
        Some(json!({"isFeatured": true, "orderIndex": -1})),
    )
    .await;
    assert_eq!(s.public_titles().await, vec!["B", "C", "A"]);
    s.as_admin(
        "PATCH",
        &format!("/admin/community/collections/{draft}"),
        Some(json!({"isPublished": true, "orderIndex": 1})),
    )
    .await;
    assert_eq!(s.public_titles().await, vec!["B", "C", "A", "Draft"]);
    s.as_admin("PATCH", &format!("/admin/community/collections/{b}"), Some(json!({"isPublished": false}))).await;
    assert_eq!(s.public_titles().await, vec!["C", "A", "Draft"], "unpublished again");
}

#[tokio::test]
async fn deleting_a_collection_takes_its_items_but_not_the_renders() {
    let s = support::setup().await;
    let (_, render_id) = s.stack.app.seed_render(&s.user, 1).await;
    let shelf = s.shelf("Shelf", json!({})).await;
    s.item(shelf, json!({"renderId": render_id})).await;
    assert_eq!(s.counts().await, (1, 2));
    let (status, _) = s.as_admin("DELETE", &format!("/admin/community/collections/{shelf}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(s.counts().await, (0, 0));
    assert_eq!(s.stack.app.count(&format!("public.renders where id = '{render_id}'")).await, 1);
    assert!(s.public_titles().await.is_empty());
}
