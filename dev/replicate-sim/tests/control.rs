//! The `/_sim/` hooks over HTTP, as `make dev` and manual testing use them.

mod common;

use common::{sim, Api, TestServer};
use serde_json::{json, Value};

async fn control(api: &Api, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = api.http.request(method, format!("{}/_sim{path}", api.base));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn behaviour_is_set_and_listed_over_http() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let (status, queue) = control(
        &api,
        reqwest::Method::POST,
        "/behaviour",
        Some(json!({"behaviour": {"outcome": "fail", "error_message": "NSFW content detected"}, "count": 1})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(queue[0]["remaining"], 1);
    let (_, queue) = control(
        &api,
        reqwest::Method::POST,
        "/behaviour",
        Some(json!({"behaviour": {"create_status": {"throttled": {"retry_after": 3}}}, "count": 1, "append": true})),
    )
    .await;
    assert_eq!(queue.as_array().unwrap().len(), 2);

    let created = api.create(json!({"prompt": "p"}), None).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["error"], "NSFW content detected");
    assert_eq!(api.create_raw(&json!({"input": {"prompt": "p"}}), None).await.status(), 429);

    let (status, body) = control(&api, reqwest::Method::POST, "/behaviour", Some(json!({"outcom": "fail"}))).await;
    assert_eq!(status, 400, "typos are rejected: {body}");

    let (_, stats) = control(&api, reqwest::Method::GET, "/stats", None).await;
    assert_eq!(stats, json!({"create_calls": 2, "predictions": 1, "deliveries": 0}));
}

#[tokio::test]
async fn predictions_deliveries_redeliver_and_reset_over_http() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    let image_host = TestServer::answering(404).await;
    let created = api
        .create(json!({"prompt": "p", "image_input": [format!("{}/gone.png", image_host.url)]}), Some(&receiver.url))
        .await;
    let id = created["id"].as_str().unwrap();
    api.wait_done(id).await;
    receiver.wait_for(1).await;

    let (_, predictions) = control(&api, reqwest::Method::GET, "/predictions", None).await;
    assert_eq!(predictions[0]["id"], id);
    assert_eq!(predictions[0]["status"], "failed");
    let (_, fetches) = control(&api, reqwest::Method::GET, "/input-fetches", None).await;
    assert_eq!(fetches[0]["status"], 404);

    let (status, record) =
        control(&api, reqwest::Method::POST, &format!("/predictions/{id}/redeliver?new_id=true"), None).await;
    assert_eq!(status, 200);
    assert_eq!(record["redelivery"], true);
    let (_, deliveries) = control(&api, reqwest::Method::GET, "/deliveries", None).await;
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_ne!(deliveries[0]["webhook_id"], deliveries[1]["webhook_id"]);
    assert_eq!(deliveries[1]["headers"]["webhook-id"], deliveries[1]["webhook_id"]);

    let (status, _) = control(&api, reqwest::Method::POST, "/predictions/nope/redeliver", None).await;
    assert_eq!(status, 404);

    let (status, _) = control(&api, reqwest::Method::POST, "/reset", None).await;
    assert_eq!(status, 200);
    let (_, predictions) = control(&api, reqwest::Method::GET, "/predictions", None).await;
    assert_eq!(predictions, json!([]));
    assert!(sim.deliveries().is_empty());
}

#[tokio::test]
async fn complete_forces_a_hanging_prediction_over_http() {
    let sim = sim().await;
    let api = Api::new(&sim);
    control(&api, reqwest::Method::POST, "/behaviour", Some(json!({"behaviour": {"outcome": "hang"}}))).await;
    let created = api.create(json!({"prompt": "p"}), None).await;
    let id = created["id"].as_str().unwrap();
    let (status, done) = control(&api, reqwest::Method::POST, &format!("/predictions/{id}/complete"), None).await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "succeeded");
}
