//! SECURITY.md 22, 25, 26 and 28 over HTTP, as an attacker with their own
//! account does them: submit + cancel while Replicate is still creating the
//! prediction, a captured webhook delivery aimed at another user's job,
//! route after route in a loop, and requests the contract says are wrong.

mod support;

use replicate_sim::{Behaviour, Outcome};
use serde_json::json;
use std::time::Duration;
use support::{eventually, Api};
use uuid::Uuid;

/// The id of the owner's first job once it exists, straight from the
/// database (while its submit is still waiting on Replicate).
async fn first_job_of(api: &Api, owner: Uuid) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let row = api
            .stack
            .app
            .admin()
            .query_opt("select id::text from public.generation_jobs where owner_id = $1", &[&owner])
            .await
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        assert!(tokio::time::Instant::now() < deadline, "no job for {owner}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_job_canceled_while_its_prediction_is_created_has_the_prediction_canceled_at_replicate() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    // The model would run for a while; the create call answers late.
    api.stack.sim.set_behaviour(
        Behaviour { processing_ms: 20_000, create_answer_delay_ms: 1_500, ..Behaviour::default() },
        Some(1),
    );
    let submit = {
        let api = &api;
        let user = user.clone();
        async move { api.submit_imagine(&user).await }
    };
    let cancel = async {
        let job = first_job_of(&api, user.id).await;
        let (status, body) = api.call("POST", &format!("/generations/{job}/cancel"), Some(&user), None).await;
        assert_eq!(status, 200, "{body}");
        job
    };
    let ((status, body), job) = tokio::join!(submit, cancel);
    assert!(status == 202 || status == 200, "{status} {body}");
    assert_eq!(api.job_row(&job).await.0, "canceled");
    let prediction = api.prediction_id(&job).await;
    eventually(5, "the prediction canceled at Replicate", || async {
        api.stack.sim.prediction(&prediction).is_some_and(|p| p["status"] == "canceled")
    })
    .await;
    assert_eq!(api.job_effects(&job).await, (0, 0, 0, 0), "no render, no charge");
}

#[tokio::test]
async fn a_captured_delivery_aimed_at_another_users_starting_job_changes_nothing() {
    let api = Api::start().await;
    let owner = api.stack.create_user().await;
    let victim = api.stack.create_user().await;
    // A real, signed delivery of the owner's finished prediction that never
    // reached us (captured on the way).
    api.stack.sim.set_behaviour(Behaviour::webhook(replicate_sim::WebhookMode::None), Some(1));
    let (status, body) = api.submit_imagine(&owner).await;
    assert_eq!(status, 202, "{body}");
    let owner_job = body["data"]["id"].as_str().unwrap().to_string();
    let prediction_id = api.prediction_id(&owner_job).await;
    let finished = api.stack.sim.wait_terminal(&prediction_id, Duration::from_secs(10)).await.unwrap();
    assert_eq!(finished["status"], "succeeded");
    let captured = serde_json::to_vec(&finished).unwrap();

    // The victim's job waits on Replicate's create answer: no prediction yet.
    api.stack.sim.set_behaviour(
        Behaviour { outcome: Outcome::Hang, create_answer_delay_ms: 3_000, ..Behaviour::default() },
        Some(1),
    );
    let victim_submit = {
        let (api, victim) = (&api, victim.clone());
        async move { api.submit_imagine(&victim).await }
    };
    let attack = async {
        let victim_job = first_job_of(&api, victim.id).await;
        let owner_token =
            api.stack.services.replicate.webhook_verifier().job_token(&owner_job).expect("a configured secret");
        for target in [victim_job.clone(), format!("{victim_job}&jobToken={owner_token}")] {
            let answer = api.post_signed_webhook(Some(&target), &captured).await;
            assert!(answer.status < 500, "{}", answer.status);
        }
        victim_job
    };
    let ((status, body), victim_job) = tokio::join!(victim_submit, attack);
    assert_eq!(status, 202, "{body}");
    let (job_status, _) = api.job_row(&victim_job).await;
    assert!(job_status == "starting" || job_status == "processing", "victim job moved to {job_status}");
    assert_eq!(api.job_effects(&victim_job).await, (0, 0, 0, 0), "no render, variants, debit or delivery");
    assert_ne!(api.prediction_id(&victim_job).await, prediction_id);
}

#[tokio::test]
async fn a_loop_of_submit_and_cancel_is_stopped_by_the_submit_rate_limit() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let limit = api.stack.services.env.rate_limits.submit.max_requests as usize;
    api.stack.sim.set_behaviour(Behaviour { processing_ms: 20_000, ..Behaviour::default() }, None);
    for round in 0..limit {
        let (status, body) = api.submit_imagine(&user).await;
        assert_eq!(status, 202, "round {round}: {body}");
        let job = body["data"]["id"].as_str().unwrap();
        let (status, body) = api.call("POST", &format!("/generations/{job}/cancel"), Some(&user), None).await;
        assert_eq!(status, 200, "round {round}: {body}");
    }
    let creates = api.stack.sim.create_calls();
    let jobs = api.count(&format!("public.generation_jobs where owner_id = '{}'", user.id)).await;
    let refused = api
        .call_raw(
            "POST",
            "/generations",
            Some(&user.token),
            Some(("application/json", json!({"mode": "imagine", "prompt": "again"}).to_string().into_bytes())),
            &[],
        )
        .await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "RATE_LIMITED");
    let retry_after: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(api.stack.sim.create_calls(), creates, "no prediction started");
    assert_eq!(api.count(&format!("public.generation_jobs where owner_id = '{}'", user.id)).await, jobs, "no job");
    // Another user is not held back.
    let other = api.stack.create_user().await;
    assert_eq!(api.submit_imagine(&other).await.0, 202);
}

