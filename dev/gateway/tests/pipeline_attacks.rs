//! The attacks of SECURITY.md items 12-19 against the generation pipeline,
//! over HTTP through the dev gateway: each one is tried, then the database,
//! the storage and the simulator show that nothing changed.

mod support;

use replicate_sim::{Behaviour, Outcome, WebhookMode};
use serde_json::{json, Value};
use shared::storage::ImageType;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::{eventually, Api};
use testkit::tokens::TokenBuilder;
use testkit::TestUser;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Fires `n` identical `POST /generations` at once (released together by a
/// barrier, each on its own connection); answers in completion order.
fn spawn_submits(api: &Api, user: &TestUser, n: usize, body: Value, done: Arc<AtomicUsize>) -> JoinSet<(u16, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut set = JoinSet::new();
    for _ in 0..n {
        let (http, url, token) = (api.http.clone(), api.stack.api_url("/generations"), user.token.clone());
        let (body, barrier, done) = (body.clone(), barrier.clone(), done.clone());
        set.spawn(async move {
            barrier.wait().await;
            let response = http.post(url).bearer_auth(token).json(&body).send().await.expect("submit");
            let status = response.status().as_u16();
            let json = response.json::<Value>().await.unwrap_or(Value::Null);
            done.fetch_add(1, Ordering::SeqCst);
            (status, json)
        });
    }
    set
}

async fn concurrent_submits(api: &Api, user: &TestUser, n: usize, body: Value) -> Vec<(u16, Value)> {
    let mut set = spawn_submits(api, user, n, body, Arc::default());
    let mut answers = Vec::new();
    while let Some(answer) = set.join_next().await {
        answers.push(answer.expect("submit task"));
    }
    answers
}

fn imagine() -> Value {
    json!({"mode": "imagine", "prompt": "a sunny loft"})
}

fn job_id(body: &Value) -> String {
    body["data"]["id"].as_str().unwrap_or_else(|| panic!("no job id in {body}")).to_string()
}

/// Every error answer: the envelope, a request id, not cacheable.
fn assert_error(response: &support::RawResponse, status: u16, code: &str, what: &str) {
    assert_eq!(response.status, status, "{what}: {}", response.body);
    assert_eq!(response.body["success"], false, "{what}: {}", response.body);
    assert_eq!(response.body["error"]["code"], code, "{what}: {}", response.body);
    assert!(
        response.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: message missing in {}",
        response.body
    );
    assert!(response.headers.get("x-request-id").is_some_and(|v| !v.is_empty()), "{what}: no x-request-id");
    let cache = response.headers.get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(cache.contains("no-store") && cache.contains("private"), "{what}: cache-control {cache:?}");
}

/// A successful prediction of another user, whose real output URL a forged
/// webhook can carry (so an accepted forgery would really store an image).
async fn donor_output(api: &Api) -> (String, String) {
    let donor = api.stack.create_user().await;
    let (status, body) = api.submit_imagine(&donor).await;
    assert_eq!(status, 202, "{body}");
    let id = job_id(&body);
    api.wait_for(&donor, &id, "succeeded").await;
    let prediction = api.prediction_id(&id).await;
    let url = api.stack.sim.prediction(&prediction).unwrap()["output"].as_str().unwrap().to_string();
    (prediction, url)
}

/// The prediction of `prediction_id` as a `succeeded` webhook body with `output`.
fn succeeded_body(api: &Api, prediction_id: &str, output: &str) -> Vec<u8> {
    let mut prediction = api.stack.sim.prediction(prediction_id).expect("prediction");
    prediction["status"] = json!("succeeded");
    prediction["output"] = json!(output);
    prediction["error"] = Value::Null;
    prediction["completed_at"] = json!(chrono::Utc::now().to_rfc3339());
    serde_json::to_vec(&prediction).unwrap()
}

// ---------------------------------------------------------------- item 12

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_submits_create_exactly_one_job() {
    let api = Api::start().await;
    // The winner stays in flight, so every other submit meets it.
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Hang), None);
    let user = api.stack.create_user().await;

    let answers = concurrent_submits(&api, &user, 50, imagine()).await;
    let accepted: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 202).map(|(_, b)| b).collect();
    assert_eq!(accepted.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 202) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["error"]["code"], "TOO_MANY_INFLIGHT", "{body}");
    }
    assert_eq!(api.count(&format!("public.generation_jobs where owner_id = '{}'", user.id)).await, 1);
    assert_eq!(api.stack.sim.create_calls(), 1);
    assert_eq!(api.count("public.usage_ledger").await, 0);

    // The same race with one idempotency key: still one job, and every
    // answer is that job or a conflict.
    let other = api.stack.create_user().await;
    let key = Uuid::new_v4();
    let body = json!({"mode": "imagine", "prompt": "a barn", "idempotencyKey": key});
    let answers = concurrent_submits(&api, &other, 50, body).await;
    let jobs: Vec<String> = answers.iter().filter(|(s, _)| *s == 200 || *s == 202).map(|(_, b)| job_id(b)).collect();
    assert_eq!(answers.iter().filter(|(s, _)| *s == 202).count(), 1, "{answers:?}");
    assert!(jobs.windows(2).all(|w| w[0] == w[1]), "replays name the one job: {jobs:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200 && *s != 202) {
        assert_eq!(*status, 409, "{body}");
    }
    assert_eq!(api.count(&format!("public.generation_jobs where owner_id = '{}'", other.id)).await, 1);
    assert_eq!(api.stack.sim.create_calls(), 2);
}

