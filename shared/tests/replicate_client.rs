//! The Replicate client against a scripted local server: the exact requests it
//! sends, how it reads Replicate's answers and errors, its one retry on a short
//! rate limit, and the output download rules of SECURITY.md item 16.

#[path = "replicate_client/mock_server.rs"]
mod mock_server;

/// Output downloads (SECURITY.md item 16), with this file's helpers.
#[path = "replicate_client/downloads.rs"]
mod downloads;

use std::time::{Duration, Instant};

use mock_server::{Canned, MockServer};
use serde_json::json;
use shared::replicate::{OutputPolicy, PredictionStatus, ReplicateClient, ReplicateConfig, ReplicateError};
use uuid::Uuid;

/// The `Cancel-After` the product asks for (the job timeout).
const DEADLINE: Duration = shared::config::JOB_TIMEOUT;

const TOKEN: &str = "r8_test_token";
const WEBHOOK_URL: &str = "https://hooks.example.com/webhooks/replicate";
const PREDICTION_ID: &str = "gm3qorzdhgbfurvjtvhg6dckhu";

fn config_for(server: &MockServer, output_policy: OutputPolicy) -> ReplicateConfig {
    ReplicateConfig {
        api_url: server.base_url(),
        api_token: TOKEN.into(),
        model: "google/nano-banana".into(),
        model_inputs: shared::replicate::ModelInputs::default(),
        webhook_url: Some(WEBHOOK_URL.into()),
        webhook_secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        output_policy,
    }
}

/// A client whose output policy admits the mock server over plain http.
fn client_for(server: &MockServer) -> ReplicateClient {
    ReplicateClient::new(config_for(server, local_policy(server, 64 * 1024)))
}

fn local_policy(server: &MockServer, max_bytes: usize) -> OutputPolicy {
    OutputPolicy { allowed_hosts: vec![server.host_and_port()], allow_http: true, max_bytes }
}

fn prediction_json(status: &str, output: serde_json::Value) -> serde_json::Value {
    json!({
        "id": PREDICTION_ID,
        "model": "google/nano-banana",
        "status": status,
        "input": {"prompt": "p"},
        "output": output,
        "error": null,
        "logs": "",
        "urls": {"get": "https://api.replicate.com/v1/predictions/x", "cancel": "https://api.replicate.com/v1/predictions/x/cancel"}
    })
}

fn starting() -> Canned {
    Canned::json(201, &prediction_json("starting", json!(null)))
}

// ---- Creating a prediction ----

#[tokio::test]
async fn create_sends_path_auth_deadline_and_body() {
    let server = MockServer::start([starting()]).await;
    let job_id = Uuid::new_v4();
    let images = vec!["https://s3.example.com/private/u/inputs/a.jpg?X-Amz-Signature=s".to_string()];

    let client = client_for(&server);
    let prediction = client.create_prediction(job_id, "Redesign the room", &images, DEADLINE).await.unwrap();
    assert_eq!(prediction.id, PREDICTION_ID);
    assert_eq!(prediction.status, PredictionStatus::Starting);
    let token = client.webhook_verifier().job_token(&job_id.to_string()).unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/models/google/nano-banana/predictions");
    assert_eq!(request.header("authorization"), Some("Bearer r8_test_token"));
    assert_eq!(request.header("cancel-after"), Some("10m"));
    assert!(request.header("content-type").is_some_and(|value| value.starts_with("application/json")));
    assert_eq!(
        request.json(),
        json!({
            "input": {
                "prompt": "Redesign the room",
                "image_input": images,
                "aspect_ratio": "match_input_image",
                "output_format": "jpg"
            },
            "webhook": format!("{WEBHOOK_URL}?jobId={job_id}&jobToken={token}"),
            "webhook_events_filter": ["completed"],
        })
    );
}

#[tokio::test]
async fn create_without_images_omits_image_input() {
    let server = MockServer::start([starting()]).await;
    client_for(&server).create_prediction(Uuid::new_v4(), "Imagine a loft", &[], DEADLINE).await.unwrap();
    let input = server.requests()[0].json()["input"].clone();
    // No photo to match: the configured ratio for imagine.
    assert_eq!(input, json!({"prompt": "Imagine a loft", "aspect_ratio": "4:3", "output_format": "jpg"}));
}

// ---- Reading predictions ----

#[tokio::test]
async fn output_is_normalised_from_string_array_and_null() {
    let server = MockServer::start([
        Canned::json(200, &prediction_json("succeeded", json!("https://replicate.delivery/a/out-0.jpg"))),
        Canned::json(200, &prediction_json("succeeded", json!(["https://r/1.jpg", "https://r/2.jpg"]))),
        Canned::json(200, &prediction_json("processing", json!(null))),
    ])
    .await;
    let client = client_for(&server);

    let single = client.get_prediction(PREDICTION_ID).await.unwrap();
    assert_eq!(single.output, ["https://replicate.delivery/a/out-0.jpg"]);
    assert!(single.status.is_terminal());
    let many = client.get_prediction(PREDICTION_ID).await.unwrap();
    assert_eq!(many.output, ["https://r/1.jpg", "https://r/2.jpg"]);
    let none = client.get_prediction(PREDICTION_ID).await.unwrap();
    assert!(none.output.is_empty());
    assert_eq!(none.status, PredictionStatus::Processing);

    let request = &server.requests()[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu"));
    assert_eq!(request.header("authorization"), Some("Bearer r8_test_token"));
}

#[tokio::test]
async fn cancel_posts_to_the_cancel_path() {
    let server = MockServer::start([Canned::json(200, &prediction_json("canceled", json!(null)))]).await;
    let prediction = client_for(&server).cancel_prediction(PREDICTION_ID).await.unwrap();
    assert_eq!(prediction.status, PredictionStatus::Canceled);
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel")
    );
}

