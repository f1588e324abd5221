//! The generation pipeline end to end, as spec section 8 describes it:
//! upload -> submit -> webhook -> job succeeded with its images stored and
//! served, one debit, My Favorites present.

mod support;

use replicate_sim::{Behaviour, Outcome, WebhookMode};
use serde_json::json;
use support::Api;

#[tokio::test]
async fn upload_submit_webhook_gives_a_stored_render_and_one_debit() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let input = api.upload(&user).await;
    assert!(input.starts_with(&format!("private/{}/inputs/", user.id)));

    let (status, submitted) = api.submit_redesign(&user, &input).await;
    assert_eq!(status, 202, "{submitted}");
    let job_id = submitted["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(submitted["data"]["status"], "processing");

    let job = api.wait_for(&user, &job_id, "succeeded").await;
    let render_id = support::render_of(&job_id).to_string();
    assert_eq!(job["renderId"], render_id.as_str(), "the render id derives from the job id");
    assert!(!render_id.contains(&job_id));
    let variants = job["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 1);
    let url = variants[0]["imageUrl"].as_str().unwrap();
    assert_eq!(url, format!("{}/storage/v1/object/public/public/renders/{render_id}/0.jpg", api.stack.base_url));
    assert!(!url.contains(&job_id), "image URLs do not reveal the job");
    let image = api.http.get(url).send().await.unwrap();
    assert_eq!(image.status(), 200);
    let bytes = image.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");

    // The simulator read the input through its presigned URL.
    assert!(api.stack.sim.input_fetches().iter().any(|(_, status)| *status == Some(200)));
    let prediction = api.stack.sim.predictions().pop().unwrap();
    let prompt = prediction["input"]["prompt"].as_str().unwrap();
    assert!(prompt.contains("Japandi") && prompt.to_lowercase().contains("living room"), "{prompt}");

    assert_eq!(api.count(&format!("public.renders where id = '{render_id}' and job_id = '{job_id}'")).await, 1);
    assert_eq!(api.count(&format!("public.render_variants where image_path = 'renders/{render_id}/0.jpg'")).await, 1);
    assert_eq!(api.count(&format!("public.usage_ledger where meta->>'jobId' = '{job_id}'")).await, 1);
    assert_eq!(
        api.count(&format!("public.collections where owner_id = '{}' and is_default_favorites", user.id)).await,
        1
    );
}

#[tokio::test]
async fn compose_and_imagine_reach_replicate_with_their_inputs() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let room = api.upload(&user).await;
    let item = api.upload(&user).await;
    let (status, body) = api
        .call(
            "POST",
            "/generations",
            Some(&user),
            Some(json!({"mode": "compose", "input1Path": room, "input2Path": item})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    api.wait_for(&user, &id, "succeeded").await;
    let compose = api.stack.sim.predictions().pop().unwrap();
    assert_eq!(compose["input"]["image_input"].as_array().unwrap().len(), 2);

    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    api.wait_for(&user, &id, "succeeded").await;
    let imagine = api.stack.sim.predictions().pop().unwrap();
    assert!(imagine["input"].get("image_input").is_none());
}

#[tokio::test]
async fn several_outputs_become_ordered_variants() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour { outputs: 3, ..Behaviour::default() }, Some(1));
    let user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&user).await;
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let job = api.wait_for(&user, &id, "succeeded").await;
    let indexes: Vec<i64> = job["variants"].as_array().unwrap().iter().map(|v| v["index"].as_i64().unwrap()).collect();
    assert_eq!(indexes, vec![0, 1, 2]);
    assert_eq!(api.count(&format!("public.usage_ledger where meta->>'jobId' = '{id}'")).await, 1, "one debit per job");
}

#[tokio::test]
async fn a_failed_prediction_fails_the_job_without_charge_and_unblocks_the_user() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Fail), Some(1));
    let user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&user).await;
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let job = api.wait_for(&user, &id, "failed").await;
    assert!(job["error"].as_str().unwrap().contains("could not be generated"));
    assert_eq!(api.count("public.usage_ledger").await, 0);
    assert_eq!(api.count("public.renders").await, 0);
    let (status, _) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "not blocked");
}

