//! `GET /community`: public, ordered, drafts hidden, no owner data, deleted
//! renders gone, settings normalised, cached publicly.

use serde_json::{json, Value};
use testkit::{error_code, TestStack, TestUser};
use uuid::Uuid;

async fn get(stack: &TestStack, token: Option<&str>) -> (u16, Value, String) {
    let reply = stack.reply(community::handle, "GET", "/community", token, None).await;
    let cache = reply.header("cache-control").to_string();
    (reply.status, reply.body, cache)
}

async fn collection(stack: &TestStack, title: &str, featured: bool, order: i32, published: bool) -> Uuid {
    stack
        .app
        .admin()
        .query_one(
            "insert into public.community_collections (title, description, is_featured, order_index, is_published)
             values ($1, 'about ' || $1, $2, $3, $4) returning id",
            &[&title, &featured, &order, &published],
        )
        .await
        .unwrap()
        .get(0)
}

async fn item(
    stack: &TestStack,
    collection: Uuid,
    render: Option<Uuid>,
    url: Option<&str>,
    settings: Value,
    order: i32,
) -> Uuid {
    let settings = (!settings.is_null()).then_some(settings);
    stack
        .app
        .admin()
        .query_one(
            "insert into public.community_items (collection_id, render_id, external_image_url, apply_settings, order_index)
             values ($1, $2, $3, $4, $5) returning id",
            &[&collection, &render, &url, &settings, &order],
        )
        .await
        .unwrap()
        .get(0)
}

fn titles(body: &Value) -> Vec<&str> {
    body["data"]["items"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect()
}

/// A render of `user` with two images, the second as its cover.
async fn render_with_cover_1(stack: &TestStack, user: &TestUser) -> (Uuid, Uuid) {
    let (job_id, render_id) = stack.app.seed_render(user, 2).await;
    stack
        .app
        .admin()
        .execute("update public.renders set cover_variant = 1 where id = $1", &[&render_id])
        .await
        .unwrap();
    (job_id, render_id)
}

#[tokio::test]
async fn anyone_reads_published_collections_featured_first_then_by_order() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, render_id) = render_with_cover_1(&stack, &user).await;
    let second = collection(&stack, "Second", false, 1, true).await;
    let first = collection(&stack, "First", false, 0, true).await;
    let featured = collection(&stack, "Featured", true, 9, true).await;
    let draft = collection(&stack, "Draft", true, 0, false).await;
    let rendered = item(&stack, featured, Some(render_id), None, json!({"mode": "redesign"}), 2).await;
    let external = item(&stack, featured, None, Some("https://cdn.example.com/a.jpg"), Value::Null, 1).await;
    item(&stack, first, None, Some("https://cdn.example.com/b.jpg"), Value::Null, 0).await;
    item(&stack, second, None, Some("https://cdn.example.com/c.jpg"), Value::Null, 0).await;
    item(&stack, draft, None, Some("https://cdn.example.com/draft.jpg"), Value::Null, 0).await;

    let (status, body, cache) = get(&stack, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache, "public, max-age=300");
    assert_eq!(titles(&body), vec!["Featured", "First", "Second"], "draft hidden");
    assert!(!body.to_string().contains("draft.jpg"));

    let shelf = &body["data"]["items"][0];
    assert_eq!(shelf["id"], featured.to_string());
    assert_eq!(shelf["description"], "about Featured");
    assert_eq!(shelf["isFeatured"], true);
    let items = shelf["items"].as_array().unwrap();
    assert_eq!(items[0]["id"], external.to_string());
    assert_eq!(items[0]["imageUrl"], "https://cdn.example.com/a.jpg");
    assert_eq!(items[1]["id"], rendered.to_string());
    assert_eq!(
        items[1]["imageUrl"],
        format!("{}/storage/v1/object/public/public/renders/{render_id}/1.jpg", stack.base_url),
        "the absolute public URL of the cover image"
    );
    for item in items {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["applySettings", "id", "imageUrl"]);
    }
}

#[tokio::test]
async fn no_owner_job_or_render_prompt_reaches_the_page() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (job_id, render_id) = stack.app.seed_render(&user, 1).await;
    let shelf = collection(&stack, "Shelf", false, 0, true).await;
    item(&stack, shelf, Some(render_id), None, json!({"mode": "staging", "prompt": "curated words"}), 0).await;

    let (status, body, _) = get(&stack, None).await;
    assert_eq!(status, 200);
    let text = body.to_string();
    assert!(text.contains("curated words") && text.contains(&render_id.to_string()), "{text}");
    for secret in [user.id.to_string(), job_id.to_string(), "a calm bedroom".to_string()] {
        assert!(!text.contains(&secret), "{secret} leaked: {text}");
    }
    for field in ["owner", "jobId", "job_id", "renderId", "email", "inputPath", "input1"] {
        assert!(!text.contains(field), "field {field} leaked: {text}");
    }
}

