//! The happy path end to end over HTTP: create, input fetch, real JPEG
//! output, signed webhook; plus the output shapes and input failures.

mod common;

use std::time::Duration;

use common::{encode, signature_is_valid, sim, split_image, Api, TestServer};
use image::{GenericImageView, ImageFormat};
use replicate_sim::{sign, Behaviour};
use serde_json::{json, Value};

async fn fetch_jpeg(url: &str) -> Vec<u8> {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn prediction_reads_its_input_makes_a_jpeg_and_sends_a_signed_webhook() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let images = TestServer::serving("image/png", encode(&split_image(1600, 1200), ImageFormat::Png)).await;
    let receiver = TestServer::answering(200).await;
    let input_url = format!("{}/private/u1/inputs/room.png?X-Amz-Signature=abc", images.url);

    let created = api
        .create(
            json!({"prompt": "a calm blue bedroom", "image_input": [input_url], "output_format": "jpg"}),
            Some(&format!("{}/webhooks/replicate?job=1", receiver.url)),
        )
        .await;
    assert_eq!(created["status"], "starting");
    assert_eq!(created["model"], "google/nano-banana");
    assert_eq!(created["version"], "hidden", "an official model's version is not disclosed");
    assert_eq!(created["output"], serde_json::Value::Null);
    assert_eq!(created["input"]["prompt"], "a calm blue bedroom");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["urls"]["get"], format!("{}/v1/predictions/{id}", sim.url()));
    assert_eq!(created["urls"]["cancel"], format!("{}/v1/predictions/{id}/cancel", sim.url()));
    assert!(created["urls"]["web"].as_str().is_some_and(|web| web.ends_with(&format!("/p/{id}"))));

    let done = api.wait_done(id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["completed_at"].is_string() && done["started_at"].is_string());
    assert!(done["metrics"]["predict_time"].as_f64().unwrap() >= 0.0);
    let output_url = done["output"].as_str().expect("one output is a plain URL string");
    assert!(output_url.starts_with(&format!("{}/delivery/{id}/", sim.url())));

    // The presigned URL was fetched with a plain GET, query string and all.
    let fetches = images.received();
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0].method, "GET");
    assert_eq!(fetches[0].path, "/private/u1/inputs/room.png");
    assert_eq!(sim.input_fetches(), vec![(input_url.clone(), Some(200))]);

    // A real JPEG, scaled to 1024 px wide, still red left and blue right.
    let jpeg = fetch_jpeg(output_url).await;
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
    let output = image::load_from_memory(&jpeg).unwrap();
    assert_eq!(output.dimensions(), (1024, 768));
    let left = output.get_pixel(100, 384).0;
    let right = output.get_pixel(924, 384).0;
    assert!(left[0] > left[2] + 60, "left stays red: {left:?}");
    assert!(right[2] > right[0] + 60, "right stays blue: {right:?}");

    let hooks = receiver.wait_for(1).await;
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(hook.path, "/webhooks/replicate");
    assert_eq!(hook.header("content-type"), "application/json");
    assert!(hook.header("webhook-id").starts_with("msg_"));
    let age = chrono::Utc::now().timestamp() - hook.header("webhook-timestamp").parse::<i64>().unwrap();
    assert!((0..60).contains(&age));
    assert!(signature_is_valid(sim.webhook_secret(), hook));
    assert_eq!(hook.json(), done, "the webhook carries the prediction as GET shows it");

    let deliveries = sim.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status_code, Some(200));
    assert_eq!(deliveries[0].webhook_id, hook.header("webhook-id"));
    assert_eq!(sim.create_calls(), 1);
    assert_eq!(sim.prediction(id).unwrap(), done);
}

#[tokio::test]
async fn imagine_mode_makes_a_generated_image() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let created = api.create(json!({"prompt": "a loft in Lisbon"}), None).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    let jpeg = fetch_jpeg(done["output"].as_str().unwrap()).await;
    assert_eq!(image::load_from_memory(&jpeg).unwrap().dimensions(), (768, 768));
    assert!(sim.input_fetches().is_empty());
}

#[tokio::test]
async fn several_outputs_come_as_an_array_of_distinct_images() {
    let sim = sim().await;
    let api = Api::new(&sim);
    sim.set_behaviour(Behaviour { outputs: 3, ..Behaviour::default() }, Some(1));
    let created = api.create(json!({"prompt": "p"}), None).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    let urls = done["output"].as_array().expect("array for several outputs");
    assert_eq!(urls.len(), 3);
    let mut images = Vec::new();
    for url in urls {
        images.push(fetch_jpeg(url.as_str().unwrap()).await);
    }
    assert_ne!(images[0], images[1]);
    assert_ne!(images[1], images[2]);
}