#[tokio::test]
async fn malformed_prediction_ids_send_nothing() {
    let server = MockServer::start([]).await;
    let client = client_for(&server);
    for id in ["", "../models", "a/b", "x?y=1", &"a".repeat(65)] {
        let result = client.get_prediction(id).await;
        assert!(matches!(result, Err(ReplicateError::Rejected { status: 400, .. })), "{id}: {result:?}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn get_of_an_unknown_prediction_is_not_found() {
    let server = MockServer::start([Canned::json(404, &json!({"detail": "Not found."}))]).await;
    let result = client_for(&server).get_prediction(PREDICTION_ID).await;
    assert!(matches!(result, Err(ReplicateError::NotFound)), "{result:?}");
}

// ---- Errors and rate limits ----

/// Replicate's throttle answer: `Retry-After` in seconds and a problem
/// document whose `detail` is a sentence (no number field to rely on).
fn throttled(seconds: u64) -> Canned {
    Canned::json(
        429,
        &json!({"title": "Request was throttled", "detail": format!("Request was throttled. Expected available in {seconds} seconds."), "status": 429}),
    )
    .header("retry-after", &seconds.to_string())
}

#[tokio::test]
async fn short_rate_limit_is_retried_once() {
    let server = MockServer::start([throttled(1), starting()]).await;
    let started = Instant::now();
    let prediction = client_for(&server).create_prediction(Uuid::new_v4(), "p", &[], DEADLINE).await.unwrap();
    assert_eq!(prediction.status, PredictionStatus::Starting);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body, "the retry repeats the same request");
}

#[tokio::test]
async fn the_retry_after_header_decides_not_a_body_field() {
    // A body field Replicate does not document must not stretch the wait.
    let misleading =
        Canned::json(429, &json!({"detail": "Request was throttled.", "retry_after": 30})).header("retry-after", "1");
    let server = MockServer::start([misleading, Canned::json(200, &prediction_json("processing", json!(null)))]).await;
    client_for(&server).get_prediction(PREDICTION_ID).await.unwrap();
    assert_eq!(server.requests().len(), 2, "retried after the header's 1 s");
}

#[tokio::test]
async fn long_rate_limit_is_returned_without_waiting() {
    let server = MockServer::start([throttled(30), starting()]).await;
    let started = Instant::now();
    let result = client_for(&server).create_prediction(Uuid::new_v4(), "p", &[], DEADLINE).await;
    match result {
        Err(ReplicateError::RateLimited { retry_after }) => assert_eq!(retry_after, Duration::from_secs(30)),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_after_the_retry_is_returned() {
    let server = MockServer::start([throttled(1), throttled(1), starting()]).await;
    let result = client_for(&server).create_prediction(Uuid::new_v4(), "p", &[], DEADLINE).await;
    assert!(matches!(result, Err(ReplicateError::RateLimited { .. })), "{result:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn server_error_is_unavailable() {
    let server = MockServer::start([Canned::new(500, "oops")]).await;
    let result = client_for(&server).create_prediction(Uuid::new_v4(), "p", &[], DEADLINE).await;
    assert!(matches!(result, Err(ReplicateError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn unreachable_api_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);
    let server = MockServer::start([]).await;
    let mut config = config_for(&server, local_policy(&server, 1024));
    config.api_url = format!("http://127.0.0.1:{closed_port}");
    let result = ReplicateClient::new(config).get_prediction(PREDICTION_ID).await;
    match result {
        Err(ReplicateError::Unavailable(reason)) => assert!(!reason.contains("127.0.0.1"), "{reason}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_input_is_rejected_with_a_redacted_detail() {
    let detail = "image_input: cannot read https://s3.example.com/private/a.jpg?X-Amz-Signature=topsecret";
    let server =
        MockServer::start([Canned::json(422, &json!({"title": "Input validation failed", "detail": detail}))]).await;
    let result = client_for(&server).create_prediction(Uuid::new_v4(), "p", &[], DEADLINE).await;
    match result {
        Err(ReplicateError::Rejected { status, detail }) => {
            assert_eq!(status, 422);
            assert!(detail.starts_with("image_input: cannot read https://s3.example.com/private/a.jpg"), "{detail}");
            assert!(!detail.contains("topsecret"), "{detail}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_success_body_is_an_invalid_response() {
    let server = MockServer::start([Canned::new(200, "<html>hello</html>")]).await;
    let result = client_for(&server).get_prediction(PREDICTION_ID).await;
    assert!(matches!(result, Err(ReplicateError::InvalidResponse(_))), "{result:?}");
}
