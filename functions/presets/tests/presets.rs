//! `GET /presets`: public, cacheable, complete, and without prompt seeds.

use serde_json::Value;
use shared::app::Services;
use shared::config::{ROOM_TYPES, STYLES};
use shared::http::{Body, Request, Response};
use testkit::TestStack;

async fn get(stack: &TestStack, method: &str, token: Option<&str>) -> (u16, Value, String) {
    let reply = stack.reply(presets, method, "/presets", token, None).await;
    let cache = reply.header("cache-control").to_string();
    (reply.status, reply.body, cache)
}

/// The presets function needs no services; called like every other.
async fn presets(_: &Services, request: Request) -> Response<Body> {
    presets::handle(request).await
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn lists_modes_room_types_styles_and_defaults_publicly() {
    let stack = TestStack::spawn().await;
    let (status, body, cache) = get(&stack, "GET", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache, "public, max-age=3600");
    let data = &body["data"];
    assert_eq!(ids(&data["modes"]), vec!["redesign", "staging", "compose", "imagine"]);
    assert!(data["roomTypes"].as_array().unwrap().len() >= 8);
    assert!(data["styles"].as_array().unwrap().len() >= 8);
    for list in [&data["modes"], &data["roomTypes"], &data["styles"]] {
        for item in list.as_array().unwrap() {
            let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
            assert_eq!(keys, vec!["id", "label"], "only id and label: {item}");
            assert!(!item["label"].as_str().unwrap().is_empty());
        }
    }
    let defaults = &data["defaults"];
    assert_eq!(defaults["mode"], "redesign");
    assert!(ids(&data["roomTypes"]).contains(&defaults["roomType"].as_str().unwrap()));
    assert!(ids(&data["styles"]).contains(&defaults["style"].as_str().unwrap()));
    assert_eq!(data["colors"]["theme"], "light");
}

#[tokio::test]
async fn prompt_seeds_never_leave_the_server() {
    let stack = TestStack::spawn().await;
    let (_, body, _) = get(&stack, "GET", None).await;
    let text = body.to_string();
    for preset in ROOM_TYPES.iter().chain(STYLES) {
        assert!(!text.contains(preset.prompt_seed), "seed of {} leaked", preset.id);
    }
    assert!(!text.to_lowercase().contains("seed"));
}

#[tokio::test]
async fn a_token_is_ignored_even_a_bad_one() {
    let stack = TestStack::spawn().await;
    let user = stack.create_user().await;
    let (anonymous, _, _) = get(&stack, "GET", None).await;
    let (signed_in, _, _) = get(&stack, "GET", Some(&user.token)).await;
    let (garbage, _, _) = get(&stack, "GET", Some("not-a-token")).await;
    assert_eq!((anonymous, signed_in, garbage), (200, 200, 200));
}

#[tokio::test]
async fn other_methods_are_405_and_other_paths_404() {
    let stack = TestStack::spawn().await;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let (status, body, cache) = get(&stack, method, None).await;
        assert_eq!(status, 405, "{method}");
        assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
        assert_eq!(cache, "private, no-store", "errors are not cached publicly");
    }
    let (status, _) = stack.call(presets, "GET", "/presets/extra", None, None).await;
    assert_eq!(status, 404);
}
