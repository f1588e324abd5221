//! The generation pipeline when its dependencies fail: storage down while a
//! result arrives, Replicate refusing or throttling, database connections
//! cut, webhooks that never come, predictions canceled by their deadline.
//! In every case the user is never charged for nothing, never left blocked,
//! and never sees a 500.

mod support;

use replicate_sim::{Behaviour, Outcome, WebhookMode};
use support::{eventually, Api};
use testkit::S3Choice;

fn job_id(body: &serde_json::Value) -> String {
    body["data"]["id"].as_str().unwrap_or_else(|| panic!("no job id in {body}")).to_string()
}

#[tokio::test]
async fn storage_down_during_completion_records_nothing_until_a_redelivery() {
    let api = Api::start_with(S3Choice::Dedicated).await;
    api.stack.sim.set_behaviour(Behaviour { processing_ms: 500, ..Behaviour::default() }, Some(1));
    let user = api.stack.create_user().await;
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    api.stack.s3().stop();
    let id = job_id(&body);
    let prediction = api.prediction_id(&id).await;

    // Replicate tries five times; every try is told to come back later.
    let sim = &api.stack.sim;
    let prediction_ref = &prediction;
    eventually(60, "five webhook attempts", move || async move {
        sim.deliveries().iter().filter(|d| &d.prediction_id == prediction_ref).count() >= 5
    })
    .await;
    let attempts: Vec<_> = sim.deliveries().into_iter().filter(|d| d.prediction_id == prediction).collect();
    assert_eq!(attempts.len(), 5, "{attempts:?}");
    for attempt in &attempts {
        assert_eq!(attempt.status_code, Some(503), "a transient failure asks for a retry: {attempt:?}");
    }
    assert_eq!(api.job_row(&id).await, ("processing".to_string(), None));
    assert_eq!(api.job_effects(&id).await, (0, 0, 0, 0), "nothing partial stays");
    assert_eq!(api.count("public.usage_ledger").await, 0);

    // Storage is back; a redelivery completes the job once. The first one
    // may still meet a connection from before the restart and be told to
    // come back (503), as Replicate's own retries would be.
    api.stack.s3().start();
    let mut record = sim.redeliver(&prediction, false).await.expect("redelivered");
    for _ in 0..20 {
        if record.status_code != Some(503) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        record = sim.redeliver(&prediction, false).await.expect("redelivered");
    }
    assert!(record.status_code.is_some_and(|s| (200..300).contains(&s)), "{record:?}");
    assert_eq!(api.job_row(&id).await.0, "succeeded");
    assert_eq!(api.job_effects(&id).await, (1, 1, 1, 1));
    let job = api.job(&user, &id).await;
    assert_eq!(job["status"], "succeeded");
    let url = job["variants"][0]["imageUrl"].as_str().unwrap();
    let image = api.http.get(url).send().await.unwrap();
    assert_eq!(image.status(), 200);
    assert!(image.bytes().await.unwrap().starts_with(&[0xFF, 0xD8, 0xFF]));

    // Once more, for good measure: nothing doubles.
    let record = sim.redeliver(&prediction, true).await.expect("redelivered");
    assert!(record.status_code.is_some_and(|s| (200..300).contains(&s)), "{record:?}");
    assert_eq!(api.count("public.usage_ledger").await, 1);
}

#[tokio::test]
async fn replicate_failing_the_create_fails_the_job_without_charge() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;

    for status in [500, 503] {
        api.stack.sim.set_behaviour(Behaviour::server_error(status), Some(1));
        let (code, body) = api.submit_imagine(&user).await;
        assert_eq!(code, 502, "Replicate {status}: {body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "UPSTREAM_ERROR");
        let id = body["error"]["details"]["jobId"].as_str().expect("details.jobId").to_string();
        let (job_status, error) = api.job_row(&id).await;
        assert_eq!(job_status, "failed");
        assert!(error.is_some_and(|e| e.contains("image service")), "a message for the user");
        let job = api.job(&user, &id).await;
        assert_eq!(job["status"], "failed");
    }
    assert_eq!(api.count("public.usage_ledger").await, 0);

    // The next submit goes through.
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    api.wait_for(&user, &job_id(&body), "succeeded").await;
    assert_eq!(api.count("public.usage_ledger").await, 1);
}