/// Backends of the test database waiting on a lock, by what they run.
async fn lock_waiters(api: &Api, debit: bool) -> i64 {
    let filter = if debit { "ilike" } else { "not ilike" };
    api.stack
        .app
        .admin()
        .query_one(
            &format!(
                "select count(*) from pg_stat_activity
                  where datname = $1 and wait_event_type = 'Lock' and pid <> pg_backend_pid()
                    and query {filter} '%insert into public.usage_ledger%'"
            ),
            &[&api.stack.app.database.name],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_submits_never_overspend_the_quota() {
    let api = Api::start().await;
    let user = api.stack.create_user().await; // free plan: 3 a month
    for _ in 0..2 {
        let (status, body) = api.submit_imagine(&user).await;
        assert_eq!(status, 202, "{body}");
        api.wait_for(&user, &job_id(&body), "succeeded").await;
    }
    assert_eq!(api.count("public.usage_ledger").await, 2);

    // One generation left: twenty at once make one job.
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Hang), Some(1));
    let answers = concurrent_submits(&api, &user, 20, imagine()).await;
    let third: Vec<String> = answers.iter().filter(|(s, _)| *s == 202).map(|(_, b)| job_id(b)).collect();
    assert_eq!(third.len(), 1, "{answers:?}");
    assert!(answers.iter().all(|(s, b)| *s == 202 || (*s == 409 && b["error"]["code"] == "TOO_MANY_INFLIGHT")));
    let third = third[0].clone();

    // Now the third job completes while twenty more submits are inside the
    // database. The completion is held just before its debit commits (a
    // table lock blocks its ledger insert), the submits are let in, then the
    // completion is released: whatever interleaving follows, the plan's
    // three generations must not become four.
    let blocker = api.stack.app.database.admin().await;
    blocker.batch_execute("begin; lock table public.usage_ledger in share row exclusive mode").await.unwrap();
    let prediction = api.prediction_id(&third).await;
    api.stack.sim.complete_now(&prediction).await.expect("prediction completes");
    let api = &api;
    eventually(20, "the completion waits on its debit", move || async move { lock_waiters(api, true).await >= 1 })
        .await;
    let done = Arc::new(AtomicUsize::new(0));
    let mut racing = spawn_submits(api, &user, 20, imagine(), done.clone());
    let answered = &done;
    eventually(20, "a submit answered or waits in the database", move || async move {
        answered.load(Ordering::SeqCst) > 0 || lock_waiters(api, false).await >= 1
    })
    .await;
    blocker.batch_execute("commit").await.unwrap();
    let mut answers = Vec::new();
    while let Some(answer) = racing.join_next().await {
        answers.push(answer.unwrap());
    }
    api.wait_for(&user, &third, "succeeded").await;
    for (status, body) in &answers {
        assert!([202, 402, 409].contains(status), "{status} {body}");
        if *status == 202 {
            // Let any job the race admitted run to its end (and its debit).
            let id = &job_id(body);
            eventually(20, "the admitted job finishes", move || async move {
                !["starting", "processing"].contains(&api.job_row(id).await.0.as_str())
            })
            .await;
        }
    }

    // And once everything is over, nothing more is admitted.
    let answers_after = concurrent_submits(api, &user, 20, imagine()).await;
    assert!(
        answers_after.iter().all(|(s, b)| *s == 402 && b["error"]["code"] == "LIMIT_EXCEEDED"),
        "{answers_after:?}"
    );

    let debits = api.count(&format!("public.usage_ledger where owner_id = '{}'", user.id)).await;
    let succeeded =
        api.count(&format!("public.generation_jobs where owner_id = '{}' and status = 'succeeded'", user.id)).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert!(
        debits <= 3 && succeeded <= 3,
        "the free plan's 3 generations were overspent: {debits} debits, {succeeded} succeeded jobs; \
         answers to the submits racing the completion: {statuses:?}"
    );
    assert_eq!(debits, 3);
}

