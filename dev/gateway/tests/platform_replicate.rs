//! Replicate as its documentation describes it (issue 10): `aborted` is a
//! timeout, Replicate's failure text stays with operators, the safety
//! filter's refusals get their own code, and the model is asked to keep the
//! photo's proportions. None of these failures is charged.

mod support;

use replicate_sim::{Behaviour, Outcome};
use serde_json::json;
use shared::db::DbError;
use std::time::Duration;
use support::Api;
use uuid::Uuid;

async fn failure_detail(api: &Api, job: &str) -> Option<String> {
    let id = Uuid::parse_str(job).unwrap();
    let row = api
        .stack
        .app
        .admin()
        .query_one("select failure_detail from public.generation_jobs where id = $1", &[&id])
        .await
        .unwrap();
    row.get(0)
}

/// Submits an imagine job whose prediction ends as `behaviour` says.
async fn finished_job(api: &Api, user: &testkit::TestUser, behaviour: Behaviour) -> serde_json::Value {
    api.stack.sim.set_behaviour(behaviour, Some(1));
    let (status, body) = api.submit_imagine(user).await;
    assert_eq!(status, 202, "{body}");
    api.wait_for(user, body["data"]["id"].as_str().unwrap(), "failed").await
}

#[tokio::test]
async fn a_safety_refusal_is_its_own_uncharged_failure_and_its_text_stays_with_operators() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let refusal = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)";
    let job = finished_job(
        &api,
        &user,
        Behaviour { outcome: Outcome::Fail, error_message: Some(refusal.into()), ..Behaviour::default() },
    )
    .await;
    assert_eq!(job["errorCode"], "CONTENT_REFUSED", "{job}");
    assert!(job["error"].as_str().unwrap().contains("try another photo or prompt"), "{job}");
    let id = job["id"].as_str().unwrap();
    assert_eq!(failure_detail(&api, id).await.as_deref(), Some(refusal));
    assert_eq!(api.job_effects(id).await.2, 0, "not charged");

    // Another failure: a generic message for the user, the text for operators.
    let oom = "CUDA out of memory";
    let job = finished_job(
        &api,
        &user,
        Behaviour { outcome: Outcome::Fail, error_message: Some(oom.into()), ..Behaviour::default() },
    )
    .await;
    assert_eq!(job["errorCode"], "GENERATION_FAILED");
    assert!(!job["error"].as_str().unwrap().contains("CUDA"), "{job}");
    assert_eq!(failure_detail(&api, job["id"].as_str().unwrap()).await.as_deref(), Some(oom));

    // The owner cannot read the operators' column, not even through the Data API.
    let mut tx = api.stack.app.db.as_user(&user.identity).await.unwrap();
    let read = tx.query("select failure_detail from public.generation_jobs", &[]).await;
    assert!(matches!(read, Err(DbError::PermissionDenied)), "{read:?}");
}

#[tokio::test]
async fn an_aborted_prediction_is_a_timeout_not_a_cancel() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    // The deadline passed while the prediction was queued: Replicate's
    // completed webhook says `aborted`.
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Hang), Some(1));
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let job = body["data"]["id"].as_str().unwrap().to_string();
    let prediction_id = api.prediction_id(&job).await;
    let mut aborted = api.stack.sim.prediction(&prediction_id).unwrap();
    aborted["status"] = json!("aborted");
    aborted["started_at"] = json!(null);
    let answer = api.post_signed_webhook(Some(&job), aborted.to_string().as_bytes()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let view = api.job(&user, &job).await;
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["errorCode"], "TIMED_OUT");
    assert_eq!(api.job_effects(&job).await.2, 0, "not charged");
    assert!(failure_detail(&api, &job).await.unwrap().contains("aborted"));
}

#[tokio::test]
async fn renders_keep_the_photos_proportions_and_imagine_gets_the_configured_ratio() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let input = api.upload(&user).await;
    let (status, body) = api.submit_redesign(&user, &input).await;
    assert_eq!(status, 202, "{body}");
    let redesign = api.prediction_id(body["data"]["id"].as_str().unwrap()).await;
    api.wait_for(&user, body["data"]["id"].as_str().unwrap(), "succeeded").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let imagine = api.prediction_id(body["data"]["id"].as_str().unwrap()).await;
    let input_of = |id: &str| api.stack.sim.prediction(id).unwrap()["input"].clone();
    assert_eq!(input_of(&redesign)["aspect_ratio"], "match_input_image");
    assert_eq!(input_of(&imagine)["aspect_ratio"], "4:3");
    assert_eq!(input_of(&imagine)["output_format"], "jpg");
}