#[tokio::test]
async fn replicate_throttling_is_retried_once_when_short_and_reported_when_long() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;

    // A long wait: not retried; the job fails, nothing is charged.
    api.stack.sim.set_behaviour(Behaviour::throttled(30), Some(1));
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    assert_eq!(api.stack.sim.create_calls(), 1, "no retry of a long throttle");
    let id = body["error"]["details"]["jobId"].as_str().expect("details.jobId").to_string();
    assert_eq!(api.job_row(&id).await.0, "failed");
    assert_eq!(api.count("public.usage_ledger").await, 0);

    // The user is not blocked; a short wait is retried once and succeeds.
    api.stack.sim.set_behaviour(Behaviour::throttled(1), Some(1));
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(api.stack.sim.create_calls(), 3, "one retry after the short throttle");
    assert_eq!(api.stack.sim.predictions().len(), 1, "a single prediction");
    let job = api.wait_for(&user, &job_id(&body), "succeeded").await;
    assert_eq!(job["variants"].as_array().unwrap().len(), 1);
    assert_eq!(api.count("public.usage_ledger").await, 1);

    // Throttled twice in a row, even briefly: one retry only, then 429.
    api.stack.sim.set_behaviour(Behaviour::throttled(1), Some(2));
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(api.stack.sim.create_calls(), 5);
    let id = body["error"]["details"]["jobId"].as_str().expect("details.jobId").to_string();
    assert_eq!(api.job_row(&id).await.0, "failed");
    assert_eq!(api.count("public.usage_ledger").await, 1);
}

/// Ends every connection the functions hold to the test database, and
/// returns once the server has closed them all (a backend ends a moment after
/// it is signalled); how many there were. Connections opened after the kill
/// (PgBouncer reconnecting for a late poll or webhook) are the recovery
/// under test, not leftovers: only the killed backends are waited for.
async fn kill_app_connections(api: &Api) -> usize {
    let admin = api.stack.app.admin();
    let database = &api.stack.app.database.name;
    let killed: Vec<i32> = admin
        .query(
            // In the select list: only the rows the filter keeps are signalled.
            "select pid, pg_terminate_backend(pid) from pg_stat_activity
              where usename = 'authenticator' and datname = $1",
            &[database],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    for _ in 0..500 {
        let alive: i64 = admin
            .query_one("select count(*) from pg_stat_activity where pid = any($1)", &[&killed])
            .await
            .unwrap()
            .get(0);
        if alive == 0 {
            return killed.len();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the killed connections did not end within 5 s");
}

#[tokio::test]
async fn killed_database_connections_give_a_clean_503_at_worst() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&user).await;
    let id = job_id(&body);
    api.wait_for(&user, &id, "succeeded").await;

    for round in 0..3 {
        assert!(kill_app_connections(&api).await >= 1, "round {round}: the pool held connections");
        let response = api.call_raw("GET", &format!("/generations/{id}"), Some(&user.token), None, &[]).await;
        match response.status {
            200 => assert_eq!(response.body["data"]["status"], "succeeded"),
            503 => {
                assert_eq!(response.body["success"], false);
                assert_eq!(response.body["error"]["code"], "SERVICE_UNAVAILABLE", "{}", response.body);
            }
            other => panic!("round {round}: {other} {}", response.body),
        }
        let (status, again) = api.call("GET", &format!("/generations/{id}"), Some(&user), None).await;
        assert_eq!(status, 200, "round {round}, the request after: {again}");
        assert_eq!(again["data"]["status"], "succeeded");
    }

    // A submit right after the cut: accepted, or a clean 503 and then accepted.
    kill_app_connections(&api).await;
    let (status, body) = api.submit_imagine(&user).await;
    let body = match status {
        202 => body,
        503 => {
            assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
            let (status, body) = api.submit_imagine(&user).await;
            assert_eq!(status, 202, "{body}");
            body
        }
        other => panic!("submit after the cut: {other} {body}"),
    };
    api.wait_for(&user, &job_id(&body), "succeeded").await;
    assert_eq!(api.count(&format!("public.generation_jobs where owner_id = '{}'", user.id)).await, 2);
    assert_eq!(api.count("public.usage_ledger").await, 2);
}

#[tokio::test]
async fn the_sweeper_expires_hung_jobs_and_completes_silent_ones() {
    let api = Api::start().await;

    // A prediction that never ends and never calls back.
    api.stack.sim.set_behaviour(
        Behaviour { outcome: Outcome::Hang, webhook: WebhookMode::None, ..Behaviour::default() },
        Some(1),
    );
    let stuck_user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&stuck_user).await;
    let stuck = job_id(&body);

    // A prediction that ends but whose webhook never comes.
    api.stack.sim.set_behaviour(Behaviour::webhook(WebhookMode::None), Some(1));
    let silent_user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&silent_user).await;
    let silent = job_id(&body);
    let prediction = api.prediction_id(&silent).await;
    let finished = api.stack.sim.wait_terminal(&prediction, std::time::Duration::from_secs(10)).await.unwrap();
    assert_eq!(finished["status"], "succeeded");

    // Fresh jobs are left alone.
    gateway::sweep(&api.stack.services).await;
    assert_eq!(api.job_row(&stuck).await.0, "processing");
    assert_eq!(api.job_row(&silent).await.0, "processing");

    api.age_job(&stuck, 660).await;
    api.age_job(&silent, 30).await;
    gateway::sweep(&api.stack.services).await;

    assert_eq!(api.job_row(&stuck).await, ("failed".to_string(), Some("timeout".to_string())));
    assert_eq!(api.job_effects(&stuck).await, (0, 0, 0, 0));
    let (status, body) = api.submit_imagine(&stuck_user).await;
    assert_eq!(status, 202, "the stuck user is unblocked: {body}");

    assert_eq!(api.job_row(&silent).await.0, "succeeded");
    assert_eq!(api.job_effects(&silent).await.0, 1);
    assert_eq!(api.job_effects(&silent).await.2, 1, "one debit");
    let job = api.job(&silent_user, &silent).await;
    let url = job["variants"][0]["imageUrl"].as_str().unwrap();
    assert_eq!(api.http.get(url).send().await.unwrap().status(), 200);

    // Sweeping again changes nothing.
    api.age_job(&silent, 30).await;
    gateway::sweep(&api.stack.services).await;
    assert_eq!(api.count(&format!("public.usage_ledger where owner_id = '{}'", silent_user.id)).await, 1);
    assert_eq!(api.count(&format!("public.usage_ledger where owner_id = '{}'", stuck_user.id)).await, 0);
}