// ---------------------------------------------------------------- item 13

/// Waits until the simulator has sent every attempt it will send for
/// `prediction` (`expected` answered ones) and returns them.
async fn settled_deliveries(api: &Api, prediction: &str, expected: usize) -> Vec<replicate_sim::DeliveryRecord> {
    eventually(30, "all webhook copies answered", move || async move {
        api.stack
            .sim
            .deliveries()
            .iter()
            .filter(|d| d.prediction_id == prediction && d.status_code.is_some_and(|s| s < 500))
            .count()
            >= expected
    })
    .await;
    api.stack.sim.deliveries().into_iter().filter(|d| d.prediction_id == prediction).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_copies_of_a_webhook_have_one_effect() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour::webhook(WebhookMode::Duplicate { count: 20, concurrent: true }), Some(1));
    let user = api.stack.create_user().await;
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let id = job_id(&body);
    let prediction = api.prediction_id(&id).await;

    let deliveries = settled_deliveries(&api, &prediction, 20).await;
    assert_eq!(deliveries.len(), 20, "no copy was retried: {deliveries:?}");
    for delivery in &deliveries {
        let status = delivery.status_code.unwrap_or(0);
        assert!((200..300).contains(&status), "every copy is answered 2xx: {delivery:?}");
    }
    let job = api.wait_for(&user, &id, "succeeded").await;
    assert_eq!(api.job_effects(&id).await, (1, 1, 1, 1), "one render, one variant, one debit, one delivery row");
    assert_eq!(api.count("public.usage_ledger").await, 1);
    assert_eq!(api.count("public.webhook_events").await, 1);

    // The stored image is the model's output, whole.
    let stored = api.http.get(job["variants"][0]["imageUrl"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(stored.status(), 200);
    let stored = stored.bytes().await.unwrap();
    let output = api.stack.sim.prediction(&prediction).unwrap()["output"].as_str().unwrap().to_string();
    let original = api.http.get(&output).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(stored, original);

    // Replays after the fact: the same webhook-id, then a new one.
    for new_id in [false, true] {
        let record = api.stack.sim.redeliver(&prediction, new_id).await.expect("redelivered");
        let status = record.status_code.unwrap_or(0);
        assert!((200..300).contains(&status), "replay (new id: {new_id}) answered {status}");
    }
    let (renders, variants, debits, _) = api.job_effects(&id).await;
    assert_eq!((renders, variants, debits), (1, 1, 1));
    assert_eq!(api.count("public.usage_ledger").await, 1);
    assert_eq!(api.job(&user, &id).await["status"], "succeeded");
}

// ---------------------------------------------------------------- item 14

#[tokio::test]
async fn a_success_after_cancel_never_resurrects_the_job() {
    let api = Api::start().await;
    let (_, donor_url) = donor_output(&api).await;
    // No webhook for the cancel itself: the attack here is the late success
    // (the cancel racing its own webhook is the next test).
    api.stack.sim.set_behaviour(
        Behaviour { outcome: Outcome::Hang, webhook: WebhookMode::None, ..Behaviour::default() },
        Some(1),
    );
    let user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&user).await;
    let id = job_id(&body);
    let prediction = api.prediction_id(&id).await;
    let (status, canceled) = api.call("POST", &format!("/generations/{id}/cancel"), Some(&user), None).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["data"]["status"], "canceled");

    // A correctly signed success for the canceled job, twice (new ids).
    let late = succeeded_body(&api, &prediction, &donor_url);
    for _ in 0..2 {
        let response = api.post_signed_webhook(Some(&id), &late).await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.body["data"]["handled"], false, "{}", response.body);
    }
    // The simulator's own late completion and replay, and a stale poll.
    api.stack.sim.complete_now(&prediction).await;
    if let Some(record) = api.stack.sim.redeliver(&prediction, true).await {
        assert!(record.status_code.is_some_and(|s| (200..300).contains(&s)), "{record:?}");
    }
    api.age_job(&id, 30).await;
    let job = api.job(&user, &id).await;
    assert_eq!(job["status"], "canceled", "{job}");
    assert!(job["variants"].as_array().unwrap().is_empty());

    let (renders, variants, debits, _) = api.job_effects(&id).await;
    assert_eq!((renders, variants, debits), (0, 0, 0));
    assert_eq!(api.job_row(&id).await.0, "canceled");
    assert!(!api.render_object_exists(&id, 0).await, "no image stored for a canceled job");
    assert_eq!(api.count(&format!("public.usage_ledger where owner_id = '{}'", user.id)).await, 0);
}

