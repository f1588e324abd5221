//! Supabase Auth as the platform issues tokens (issue 10, SECURITY.md 27):
//! anonymous sign-ins are role `authenticated` with `is_anonymous: true` and
//! must not get a free plan's generations each; tokens naming another
//! issuer are refused.

mod support;

use serde_json::json;
use shared::app::Services;
use shared::config::PlanTable;
use support::Api;
use testkit::tokens::TokenBuilder;
use testkit::TestUser;
use uuid::Uuid;

/// An anonymous sign-in, as Supabase Auth makes one: a user row without an
/// email and a token with `is_anonymous: true`.
async fn anonymous_user(api: &Api) -> TestUser {
    let id = Uuid::new_v4();
    api.stack.app.admin().execute("insert into auth.users (id) values ($1)", &[&id]).await.unwrap();
    let token = TokenBuilder::hs256().user_id(id).email("").claim("is_anonymous", true).build();
    let identity = api.stack.services.verifier.verify(&token).await.unwrap();
    TestUser { id, token, identity }
}

#[tokio::test]
async fn an_anonymous_sign_in_reads_but_neither_uploads_nor_generates() {
    let api = Api::start().await;
    let guest = anonymous_user(&api).await;
    let before = api.stack.sim.create_calls();

    let (status, body) = api.submit_imagine(&guest).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "SIGN_IN_REQUIRED");
    let (status, body) =
        api.call("POST", "/uploads", Some(&guest), Some(json!({"contentType": "image/jpeg", "sizeBytes": 1000}))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "SIGN_IN_REQUIRED");
    assert_eq!(api.count(&format!("public.generation_jobs where owner_id = '{}'", guest.id)).await, 0);
    assert_eq!(api.stack.sim.create_calls(), before, "no prediction");

    // Public content and their own (empty) gallery still answer.
    for path in ["/renders", "/community", "/presets", "/collections"] {
        let (status, body) = api.call("GET", path, Some(&guest), None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, usage) = api.call("GET", "/usage", Some(&guest), None).await;
    assert_eq!(usage["data"]["plan"]["id"], "anonymous", "{usage}");
    assert_eq!(usage["data"]["remaining"], 0, "{usage}");
}

#[tokio::test]
async fn an_allowance_in_the_plan_table_lets_anonymous_sign_ins_generate_that_many() {
    let api = Api::start().await;
    let guest = anonymous_user(&api).await;
    let mut env = api.stack.services.env.clone();
    env.plans = PlanTable::from_json(
        r#"{"free": {"id": "free", "label": "Free", "monthlyGenerations": 3}, "paid": [],
            "anonymous": {"id": "guest", "label": "Guest", "monthlyGenerations": 1}}"#,
    )
    .unwrap();
    let services = Services::new(env).unwrap();
    let request = shared::flows::submit::SubmitRequest {
        mode: "imagine".into(),
        room_type: None,
        style: None,
        prompt: Some("a loft".into()),
        input1_path: None,
        input2_path: None,
        idempotency_key: None,
    };
    let outcome = shared::flows::submit::submit(&services, &guest.identity, &request).await;
    assert!(outcome.is_ok(), "{:?}", outcome.err());
}

#[tokio::test]
async fn a_token_of_another_issuer_is_refused() {
    let api = Api::start().await;
    let user = api.stack.create_user().await;
    let ours = testkit::tokens::TEST_ISSUER;
    for (issuer, expected) in [(ours, 200), ("https://another-project.supabase.co/auth/v1", 401)] {
        let token = TokenBuilder::hs256().user_id(user.id).claim("iss", issuer).build();
        let answer = api.call_raw("GET", "/usage", Some(&token), None, &[]).await;
        assert_eq!(answer.status, expected, "{issuer}: {}", answer.body);
    }
}