#[tokio::test]
async fn a_token_is_ignored() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let shelf = collection(&stack, "Shelf", false, 0, true).await;
    item(&stack, shelf, None, Some("https://cdn.example.com/a.jpg"), Value::Null, 0).await;
    let (_, anonymous, _) = get(&stack, None).await;
    for token in [user.token.as_str(), "garbage"] {
        let (status, body, cache) = get(&stack, Some(token)).await;
        assert_eq!((status, cache.as_str()), (200, "public, max-age=300"));
        assert_eq!(body["data"], anonymous["data"]);
    }
}

#[tokio::test]
async fn a_deleted_renders_item_vanishes_and_the_page_still_works() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (_, kept) = stack.app.seed_render(&user, 1).await;
    let (_, doomed) = stack.app.seed_render(&user, 1).await;
    let (_, alone) = stack.app.seed_render(&user, 1).await;
    let shelf = collection(&stack, "Shelf", false, 0, true).await;
    let lonely = collection(&stack, "Lonely", false, 1, true).await;
    let kept_item = item(&stack, shelf, Some(kept), None, Value::Null, 0).await;
    let doomed_item = item(&stack, shelf, Some(doomed), None, Value::Null, 1).await;
    item(&stack, lonely, Some(alone), None, Value::Null, 0).await;
    let (_, before, _) = get(&stack, None).await;
    assert_eq!(before["data"]["items"][0]["items"].as_array().unwrap().len(), 2);

    stack.app.admin().execute("delete from public.renders where id = any($1)", &[&vec![doomed, alone]]).await.unwrap();
    let (status, after, _) = get(&stack, None).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(titles(&after), vec!["Shelf"], "a shelf left empty is not shown");
    let ids: Vec<&str> =
        after["data"]["items"][0]["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![kept_item.to_string()]);
    assert!(!after.to_string().contains(&doomed_item.to_string()));
    assert!(!after.to_string().contains(&doomed.to_string()));
}

#[tokio::test]
async fn apply_settings_are_normalised_to_four_keys() {
    let stack = TestStack::spawn().await;
    let shelf = collection(&stack, "Shelf", false, 0, true).await;
    let legacy = json!({"mode": "staging", "room_type": "bedroom", "style": "japandi", "prompt": "soft light",
                        "aspectRatio": "16:9", "quality": "hd", "variants": 4});
    item(&stack, shelf, None, Some("https://cdn.example.com/1.jpg"), legacy, 0).await;
    item(&stack, shelf, None, Some("https://cdn.example.com/2.jpg"), Value::Null, 1).await;
    item(&stack, shelf, None, Some("https://cdn.example.com/3.jpg"), json!({"mode": "paint", "roomType": "attic"}), 2)
        .await;
    item(&stack, shelf, None, Some("https://cdn.example.com/4.jpg"), json!({"roomType": "kitchen"}), 3).await;

    let (_, body, _) = get(&stack, None).await;
    let settings: Vec<&Value> =
        body["data"]["items"][0]["items"].as_array().unwrap().iter().map(|i| &i["applySettings"]).collect();
    let empty = json!({"mode": null, "roomType": null, "style": null, "prompt": null});
    assert_eq!(
        *settings[0],
        json!({"mode": "staging", "roomType": "bedroom", "style": "japandi", "prompt": "soft light"})
    );
    assert_eq!(*settings[1], empty, "missing settings: every key null");
    assert_eq!(*settings[2], empty, "values the form does not offer are dropped");
    assert_eq!(*settings[3], json!({"mode": null, "roomType": "kitchen", "style": null, "prompt": null}));
}

#[tokio::test]
async fn an_empty_gallery_is_an_empty_list() {
    let stack = TestStack::spawn().await;
    collection(&stack, "Draft", false, 0, false).await;
    let (status, body, _) = get(&stack, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!({"items": []}));
}

#[tokio::test]
async fn other_methods_are_405_and_other_paths_404() {
    let stack = TestStack::spawn().await;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let (status, body) = stack.call(community::handle, method, "/community", None, None).await;
        assert_eq!((status, error_code(&body)), (405, "METHOD_NOT_ALLOWED"), "{method}");
    }
    let (status, _) = stack.call(community::handle, "GET", "/community/x", None, None).await;
    assert_eq!(status, 404);
}