/// Canceling at Replicate makes it send a `canceled` webhook at once, which
/// may reach us before the cancel request has recorded its own change. The
/// user asked for a cancel and got one: the answer must be 200 `canceled`,
/// whichever of the two wrote the row. Many users cancel at once, so both
/// orders happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_answers_canceled_even_when_the_cancel_webhook_wins() {
    let api = Arc::new(Api::start().await);
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Hang), None);
    let mut users = JoinSet::new();
    for _ in 0..8 {
        let api = api.clone();
        users.spawn(async move {
            let user = api.stack.create_user().await;
            let mut conflicts = Vec::new();
            for round in 0..4 {
                let (status, body) = api.submit_imagine(&user).await;
                assert_eq!(status, 202, "round {round}: {body}");
                let id = job_id(&body);
                let path = format!("/generations/{id}/cancel");
                let (status, canceled) = api.call("POST", &path, Some(&user), None).await;
                if status != 200 {
                    conflicts.push(format!("{status} {canceled}"));
                }
                assert_eq!(api.job_row(&id).await.0, "canceled", "round {round}");
            }
            conflicts
        });
    }
    let mut conflicts = Vec::new();
    while let Some(result) = users.join_next().await {
        conflicts.extend(result.unwrap());
    }
    assert!(conflicts.is_empty(), "cancels that canceled answered otherwise: {conflicts:#?}");
    assert_eq!(api.count("public.usage_ledger").await, 0);
    assert_eq!(api.count("public.renders").await, 0);
}

#[tokio::test]
async fn a_late_success_after_the_timeout_completes_the_job_exactly_once() {
    let api = Api::start().await;
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Hang), Some(2));
    let user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&user).await;
    let id = job_id(&body);
    let prediction = api.prediction_id(&id).await;

    api.age_job(&id, 660).await;
    let job = api.job(&user, &id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"], "timeout");

    // The user is free again; that second job is canceled.
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let second = job_id(&body);
    let (status, _) = api.call("POST", &format!("/generations/{second}/cancel"), Some(&user), None).await;
    assert_eq!(status, 200);

    // Replicate finishes the first one after all.
    api.stack.sim.complete_now(&prediction).await.expect("completes");
    let job = api.wait_for(&user, &id, "succeeded").await;
    assert!(job["error"].is_null(), "{job}");
    assert_eq!(job["variants"].as_array().unwrap().len(), 1);
    let url = job["variants"][0]["imageUrl"].as_str().unwrap();
    assert_eq!(api.http.get(url).send().await.unwrap().status(), 200);
    assert_eq!(api.job_effects(&id).await, (1, 1, 1, 1));

    // A second delivery, same id or new, changes nothing.
    for new_id in [false, true] {
        let record = api.stack.sim.redeliver(&prediction, new_id).await.expect("redelivered");
        assert!(record.status_code.is_some_and(|s| (200..300).contains(&s)), "{record:?}");
    }
    let (renders, variants, debits, _) = api.job_effects(&id).await;
    assert_eq!((renders, variants, debits), (1, 1, 1));
    assert_eq!(api.count(&format!("public.usage_ledger where owner_id = '{}'", user.id)).await, 1);
    assert_eq!(api.job_row(&second).await.0, "canceled");
}

// ---------------------------------------------------------------- item 15

