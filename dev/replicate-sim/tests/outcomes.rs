//! How predictions end: scripted failure and cancel, API cancel, the
//! `Cancel-After` deadline, and hanging runs.

mod common;

use std::time::Duration;

use common::{sim, sim_taking_short_deadlines, Api, TestServer};
use replicate_sim::{Behaviour, Outcome};
use serde_json::{json, Value};

async fn cancel(api: &Api, id: &str) -> Value {
    let response =
        api.http.post(format!("{}/v1/predictions/{id}/cancel", api.base)).bearer_auth(&api.token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn fail_outcome_ends_failed_with_the_simulated_error() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour::outcome(Outcome::Fail), Some(1));
    let created = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["error"], "simulated failure");
    assert_eq!(done["output"], Value::Null);
    let hook = &receiver.wait_for(1).await[0];
    assert_eq!(hook.json()["status"], "failed");

    let next = api.create(json!({"prompt": "p"}), None).await;
    assert_eq!(api.wait_done(next["id"].as_str().unwrap()).await["status"], "succeeded");
}

#[tokio::test]
async fn cancel_outcome_ends_canceled_and_announces_it() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour::outcome(Outcome::Cancel), Some(1));
    let created = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "canceled");
    assert_eq!(receiver.wait_for(1).await[0].json()["status"], "canceled");
}

#[tokio::test]
async fn api_cancel_stops_a_running_prediction_and_leaves_a_finished_one() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour { processing_ms: 5_000, ..Behaviour::default() }, Some(1));
    let created = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let id = created["id"].as_str().unwrap();

    let canceled = cancel(&api, id).await;
    assert_eq!(canceled["status"], "canceled");
    assert!(canceled["completed_at"].is_string());
    assert_eq!(receiver.wait_for(1).await.len(), 1, "one webhook for the cancel");

    // Canceling again changes nothing; the run never completes it later.
    assert_eq!(cancel(&api, id).await, canceled);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(api.get(id).await, canceled);

    let finished = api.create(json!({"prompt": "p"}), None).await;
    let finished_id = finished["id"].as_str().unwrap();
    let done = api.wait_done(finished_id).await;
    assert_eq!(cancel(&api, finished_id).await, done);
    assert_eq!(done["status"], "succeeded");
}

#[tokio::test]
async fn cancel_after_deadline_cancels_a_slow_prediction() {
    let sim = sim_taking_short_deadlines().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour { processing_ms: 10_000, ..Behaviour::default() }, Some(1));
    let body = json!({"input": {"prompt": "p"}, "webhook": receiver.url, "webhook_events_filter": ["completed"]});
    let response = api.create_raw(&body, Some("300ms")).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "canceled");
    assert_eq!(receiver.wait_for(1).await[0].json()["status"], "canceled");

    // A deadline that is not reached changes nothing.
    let response = api.create_raw(&body, Some("10m")).await;
    let created: Value = response.json().await.unwrap();
    assert_eq!(api.wait_done(created["id"].as_str().unwrap()).await["status"], "succeeded");
}

/// Replicate's `aborted`: the deadline passed while the prediction was
/// still queued, so it never started (no `started_at`), and the completed
/// webhook says so.
#[tokio::test]
async fn a_deadline_passing_in_the_queue_aborts_the_prediction() {
    let sim = sim_taking_short_deadlines().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour { queued_ms: 10_000, ..Behaviour::default() }, Some(1));
    let body = json!({"input": {"prompt": "p"}, "webhook": receiver.url, "webhook_events_filter": ["completed"]});
    let created: Value = api.create_raw(&body, Some("300ms")).await.json().await.unwrap();
    assert_eq!(created["status"], "starting");
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "aborted");
    assert!(done["started_at"].is_null(), "{done}");
    assert_eq!(receiver.wait_for(1).await[0].json()["status"], "aborted");
}

#[tokio::test]
async fn hang_stays_processing_without_a_webhook_until_forced() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour::outcome(Outcome::Hang), Some(1));
    let created = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let id = created["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stuck = api.get(id).await;
    assert_eq!(stuck["status"], "processing");
    assert!(stuck["started_at"].is_string());
    assert!(receiver.received().is_empty());
    assert!(sim.deliveries().is_empty());

    // A late success, as when the product's timeout already gave up.
    let done = sim.complete_now(id).await.unwrap();
    assert_eq!(done["status"], "succeeded");
    assert!(done["output"].is_string());
    assert_eq!(receiver.wait_for(1).await[0].json()["status"], "succeeded");
}

#[tokio::test]
async fn hang_with_a_deadline_ends_canceled() {
    let sim = sim_taking_short_deadlines().await;
    let api = Api::new(&sim);
    sim.set_behaviour(Behaviour::outcome(Outcome::Hang), None);
    let response = api.create_raw(&json!({"input": {"prompt": "p"}}), Some("200ms")).await;
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let done = sim.wait_terminal(id, Duration::from_secs(5)).await.unwrap();
    assert_eq!(done["status"], "canceled");
}

#[tokio::test]
async fn complete_now_skips_the_remaining_run_time() {
    let sim = sim().await;
    let api = Api::new(&sim);
    sim.set_behaviour(Behaviour { processing_ms: 60_000, ..Behaviour::default() }, Some(1));
    let created = api.create(json!({"prompt": "p"}), None).await;
    let started = std::time::Instant::now();
    let done = sim.complete_now(created["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(done["status"], "succeeded");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(sim.complete_now("unknown").await.is_none());
}
