//! Property-based fuzzing of everything that parses untrusted input: the
//! webhook signature and body, access tokens, cursors, input paths, submit
//! validation and the prompt builder. Each property runs on a few hundred
//! generated inputs per `cargo test` (PROPTEST_CASES raises it for a longer
//! campaign); failures shrink to a minimal case, which stays here as a
//! regression test.

use proptest::prelude::*;
use shared::config::{Mode, ROOM_TYPES, STYLES};
use shared::flows::submit::{validate, SubmitRequest};
use shared::prompt::{build_prompt, EXCLUSIONS, MAX_PROMPT_CHARS};
use shared::replicate::{parse_prediction, WebhookVerifier};
use shared::repositories::pagination::{Cursor, PageRequest};
use shared::storage::InputPath;
use uuid::Uuid;

/// Generated inputs per property: `default` in `make test`, PROPTEST_CASES
/// for a longer campaign (`make bench` runs 20,000).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Standard Webhooks signing, written here independently of the code under test.
fn sign(id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let key = base64::engine::general_purpose::STANDARD.decode(SECRET.trim_start_matches("whsec_")).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn webhook_verification_never_panics(
        id in proptest::option::of(".{0,80}"),
        timestamp in proptest::option::of(".{0,30}"),
        signature in proptest::option::of(".{0,200}"),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        now in any::<i64>(),
    ) {
        let verifier = WebhookVerifier::new(SECRET).unwrap();
        let _ = verifier.verify(id.as_deref(), timestamp.as_deref(), signature.as_deref(), &body, now);
    }

    #[test]
    fn a_signed_body_verifies_and_any_changed_byte_does_not(
        body in proptest::collection::vec(any::<u8>(), 1..512),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let verifier = WebhookVerifier::new(SECRET).unwrap();
        let now = 1_700_000_000;
        let signature = sign("msg_1", now, &body);
        prop_assert!(verifier.verify(Some("msg_1"), Some(&now.to_string()), Some(&signature), &body, now).is_ok());
        let mut tampered = body.clone();
        let at = flip.index(tampered.len());
        tampered[at] ^= 1 << bit;
        prop_assert!(verifier.verify(Some("msg_1"), Some(&now.to_string()), Some(&signature), &tampered, now).is_err());
        prop_assert!(verifier.verify(Some("msg_2"), Some(&now.to_string()), Some(&signature), &body, now).is_err());
    }

    #[test]
    fn prediction_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = parse_prediction(&bytes);
    }

    #[test]
    fn prediction_parsing_of_json_shaped_input_never_panics(
        id in ".{0,70}", status in ".{0,12}", output in proptest::option::of(proptest::collection::vec(".{0,40}", 0..4)),
    ) {
        let json = serde_json::json!({"id": id, "status": status, "output": output});
        let _ = parse_prediction(json.to_string().as_bytes());
    }

    #[test]
    fn cursors_never_panic_and_round_trip(text in ".{0,200}", micros in -1_000_000_000_000_000i64..4_000_000_000_000_000, id in any::<u128>()) {
        let _ = Cursor::decode(&text);
        let _ = PageRequest::parse(Some(&text), Some(&text));
        if let Some(created_at) = chrono::DateTime::from_timestamp_micros(micros) {
            let cursor = Cursor { created_at, id: Uuid::from_u128(id) };
            prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }
    }

    #[test]
    fn input_paths_accept_only_the_owners_canonical_shape(text in ".{0,120}", owner in any::<u128>()) {
        let owner = Uuid::from_u128(owner);
        if let Ok(path) = InputPath::parse_owned(&text, owner) {
            prop_assert_eq!(path.owner, owner);
            prop_assert_eq!(path.db_path(), text);
        }
        let genuine = InputPath::new(owner, shared::storage::ImageType::Png);
        prop_assert_eq!(InputPath::parse_owned(&genuine.db_path(), owner), Ok(genuine));
    }

    #[test]
    fn submit_validation_never_panics(
        mode in ".{0,12}", room in proptest::option::of(".{0,20}"), style in proptest::option::of(".{0,20}"),
        prompt in proptest::option::of(".{0,1200}"), input1 in proptest::option::of(".{0,120}"), input2 in proptest::option::of(".{0,120}"),
    ) {
        let request = SubmitRequest { mode, room_type: room, style, prompt, input1_path: input1, input2_path: input2, idempotency_key: None };
        let _ = validate(&request, Uuid::new_v4());
    }

    #[test]
    fn prompts_keep_their_guardrails_and_bound(
        mode in 0usize..4, room in any::<prop::sample::Index>(), style in any::<prop::sample::Index>(), text in proptest::option::of(".{0,3000}"),
    ) {
        let prompt = build_prompt(Mode::ALL[mode], Some(room.get(ROOM_TYPES)), Some(style.get(STYLES)), text.as_deref());
        prop_assert!(prompt.ends_with(EXCLUSIONS));
        prop_assert!(prompt.chars().count() <= MAX_PROMPT_CHARS);
    }
}

#[tokio::test]
async fn token_verification_never_panics_on_garbage() {
    let verifier = shared::auth::TokenVerifier::new(shared::auth::AuthConfig {
        jwt_secret: Some(testkit::tokens::TEST_JWT_SECRET.into()),
        jwks_url: None,
        issuer: None,
    });
    let mut runner =
        proptest::test_runner::TestRunner::new(ProptestConfig { cases: cases(512), ..ProptestConfig::default() });
    let strategy = prop_oneof![
        ".{0,300}",
        "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,90}",
        Just(testkit::tokens::TokenBuilder::hs256().user_id(Uuid::new_v4()).build()),
    ];
    let tokens = std::cell::RefCell::new(Vec::new());
    runner
        .run(&strategy, |token| {
            tokens.borrow_mut().push(token);
            Ok(())
        })
        .unwrap();
    for token in tokens.into_inner() {
        let _ = verifier.verify(&token).await;
        let _ = verifier.verify_bearer(Some(&format!("Bearer {token}"))).await;
    }
}
