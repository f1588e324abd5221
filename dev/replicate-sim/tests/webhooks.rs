//! Webhook delivery: suppressed, duplicated, retried, delayed, redelivered;
//! every POST signed over exactly the bytes sent.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{signature_is_valid, sim, Api, TestServer};
use replicate_sim::{spawn, Behaviour, Outcome, SimConfig, WebhookMode};
use serde_json::json;

#[tokio::test]
async fn webhook_mode_none_sends_nothing_but_the_prediction_ends() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour::webhook(WebhookMode::None), Some(1));
    let created = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    assert_eq!(api.wait_done(created["id"].as_str().unwrap()).await["status"], "succeeded");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
    assert!(sim.deliveries().is_empty());
}

#[tokio::test]
async fn a_filter_without_completed_gets_no_webhook() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    let body = json!({"input": {"prompt": "p"}, "webhook": receiver.url, "webhook_events_filter": ["start"]});
    let created: serde_json::Value = api.create_raw(&body, None).await.json().await.unwrap();
    api.wait_done(created["id"].as_str().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_the_same_signed_message_sent_concurrently() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let slow = Duration::from_millis(400);
    let receiver =
        TestServer::start_delayed(Arc::new(|_, _| (200, "application/json", Bytes::from_static(b"{}"))), slow).await;
    let duplicate = WebhookMode::Duplicate { count: 5, concurrent: true };
    sim.set_behaviour(Behaviour::webhook(duplicate), Some(1));
    api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;

    let hooks = receiver.wait_for(5).await;
    assert_eq!(hooks.len(), 5);
    let first = &hooks[0];
    for hook in &hooks {
        assert_eq!(hook.header("webhook-id"), first.header("webhook-id"));
        assert_eq!(hook.header("webhook-timestamp"), first.header("webhook-timestamp"));
        assert_eq!(hook.header("webhook-signature"), first.header("webhook-signature"));
        assert_eq!(hook.body, first.body);
        assert!(signature_is_valid(sim.webhook_secret(), hook));
        // All arrived while the first was still being answered: concurrent.
        assert!(hook.arrived.duration_since(first.arrived) < slow, "copies overlap");
    }
    // Attempts are recorded once answered.
    tokio::time::sleep(slow + Duration::from_millis(200)).await;
    assert_eq!(sim.deliveries().len(), 5);
}

#[tokio::test]
async fn sequential_duplicates_arrive_one_after_another() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let slow = Duration::from_millis(100);
    let receiver =
        TestServer::start_delayed(Arc::new(|_, _| (200, "application/json", Bytes::from_static(b"{}"))), slow).await;
    sim.set_behaviour(Behaviour::webhook(WebhookMode::Duplicate { count: 3, concurrent: false }), Some(1));
    api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let hooks = receiver.wait_for(3).await;
    assert_eq!(hooks.len(), 3);
    for pair in hooks.windows(2) {
        assert_eq!(pair[0].header("webhook-id"), pair[1].header("webhook-id"));
        assert!(pair[1].arrived.duration_since(pair[0].arrived) >= slow);
    }
}

#[tokio::test]
async fn receiver_503_is_retried_with_the_same_id_until_it_succeeds() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::start(Arc::new(|_, index| {
        let status = if index < 2 { 503 } else { 200 };
        (status, "application/json", Bytes::from_static(b"{}"))
    }))
    .await;
    let created = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let hooks = receiver.wait_for(3).await;
    assert_eq!(hooks.len(), 3, "stops after the first 2xx");
    for hook in &hooks {
        assert_eq!(hook.header("webhook-id"), hooks[0].header("webhook-id"));
        assert!(signature_is_valid(sim.webhook_secret(), hook));
        assert_eq!(hook.body, hooks[0].body);
    }
    let attempts: Vec<_> = sim.deliveries().iter().map(|d| (d.attempt, d.status_code)).collect();
    assert_eq!(attempts, [(1, Some(503)), (2, Some(503)), (3, Some(200))]);
    assert!(sim.deliveries().iter().all(|d| d.prediction_id == created["id"]));
}

/// Replicate retries the final webhook after "a 4xx or 5xx response" alike.
#[tokio::test]
async fn a_4xx_answer_is_retried_like_a_5xx() {
    let sim =
        spawn(SimConfig { webhook_attempts: 3, webhook_backoff: Duration::from_millis(10), ..SimConfig::default() })
            .await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(401).await;
    api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let hooks = receiver.wait_for(3).await;
    assert_eq!(hooks.len(), 3);
    assert!(hooks.iter().all(|hook| hook.header("webhook-id") == hooks[0].header("webhook-id")));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 3, "the configured attempts, then it gives up");
}

#[tokio::test]
async fn an_unreachable_receiver_gets_the_configured_number_of_attempts() {
    let sim =
        spawn(SimConfig { webhook_attempts: 3, webhook_backoff: Duration::from_millis(10), ..SimConfig::default() })
            .await;
    let api = Api::new(&sim);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    let created = api.create(json!({"prompt": "p"}), Some(&closed)).await;
    api.wait_done(created["id"].as_str().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deliveries = sim.deliveries();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries.iter().all(|d| d.status_code.is_none() && d.error.is_some()));
}

#[tokio::test]
async fn delayed_webhook_comes_after_the_prediction_ended() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour::webhook(WebhookMode::Delayed { ms: 500 }), Some(1));
    let created = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let done = api.wait_done(created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    assert!(receiver.received().is_empty(), "not yet");
    assert_eq!(receiver.wait_for(1).await[0].json(), done);
}

#[tokio::test]
async fn redeliver_replays_the_body_re_signed_with_the_same_or_a_new_id() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    let created = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let id = created["id"].as_str().unwrap();
    let original = receiver.wait_for(1).await.remove(0);

    let same = sim.redeliver(id, false).await.unwrap();
    assert!(same.redelivery);
    assert_eq!(same.status_code, Some(200));
    let new = sim.redeliver(id, true).await.unwrap();
    let hooks = receiver.wait_for(3).await;
    assert_eq!(hooks[1].header("webhook-id"), original.header("webhook-id"));
    assert_eq!(hooks[1].header("webhook-id"), same.webhook_id);
    assert_ne!(hooks[2].header("webhook-id"), original.header("webhook-id"));
    assert_eq!(hooks[2].header("webhook-id"), new.webhook_id);
    for hook in &hooks {
        assert_eq!(hook.body, original.body);
        assert!(signature_is_valid(sim.webhook_secret(), hook));
    }
    assert!(sim.redeliver("unknown", false).await.is_none());
}

#[tokio::test]
async fn redeliver_after_mode_none_sends_the_finished_prediction() {
    let sim = sim().await;
    let api = Api::new(&sim);
    let receiver = TestServer::answering(200).await;
    sim.set_behaviour(Behaviour::webhook(WebhookMode::None), Some(1));
    sim.push_behaviour(Behaviour::outcome(Outcome::Hang), Some(1));
    let quiet = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    let quiet_id = quiet["id"].as_str().unwrap();
    let done = api.wait_done(quiet_id).await;
    let record = sim.redeliver(quiet_id, false).await.unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&record.body).unwrap(), done);
    assert!(signature_is_valid(sim.webhook_secret(), &receiver.wait_for(1).await[0]));

    let hanging = api.create(json!({"prompt": "p"}), Some(&receiver.url)).await;
    assert!(sim.redeliver(hanging["id"].as_str().unwrap(), false).await.is_none(), "not finished");
}