#[tokio::test]
async fn forged_and_malformed_webhooks_are_rejected_without_effect() {
    let api = Api::start().await;
    let (donor_prediction, donor_url) = donor_output(&api).await;
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Hang), Some(1));
    let user = api.stack.create_user().await;
    let (_, body) = api.submit_imagine(&user).await;
    let id = job_id(&body);
    let prediction = api.prediction_id(&id).await;
    let secret = api.stack.sim.webhook_secret().to_string();
    let events_before = api.count("public.webhook_events").await;
    let ledger_before = api.count("public.usage_ledger").await;

    // What a real success for this job would look like.
    let body = succeeded_body(&api, &prediction, &donor_url);
    let now = chrono::Utc::now().timestamp();
    let signed = |msg: &str, ts: i64, payload: &[u8]| replicate_sim::sign(&secret, msg, ts, payload);
    let headers = |msg: &str, ts: i64, signature: String| {
        vec![("webhook-id", msg.to_string()), ("webhook-timestamp", ts.to_string()), ("webhook-signature", signature)]
    };
    let other_secret = format!("whsec_{}", "c29tZS1vdGhlci1zZWNyZXQta2V5LWZvci10ZXN0cyE=");
    let tampered = succeeded_body(&api, &prediction, &format!("{donor_url}?x=1"));

    // (what is wrong, the webhook-* headers, the body)
    type Delivery<'a> = (&'a str, Vec<(&'a str, String)>, &'a [u8]);
    let rejected: Vec<Delivery> = vec![
        ("wrong secret", headers("msg_a", now, replicate_sim::sign(&other_secret, "msg_a", now, &body)), &body),
        ("empty v1", headers("msg_b", now, "v1,".into()), &body),
        ("garbage signature", headers("msg_c", now, "v1,AAAA".into()), &body),
        ("other scheme only", headers("msg_d", now, signed("msg_d", now, &body).replacen("v1,", "v2,", 1)), &body),
        ("stale timestamp", headers("msg_e", now - 360, signed("msg_e", now - 360, &body)), &body),
        ("future timestamp", headers("msg_f", now + 360, signed("msg_f", now + 360, &body)), &body),
        ("body changed after signing", headers("msg_g", now, signed("msg_g", now, &body)), &tampered),
        ("id changed after signing", headers("msg_h2", now, signed("msg_h", now, &body)), &body),
        (
            "non-numeric timestamp",
            headers("msg_i", now, signed("msg_i", now, &body))
                .into_iter()
                .map(|(n, v)| if n == "webhook-timestamp" { (n, format!("{v}.0")) } else { (n, v) })
                .collect(),
            &body,
        ),
        ("no headers", vec![], &body),
        ("no signature", headers("msg_j", now, String::new()).into_iter().take(2).collect(), &body),
        (
            "no timestamp",
            headers("msg_k", now, signed("msg_k", now, &body))
                .into_iter()
                .filter(|(n, _)| *n != "webhook-timestamp")
                .collect(),
            &body,
        ),
        (
            "no id",
            headers("msg_l", now, signed("msg_l", now, &body))
                .into_iter()
                .filter(|(n, _)| *n != "webhook-id")
                .collect(),
            &body,
        ),
    ];
    for (case, headers, payload) in rejected {
        let response = api.post_webhook(Some(&id), &headers, payload).await;
        assert_error(&response, 401, "WEBHOOK_SIGNATURE_INVALID", case);
    }

    // Correctly signed, but nothing to act on.
    let unknown_job = api.post_signed_webhook(Some(&Uuid::new_v4().to_string()), &body).await;
    assert_eq!(unknown_job.status, 200, "unknown job: {}", unknown_job.body);
    assert_eq!(unknown_job.body["data"]["handled"], false);
    let no_job = api.post_signed_webhook(None, &body).await;
    assert_eq!(no_job.status, 200, "no job id: {}", no_job.body);
    assert_eq!(no_job.body["data"]["handled"], false);
    let bad_job = api
        .call_raw("POST", "/webhooks/replicate?jobId=not-a-uuid", None, Some(("application/json", body.clone())), &[])
        .await;
    assert_eq!(bad_job.status, 401, "unsigned with a bad job id: {}", bad_job.body);
    // Another prediction's result, signed, aimed at this job.
    let foreign = succeeded_body(&api, &donor_prediction, &donor_url);
    let response = api.post_signed_webhook(Some(&id), &foreign).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["data"]["handled"], false, "{}", response.body);
    // Signed bodies that are not predictions.
    for malformed in [
        &b"not json"[..],
        b"{}",
        b"[]",
        br#"{"id": "", "status": "succeeded"}"#,
        br#"{"id": "x", "status": "exploded"}"#,
    ] {
        let response = api.post_signed_webhook(Some(&id), malformed).await;
        assert_error(&response, 400, "VALIDATION_ERROR", &String::from_utf8_lossy(malformed));
    }
    // Too big to be a prediction: refused before anything else.
    let huge = vec![b' '; 300 * 1024];
    let response = api.post_signed_webhook(Some(&id), &huge).await;
    assert!(response.status == 413 || response.status == 400, "{}", response.status);

    assert_eq!(api.job_row(&id).await, ("processing".to_string(), None));
    assert_eq!(api.job_effects(&id).await, (0, 0, 0, 0));
    assert_eq!(api.count("public.webhook_events").await, events_before);
    assert_eq!(api.count("public.usage_ledger").await, ledger_before);
    assert!(!api.render_object_exists(&id, 0).await);
}

// ---------------------------------------------------------------- item 16

