//! SECURITY 20 and the observability promise: the log lines of a whole
//! generation (upload, submit, webhook, poll) are JSON, carry the request id
//! and, once known, the user id and the job id, and never contain a token,
//! a secret or a presigned URL's signature.

mod support;

use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::Api;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_generation_logs_ids_and_no_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The same format and level as production (shared::telemetry::init).
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish()
        .with(shared::telemetry::level_filter(None))
        .init();

    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let input = api.upload(&user).await;
    let (status, body) = api.submit_redesign(&user, &input).await;
    assert_eq!(status, 202, "{body}");
    let job_id = body["data"]["id"].as_str().unwrap().to_string();
    api.wait_for(&user, &job_id, "succeeded").await;
    let (status, _) = api.call("GET", "/generations/not-a-uuid", Some(&user), None).await;
    assert_eq!(status, 404);

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> =
        text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))).collect();
    assert!(!lines.is_empty());

    // Secrets and signatures never appear.
    let jwt_secret = testkit::tokens::TEST_JWT_SECRET;
    for forbidden in [
        user.token.as_str(),
        jwt_secret,
        api.stack.sim.webhook_secret(),
        api.stack.sim.api_token(),
        testkit::s3::SECRET_KEY,
        "X-Amz-Signature",
        "x-amz-signature",
        "webhook-signature: v1",
        "Bearer ",
    ] {
        assert!(!text.contains(forbidden), "logs contain {forbidden:?}");
    }

    // Every request line names its request; the submit's lines name the user and the job.
    let request_lines: Vec<&Value> = lines.iter().filter(|l| l.get("span").is_some()).collect();
    assert!(!request_lines.is_empty());
    assert!(request_lines.iter().all(|l| l["span"]["request_id"].is_string()));
    let handled_submit = request_lines
        .iter()
        .find(|l| l["span"]["job_id"] == job_id.as_str() && l["span"]["user_id"] == user.id.to_string().as_str())
        .unwrap_or_else(|| panic!("no line with both ids:\n{text}"));
    assert!(handled_submit["fields"]["message"].is_string());
    assert!(lines
        .iter()
        .any(|l| l["fields"]["message"] == "generation completed" && l["span"]["job_id"] == job_id.as_str()));
}