#[tokio::test]
async fn output_min_bytes_pads_to_a_still_decodable_jpeg() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let min = 2 * 1024 * 1024;
    sim.set_behaviour(Behaviour { output_min_bytes: min, ..Behaviour::default() }, None);
    let images = TestServer::serving("image/jpeg", encode(&split_image(400, 300), ImageFormat::Jpeg)).await;
    let created = api.create(json!({"prompt": "p", "image_input": [format!("{}/a.jpg", images.url)]}), None).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    let jpeg = fetch_jpeg(done["output"].as_str().unwrap()).await;
    assert!(jpeg.len() >= min, "{} bytes", jpeg.len());
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
    assert_eq!(image::load_from_memory(&jpeg).unwrap().dimensions(), (400, 300));
}

#[tokio::test]
async fn output_url_base_points_outputs_elsewhere() {
    let sim = sim().await;
    let api = Api::new(&sim);
    sim.set_behaviour(
        Behaviour { output_url_base: Some("http://169.254.169.254/latest".into()), ..Behaviour::default() },
        Some(1),
    );
    let created = api.create(json!({"prompt": "p"}), None).await;
    let id = created["id"].as_str().unwrap();
    let done = api.wait_done(id).await;
    assert_eq!(done["output"], format!("http://169.254.169.254/latest/{id}/0.jpg"));

    sim.set_behaviour(
        Behaviour { output_url_base: Some("http://127.0.0.1:5432/x?{id}-{index}".into()), ..Behaviour::default() },
        Some(1),
    );
    let created = api.create(json!({"prompt": "p"}), None).await;
    let id = created["id"].as_str().unwrap();
    let done = api.wait_done(id).await;
    assert_eq!(done["output"], format!("http://127.0.0.1:5432/x?{id}-0"));
}

#[tokio::test]
async fn input_that_cannot_be_fetched_fails_the_prediction() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let missing = TestServer::answering(404).await;
    let receiver = TestServer::answering(200).await;
    let url = format!("{}/private/expired.png", missing.url);
    let created = api.create(json!({"prompt": "p", "image_input": [url]}), Some(&receiver.url)).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed");
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("image_input[0]") && error.contains("404"), "{error}");
    assert_eq!(done["output"], serde_json::Value::Null);
    assert_eq!(sim.input_fetches(), vec![(url, Some(404))]);
    assert_eq!(receiver.wait_for(1).await[0].json()["status"], "failed");
}

#[tokio::test]
async fn input_that_is_not_an_image_fails_the_prediction() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let html = TestServer::serving("text/html", b"<html>AccessDenied</html>".to_vec()).await;
    let created = api.create(json!({"prompt": "p", "image_input": [format!("{}/x.png", html.url)]}), None).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed");
    assert!(done["error"].as_str().unwrap().contains("not an image"), "{done}");
}

#[tokio::test]
async fn compose_mode_reads_both_inputs() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let images = TestServer::serving("image/webp", encode(&split_image(300, 200), ImageFormat::WebP)).await;
    let urls = [format!("{}/1.webp", images.url), format!("{}/2.webp", images.url)];
    let created = api.create(json!({"prompt": "p", "image_input": urls}), None).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(images.received().len(), 2);
}

#[tokio::test]
async fn signing_matches_the_standard_webhooks_test_vector() {
    let signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        br#"{"test": 2432232314}"#,
    );
    assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let sim = sim().await;
    let url = format!("{}/v1/predictions/x", sim.url());
    drop(sim);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    assert!(client.get(url).send().await.is_err());
}

/// Sync mode: `Prefer: wait` holds the 201 until the prediction ends, or
/// answers it unfinished when the wait runs out.
#[tokio::test]
async fn prefer_wait_answers_the_finished_prediction() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let create = |prefer: &'static str| {
        api.http
            .post(format!("{}/v1/models/google/nano-banana/predictions", api.base))
            .bearer_auth(&api.token)
            .header("Prefer", prefer)
            .json(&json!({"input": {"prompt": "p"}}))
            .send()
    };
    let response = create("wait").await.unwrap();
    assert_eq!(response.status(), 201);
    let done: Value = response.json().await.unwrap();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["output"].is_string());

    sim.set_behaviour(Behaviour { processing_ms: 5_000, ..Behaviour::default() }, Some(1));
    let response = create("wait=1").await.unwrap();
    assert_eq!(response.status(), 201);
    let unfinished: Value = response.json().await.unwrap();
    assert!(["starting", "processing"].contains(&unfinished["status"].as_str().unwrap()), "{unfinished}");

    assert_eq!(create("wait=0").await.unwrap().status(), 400);
}