#[tokio::test]
async fn outputs_from_disallowed_places_are_refused() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let sim = api.stack.sim.url();
    let cases = [
        ("cloud metadata", "http://169.254.169.254/latest/meta-data".to_string()),
        ("another local port", "http://127.0.0.1:1/x-{id}.jpg".to_string()),
        ("our own storage", format!("{}/storage/v1/object/public/public/renders/{{id}}/0.jpg", api.stack.base_url)),
        ("a file", "file:///etc/passwd?{id}".to_string()),
        ("credentials in the URL", sim.replacen("http://", "http://user:pw@", 1) + "/delivery"),
        ("not a JPEG", format!("{sim}/_sim/stats?p={{id}}")),
    ];
    for (case, base) in cases {
        api.stack.sim.set_behaviour(Behaviour { output_url_base: Some(base), ..Behaviour::default() }, Some(1));
        let (status, body) = api.submit_imagine(&user).await;
        assert_eq!(status, 202, "{case}: {body}");
        let id = job_id(&body);
        let job = api.wait_for(&user, &id, "failed").await;
        assert!(job["error"].as_str().unwrap().contains("unusable"), "{case}: {job}");
        let (renders, variants, debits, _) = api.job_effects(&id).await;
        assert_eq!((renders, variants, debits), (0, 0, 0), "{case}");
        assert!(!api.render_object_exists(&id, 0).await, "{case}: nothing stored");
    }

    // Bigger than the cap (25 MiB): refused, not stored.
    api.stack.sim.set_behaviour(Behaviour { output_min_bytes: 26 * 1024 * 1024, ..Behaviour::default() }, Some(1));
    let (_, body) = api.submit_imagine(&user).await;
    let id = job_id(&body);
    let job = api.wait_for(&user, &id, "failed").await;
    assert!(job["error"].as_str().unwrap().contains("unusable"), "{job}");
    assert!(!api.render_object_exists(&id, 0).await);

    assert_eq!(api.count("public.usage_ledger").await, 0);
    assert_eq!(api.count("public.renders").await, 0);
    let (status, _) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "the user is not blocked");
}

// ---------------------------------------------------------------- item 18

#[tokio::test]
async fn submits_with_bad_inputs_create_nothing_and_cost_nothing() {
    let api = Api::start().await;
    let me = api.stack.create_user().await;
    let other = api.stack.create_user().await;
    let theirs = api.stack.upload_input(&other).await;
    let mine = api.stack.upload_input(&me).await;
    let text = api.stack.upload_bytes(&me, b"not an image".to_vec(), ImageType::Jpeg).await;
    let html = api.stack.upload_bytes(&me, b"<html><script>x</script></html>".to_vec(), ImageType::Png).await;
    // Over 15 MiB never reaches the private bucket at all (its size limit,
    // migration 033): submit's own size check is the second line.
    let mut huge = vec![0u8; 15 * 1024 * 1024 + 1];
    huge[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    let oversized = shared::storage::InputPath::new(me.id, ImageType::Jpeg);
    let stored = api
        .stack
        .services
        .storage
        .put(shared::storage::PRIVATE_BUCKET, &oversized.bucket_key(), huge, "image/jpeg")
        .await;
    assert!(matches!(stored, Err(shared::storage::StorageError::Rejected(_))), "{stored:?}");
    let oversized = oversized.db_path();
    let missing = format!("private/{}/inputs/{}.jpg", me.id, Uuid::new_v4());
    let redesign =
        |path: &str| json!({"mode": "redesign", "roomType": "living_room", "style": "japandi", "input1Path": path});

    let forbidden = [
        ("another user's upload", redesign(&theirs)),
        (
            "another user's upload as the second input",
            json!({"mode": "compose", "input1Path": mine, "input2Path": theirs}),
        ),
    ];
    for (case, body) in forbidden {
        let response = api
            .call_raw(
                "POST",
                "/generations",
                Some(&me.token),
                Some(("application/json", body.to_string().into_bytes())),
                &[],
            )
            .await;
        assert_error(&response, 403, "FORBIDDEN", case);
    }

    let traversal = format!("private/{}/inputs/../../{}/inputs/x.jpg", me.id, other.id);
    let invalid = [
        ("dot-dot", redesign(&traversal)),
        ("dot-dot in the file", redesign(&format!("private/{}/inputs/..", me.id))),
        ("public bucket", redesign(&format!("renders/{}/0.jpg", Uuid::new_v4()))),
        ("absolute URL", redesign(&format!("http://127.0.0.1/{mine}"))),
        ("leading slash", redesign(&format!("/{mine}"))),
        ("wrong extension", redesign(&mine.replace(".jpg", ".gif"))),
        ("missing object", redesign(&missing)),
        ("over 15 MiB", redesign(&oversized)),
        ("unknown mode", json!({"mode": "paint", "prompt": "x"})),
        ("unknown room type", json!({"mode": "redesign", "roomType": "dungeon", "input1Path": mine})),
        ("unknown style", json!({"mode": "redesign", "style": "gothic", "input1Path": mine})),
        ("prompt too long", json!({"mode": "imagine", "prompt": "x".repeat(shared::prompt::MAX_USER_TEXT_CHARS + 1)})),
        ("imagine without prompt", json!({"mode": "imagine"})),
        ("imagine with an input", json!({"mode": "imagine", "prompt": "x", "input1Path": mine})),
        ("redesign without input", json!({"mode": "redesign"})),
        ("compose with one input", json!({"mode": "compose", "input1Path": mine})),
        ("mode of the wrong type", json!({"mode": 7, "prompt": "x"})),
        ("bad idempotency key", json!({"mode": "imagine", "prompt": "x", "idempotencyKey": "abc"})),
    ];
    // Files that are not images get the image codes (details: README, "Images").
    let not_images = [("not an image", redesign(&text)), ("html as png", redesign(&html))];
    let cases = invalid.into_iter().map(|case| (case, "VALIDATION_ERROR"));
    for ((case, body), code) in cases.chain(not_images.into_iter().map(|case| (case, "UNSUPPORTED_IMAGE_TYPE"))) {
        let response = api
            .call_raw(
                "POST",
                "/generations",
                Some(&me.token),
                Some(("application/json", body.to_string().into_bytes())),
                &[],
            )
            .await;
        assert_error(&response, 400, code, case);
    }

    assert_eq!(api.count("public.generation_jobs").await, 0);
    assert_eq!(api.count("public.usage_ledger").await, 0);
    assert_eq!(api.stack.sim.create_calls(), 0);
    // The checks did not block anything: a good submit still works.
    let (status, body) = api.submit_redesign(&me, &mine).await;
    assert_eq!(status, 202, "{body}");
}

// ---------------------------------------------------------------- items 17 and 19

/// Every user route of the pipeline, with a job id in it where it takes one.
fn user_routes(job: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("POST", "/uploads".to_string(), Some(json!({"contentType": "image/jpeg", "sizeBytes": 1000}))),
        ("POST", "/generations".to_string(), Some(imagine())),
        ("GET", format!("/generations/{job}"), None),
        ("POST", format!("/generations/{job}/cancel"), None),
        ("POST", format!("/generations/{job}/retry"), None),
    ]
}