#[tokio::test]
async fn the_quota_stops_submits_with_402_once_used_up() {
    let api = Api::start().await;
    let user = api.stack.create_user().await; // free plan: 3 a month
    for _ in 0..3 {
        let (status, body) = api.submit_imagine(&user).await;
        assert_eq!(status, 202, "{body}");
        api.wait_for(&user, body["data"]["id"].as_str().unwrap(), "succeeded").await;
    }
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["error"]["code"], "LIMIT_EXCEEDED");
    assert_eq!(api.count("public.generation_jobs").await, 3);

    api.stack.app.set_plan(&user, Some("price_weekly"), true).await;
    let (status, _) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "a paid plan has room");
}

#[tokio::test]
async fn the_same_idempotency_key_replays_and_a_different_body_conflicts() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let key = uuid::Uuid::new_v4();
    let body = json!({"mode": "imagine", "prompt": "a loft", "idempotencyKey": key});
    let (first, created) = api.call("POST", "/generations", Some(&user), Some(body.clone())).await;
    assert_eq!(first, 202);
    let (again, replayed) = api.call("POST", "/generations", Some(&user), Some(body)).await;
    assert_eq!(again, 200);
    assert_eq!(replayed["data"]["id"], created["data"]["id"]);
    let (other, conflict) = api
        .call(
            "POST",
            "/generations",
            Some(&user),
            Some(json!({"mode": "imagine", "prompt": "a barn", "idempotencyKey": key})),
        )
        .await;
    assert_eq!(other, 409);
    assert_eq!(conflict["error"]["code"], "IDEMPOTENCY_MISMATCH");
    assert_eq!(api.count("public.generation_jobs").await, 1);
    assert_eq!(api.stack.sim.create_calls(), 1);
}

#[tokio::test]
async fn cancel_stops_a_running_job_and_a_finished_one_conflicts() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Hang), Some(1));
    let user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&user).await;
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let (status, canceled) = api.call("POST", &format!("/generations/{id}/cancel"), Some(&user), None).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["data"]["status"], "canceled");
    let prediction = api.prediction_id(&id).await;
    assert_eq!(api.stack.sim.prediction(&prediction).unwrap()["status"], "canceled");
    let (status, again) = api.call("POST", &format!("/generations/{id}/cancel"), Some(&user), None).await;
    assert_eq!(status, 409, "{again}");
    let (status, _) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "canceling unblocks the user");
}

#[tokio::test]
async fn a_failed_job_can_be_retried_with_its_settings() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Fail), Some(1));
    let user = api.stack.create_user().await;
    let input = api.upload(&user).await;
    let (_, body) = api.submit_redesign(&user, &input).await;
    let id = body["data"]["id"].as_str().unwrap().to_string();
    api.wait_for(&user, &id, "failed").await;
    let (status, retried) = api.call("POST", &format!("/generations/{id}/retry"), Some(&user), None).await;
    assert_eq!(status, 202, "{retried}");
    let new_id = retried["data"]["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert_eq!(retried["data"]["style"], "japandi");
    api.wait_for(&user, &new_id, "succeeded").await;
    let (status, _) = api.call("POST", &format!("/generations/{new_id}/retry"), Some(&user), None).await;
    assert_eq!(status, 409, "a succeeded job is not retried");
}

#[tokio::test]
async fn a_job_without_webhook_is_finished_by_polling_when_stale() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour::webhook(WebhookMode::None), Some(1));
    let user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&user).await;
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let prediction = api.prediction_id(&id).await;
    api.stack.sim.wait_terminal(&prediction, std::time::Duration::from_secs(10)).await.unwrap();
    assert_eq!(api.job(&user, &id).await["status"], "processing", "fresh jobs are not polled");
    api.age_job(&id, 30).await;
    let job = api.job(&user, &id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(api.count("public.usage_ledger").await, 1);
}