#[tokio::test]
async fn a_prediction_canceled_at_replicate_cancels_the_job_without_charge() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Cancel), Some(1));
    let user = api.stack.create_user().await;
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let id = job_id(&body);
    let job = api.wait_for(&user, &id, "canceled").await;
    assert!(job["variants"].as_array().unwrap().is_empty());
    assert_eq!(api.job_effects(&id).await.2, 0, "no debit");
    assert_eq!(api.count("public.renders").await, 0);
    let (status, _) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "the user is unblocked");
}

/// An earlier delivery stored a success's images, then lost the database and
/// answered 503; the job was canceled before the retry. The retry finds the
/// job finished, but it is the last one that knows the keys: it removes them,
/// so no image is left that no render names (found by the soak).
#[tokio::test]
async fn a_success_arriving_after_cancel_removes_images_an_earlier_attempt_stored() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour { processing_ms: 3_600_000, ..Behaviour::default() }, Some(1));
    let user = api.stack.create_user().await;
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let id = job_id(&body);
    let prediction = api.prediction_id(&id).await;
    let key = shared::storage::render_key(support::render_of(&id), 0);
    let storage = &api.stack.services.storage;
    let jpeg = testkit::stack::test_jpeg(8, 8);
    storage.put(shared::storage::PUBLIC_BUCKET, &key, jpeg, "image/jpeg").await.expect("stored by the earlier attempt");
    let (status, body) = api.call("POST", &format!("/generations/{id}/cancel"), Some(&user), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(api.job_row(&id).await.0, "canceled");

    let late_success = serde_json::json!({
        "id": prediction,
        "status": "succeeded",
        "output": format!("{}/delivery/{prediction}/0.jpg", api.stack.sim.url()),
    });
    let response = api.post_signed_webhook(Some(&id), late_success.to_string().as_bytes()).await;
    assert!((200..300).contains(&response.status), "{:?}", response.body);
    assert!(!api.render_object_exists(&id, 0).await, "the orphaned image is removed");
    assert_eq!(api.job_row(&id).await.0, "canceled");
    assert_eq!(api.job_effects(&id).await, (0, 0, 0, 0), "no render, variant or debit");
}