async fn send(api: &Api, method: &str, path: &str, token: Option<&str>, body: &Option<Value>) -> support::RawResponse {
    let body = body.as_ref().map(|b| ("application/json", b.to_string().into_bytes()));
    api.call_raw(method, path, token, body, &[]).await
}

#[tokio::test]
async fn bad_tokens_are_refused_on_every_user_route() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let job = Uuid::new_v4().to_string();
    let expired = TokenBuilder::hs256().user_id(user.id).exp_in(-60).build();
    let unauthorized = [
        (
            "bad signature",
            TokenBuilder::hs256_with_secret("not-the-project-secret-not-the-project").user_id(user.id).build(),
        ),
        ("alg none", TokenBuilder::unsigned().user_id(user.id).build()),
        ("wrong audience", TokenBuilder::hs256().user_id(user.id).aud("somebody-else").build()),
        ("role anon", TokenBuilder::hs256().user_id(user.id).role("anon").build()),
        ("role service_role", TokenBuilder::hs256().user_id(user.id).role("service_role").build()),
        ("non-UUID sub", TokenBuilder::hs256().sub("not-a-uuid").build()),
        ("garbage", "abc.def.ghi".to_string()),
    ];
    for (method, path, body) in user_routes(&job) {
        let response = send(&api, method, &path, None, &body).await;
        assert_error(&response, 401, "UNAUTHORIZED", &format!("no token: {method} {path}"));
        let response = send(&api, method, &path, Some(&expired), &body).await;
        assert_error(&response, 401, "TOKEN_EXPIRED", &format!("expired: {method} {path}"));
        for (case, token) in &unauthorized {
            let response = send(&api, method, &path, Some(token), &body).await;
            assert_error(&response, 401, "UNAUTHORIZED", &format!("{case}: {method} {path}"));
        }
    }
    assert_eq!(api.count("public.generation_jobs").await, 0);
    assert_eq!(api.stack.sim.create_calls(), 0);
}