#[tokio::test]
async fn uploads_and_cancels_are_rate_limited_per_user() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let limits = api.stack.services.env.rate_limits;
    let ask =
        || api.call("POST", "/uploads", Some(&user), Some(json!({"contentType": "image/jpeg", "sizeBytes": 1000})));
    for n in 0..limits.upload.max_requests {
        assert_eq!(ask().await.0, 200, "upload {n}");
    }
    let (status, body) = ask().await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "RATE_LIMITED");

    // Cancels: every attempt counts, also on a job that already ended.
    let (status, body) = api.submit_imagine(&user).await;
    assert_eq!(status, 202, "{body}");
    let job = body["data"]["id"].as_str().unwrap();
    let cancel_path = format!("/generations/{job}/cancel");
    let cancel = || api.call_raw("POST", &cancel_path, Some(&user.token), None, &[]);
    for n in 0..limits.cancel.max_requests {
        let answer = cancel().await;
        assert!(answer.status == 200 || answer.status == 409, "cancel {n}: {}", answer.status);
    }
    let refused = cancel().await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn a_presigned_upload_takes_exactly_the_declared_size() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let image = testkit::stack::test_jpeg(96, 64);
    let (status, ticket) = api
        .call("POST", "/uploads", Some(&user), Some(json!({"contentType": "image/jpeg", "sizeBytes": image.len()})))
        .await;
    assert_eq!(status, 200, "{ticket}");
    let data = &ticket["data"];
    let put = |body: Vec<u8>| {
        let mut request = api.http.put(data["uploadUrl"].as_str().unwrap()).body(body);
        for (name, value) in data["headers"].as_object().unwrap() {
            request = request.header(name, value.as_str().unwrap());
        }
        request.send()
    };
    let mut padded = image.clone();
    padded.extend(std::iter::repeat_n(0u8, 10 * 1024 * 1024));
    // Refused: the signature check fails on the length, and the server may
    // answer before (or without) taking the rest of the body.
    match put(padded).await {
        Ok(response) => assert!(!response.status().is_success(), "10 MiB more: {}", response.status()),
        Err(error) => assert!(error.is_request(), "{error}"),
    }
    let path = data["path"].as_str().unwrap();
    let key = path.trim_start_matches("private/");
    assert_eq!(api.stack.services.storage.head("private", key).await.unwrap(), None, "nothing stored");
    assert!(put(image).await.unwrap().status().is_success());
}

#[tokio::test]
async fn a_wrong_method_is_answered_405_with_allow() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    for (method, path, allow) in [
        ("DELETE", "/usage", "GET"),
        ("PUT", "/generations", "POST"),
        ("GET", "/uploads", "POST"),
        ("POST", "/collections/00000000-0000-0000-0000-000000000000", "PATCH, DELETE"),
    ] {
        let answer = api.call_raw(method, path, Some(&user.token), None, &[]).await;
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.headers["allow"].to_str().unwrap(), allow, "{method} {path}");
    }
}

#[tokio::test]
async fn a_nul_byte_anywhere_in_a_request_is_a_400_never_a_500() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let (_, collections) = api.call("GET", "/collections", Some(&user), None).await;
    let favorites = collections["data"]["items"][0]["id"].as_str().unwrap().to_string();
    for path in [
        format!("/collections/{favorites}/items?style=%00"),
        format!("/collections/{favorites}/items?roomType=a%00b"),
        "/renders?mode=%00".to_string(),
        "/renders?style=x%00".to_string(),
        "/community?x=%00".to_string(),
    ] {
        let (status, body) = api.call("GET", &path, Some(&user), None).await;
        assert!(status == 200 || status == 400, "{path}: {status} {body}");
        if status == 400 {
            assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{path}");
        }
    }
    let (status, body) = api.call("POST", "/collections", Some(&user), Some(json!({"name": "a\u{0}b"}))).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_render_answers_every_field_the_document_promises() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let (_, render) = api.stack.app.seed_render(&user, 2).await;
    let (status, body) = api.call("GET", &format!("/renders/{render}"), Some(&user), None).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    for field in ["id", "jobId", "mode", "coverVariant", "variantCount", "isFavorite", "createdAt", "variants"] {
        assert!(!data[field].is_null(), "{field} missing: {data}");
    }
    assert_eq!(data["variantCount"], 2);
    assert_eq!(data["coverImageUrl"], data["variants"][0]["imageUrl"]);
}