#[tokio::test]
async fn malformed_requests_get_a_clear_4xx_never_a_500() {
    let api = Api::start().await;
    let me = api.stack.create_user().await;
    let token = Some(me.token.as_str());

    // Big bodies.
    let big = json!({"mode": "imagine", "prompt": "x", "padding": "y".repeat(1024 * 1024)}).to_string().into_bytes();
    for path in ["/generations", "/uploads"] {
        let response = api.call_raw("POST", path, token, Some(("application/json", big.clone())), &[]).await;
        assert!(response.status == 413 || response.status == 400, "{path}: {}", response.status);
        let code = if response.status == 413 { "PAYLOAD_TOO_LARGE" } else { "VALIDATION_ERROR" };
        assert_error(&response, response.status, code, path);
    }
    let huge_prompt = json!({"mode": "imagine", "prompt": "x".repeat(60 * 1024)}).to_string().into_bytes();
    let response = api.call_raw("POST", "/generations", token, Some(("application/json", huge_prompt)), &[]).await;
    assert_error(&response, 400, "VALIDATION_ERROR", "huge prompt");

    // Bodies that are not the JSON asked for.
    let junk: [(&str, &[u8]); 6] = [
        ("application/json", b"{"),
        ("application/json", b"null"),
        ("application/json", b"[1,2]"),
        ("application/json", b""),
        ("text/plain", br#"{"mode":"imagine","prompt":"x"}"#),
        ("application/json", &[0xFF, 0xFE, 0x00]),
    ];
    for path in ["/generations", "/uploads"] {
        for (content_type, body) in junk {
            let response = api.call_raw("POST", path, token, Some((content_type, body.to_vec())), &[]).await;
            assert_error(&response, 400, "VALIDATION_ERROR", &format!("{path} {content_type} {body:?}"));
        }
    }

    // Malformed ids.
    for id in ["not-a-uuid", "1", "%27%20or%201%3D1", "00000000-0000-0000-0000-00000000000g", &"a".repeat(500)] {
        for (method, path) in [
            ("GET", format!("/generations/{id}")),
            ("POST", format!("/generations/{id}/cancel")),
            ("POST", format!("/generations/{id}/retry")),
        ] {
            let response = api.call_raw(method, &path, token, None, &[]).await;
            assert_error(&response, 404, "NOT_FOUND", &format!("{method} {path}"));
        }
    }

    // Another user's job looks exactly like one that does not exist.
    let other = api.stack.create_user().await;
    api.stack.sim.set_behaviour(Behaviour::outcome(Outcome::Fail), Some(1));
    let (_, body) = api.submit_imagine(&other).await;
    let theirs = job_id(&body);
    api.wait_for(&other, &theirs, "failed").await;
    let nobody = Uuid::new_v4().to_string();
    for (method, suffix) in [("GET", ""), ("POST", "/cancel"), ("POST", "/retry")] {
        let foreign = api.call_raw(method, &format!("/generations/{theirs}{suffix}"), token, None, &[]).await;
        assert_error(&foreign, 404, "NOT_FOUND", &format!("another user's job: {method} {suffix}"));
        let absent = api.call_raw(method, &format!("/generations/{nobody}{suffix}"), token, None, &[]).await;
        assert_eq!(foreign.body["error"], absent.body["error"], "no existence leak on {method} {suffix}");
    }
    assert_eq!(api.job_row(&theirs).await.0, "failed", "their job is untouched");
    assert_eq!(api.count("public.generation_jobs").await, 1, "no retry was made from their job");

    // Wrong methods.
    let job = Uuid::new_v4();
    for (method, path) in [
        ("DELETE", "/generations".to_string()),
        ("GET", "/generations".to_string()),
        ("GET", "/uploads".to_string()),
        ("PUT", "/uploads".to_string()),
        ("DELETE", format!("/generations/{job}")),
        ("PUT", format!("/generations/{job}")),
        ("GET", format!("/generations/{job}/cancel")),
        ("GET", format!("/generations/{job}/retry")),
        ("GET", "/webhooks/replicate".to_string()),
    ] {
        let response = api.call_raw(method, &path, token, None, &[]).await;
        assert_error(&response, 405, "METHOD_NOT_ALLOWED", &format!("{method} {path}"));
    }

    // Upload tickets out of range.
    for (case, body) in [
        ("gif", json!({"contentType": "image/gif", "sizeBytes": 1000})),
        ("html", json!({"contentType": "text/html", "sizeBytes": 1000})),
        ("svg", json!({"contentType": "image/svg+xml", "sizeBytes": 1000})),
        ("empty type", json!({"contentType": "", "sizeBytes": 1000})),
        ("zero bytes", json!({"contentType": "image/jpeg", "sizeBytes": 0})),
        ("16 MiB", json!({"contentType": "image/jpeg", "sizeBytes": 16 * 1024 * 1024})),
        ("15 MiB + 1", json!({"contentType": "image/png", "sizeBytes": 15 * 1024 * 1024 + 1})),
        ("negative", json!({"contentType": "image/jpeg", "sizeBytes": -1})),
        ("fraction", json!({"contentType": "image/jpeg", "sizeBytes": 1.5})),
        ("huge", json!({"contentType": "image/jpeg", "sizeBytes": 1e30})),
        ("string size", json!({"contentType": "image/jpeg", "sizeBytes": "1000"})),
        ("no size", json!({"contentType": "image/jpeg"})),
        ("no type", json!({"sizeBytes": 1000})),
    ] {
        let response = send(&api, "POST", "/uploads", token, &Some(body)).await;
        assert_error(&response, 400, "VALIDATION_ERROR", case);
    }

    assert_eq!(api.count(&format!("public.generation_jobs where owner_id = '{}'", me.id)).await, 0);
    assert_eq!(api.stack.sim.create_calls(), 1, "only the other user's one submit reached Replicate");
}
