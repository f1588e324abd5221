//! Unit tests of the parts integration tests cannot reach: header and JWK
//! parsing, and JWKS cache timing (with shortened intervals).

use std::time::Duration;

use serde_json::json;
use testkit::jwks::JwksServer;
use testkit::tokens::{TokenBuilder, FIXTURE_JWKS, TEST_JWT_SECRET};

use super::jwks::{parse_key_set, JwksTiming};
use super::*;

fn fast_timing() -> JwksTiming {
    JwksTiming {
        cache_ttl: Duration::from_millis(1200),
        refetch_min_interval: Duration::from_millis(400),
        retry_after_failure: Duration::from_millis(400),
        fetch_timeout: Duration::from_millis(300),
    }
}

fn verifier_for(server: &JwksServer, timing: JwksTiming) -> TokenVerifier {
    let config = AuthConfig { jwt_secret: None, jwks_url: Some(server.url()), issuer: None };
    TokenVerifier::with_jwks_timing(config, timing)
}

fn only_es256_key_jwks() -> String {
    let mut document: Value = serde_json::from_str(FIXTURE_JWKS).expect("fixture JWKS is JSON");
    let keys = document["keys"].as_array_mut().expect("fixture JWKS has keys");
    keys.retain(|key| key["kid"] == "test-es256");
    document.to_string()
}

// ---- Authorization header ----

#[test]
fn bearer_scheme_is_case_insensitive_and_token_trimmed() {
    assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
    assert_eq!(bearer_token(Some("bearer abc")), Ok("abc"));
    assert_eq!(bearer_token(Some("BEARER   abc  ")), Ok("abc"));
}

#[test]
fn absent_or_blank_header_is_missing() {
    assert_eq!(bearer_token(None), Err(AuthError::Missing));
    assert_eq!(bearer_token(Some("")), Err(AuthError::Missing));
    assert_eq!(bearer_token(Some("   ")), Err(AuthError::Missing));
}

#[test]
fn other_schemes_and_empty_bearer_are_invalid() {
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc", "Bearerabc"] {
        assert!(matches!(bearer_token(Some(header)), Err(AuthError::Invalid(_))), "{header:?} must be rejected");
    }
}

// ---- Token shape and header ----

#[test]
fn token_shape_is_checked_before_parsing() {
    let oversized = format!("{}.{}.{}", "a".repeat(4096), "b".repeat(4096), "c".repeat(64));
    let cases = ["", "abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "a=.b.c", "a b.c.d", oversized.as_str()];
    for token in cases {
        assert!(matches!(parse_header(token), Err(AuthError::Invalid(_))), "{token:.40?} must be rejected");
    }
}

#[test]
fn header_reads_alg_and_kid() {
    let token = TokenBuilder::es256().build();
    let header = parse_header(&token).expect("valid header");
    assert_eq!(header.alg, "ES256");
    assert_eq!(header.kid.as_deref(), Some("test-es256"));
}

#[test]
fn header_with_critical_extension_is_rejected() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#);
    let token = format!("{header}.e30.c2ln");
    assert_eq!(parse_header(&token).err(), Some(AuthError::Invalid("unsupported critical header")));
}

#[test]
fn header_that_is_not_json_is_rejected() {
    let header = URL_SAFE_NO_PAD.encode("not json");
    let token = format!("{header}.e30.c2ln");
    assert!(matches!(parse_header(&token), Err(AuthError::Invalid(_))));
}

// ---- Claims ----

#[test]
fn only_canonical_non_nil_uuids_are_user_ids() {
    let id = Uuid::new_v4();
    assert_eq!(parse_user_id(&id.to_string()), Some(id));
    assert_eq!(parse_user_id(&id.to_string().to_uppercase()), Some(id));
    assert_eq!(parse_user_id(&id.simple().to_string()), None);
    assert_eq!(parse_user_id(&id.braced().to_string()), None);
    assert_eq!(parse_user_id(&id.urn().to_string()), None);
    assert_eq!(parse_user_id(&Uuid::nil().to_string()), None);
    assert_eq!(parse_user_id("not-a-uuid"), None);
}

#[test]
fn empty_email_means_no_email() {
    let claims = TokenBuilder::hs256().email("").claims().clone();
    let user = VerifiedUser::from_verified_claims(&claims).expect("valid claims");
    assert_eq!(user.email(), None);
}

#[test]
fn debug_of_user_shows_only_the_user_id() {
    let builder = TokenBuilder::hs256().email("secret-person@example.test").admin();
    let user = VerifiedUser::from_verified_claims(builder.claims()).expect("valid claims");
    let debug = format!("{user:?}");
    assert!(debug.contains(&user.user_id().to_string()));
    assert!(!debug.contains("secret-person"));
    assert!(!debug.contains("app_metadata"));
}

#[test]
fn anonymous_sign_ins_are_told_apart() {
    let anonymous = TokenBuilder::hs256().email("").claim("is_anonymous", true);
    assert!(VerifiedUser::from_verified_claims(anonymous.claims()).unwrap().is_anonymous());
    let signed_up = TokenBuilder::hs256().claim("is_anonymous", false);
    assert!(!VerifiedUser::from_verified_claims(signed_up.claims()).unwrap().is_anonymous());
    assert!(!VerifiedUser::from_verified_claims(TokenBuilder::hs256().claims()).unwrap().is_anonymous());
    // A claim that is not a boolean is not a guess either way.
    let odd = TokenBuilder::hs256().claim("is_anonymous", "false");
    assert!(VerifiedUser::from_verified_claims(odd.claims()).is_err());
}

#[tokio::test]
async fn a_token_naming_another_issuer_is_refused() {
    let config = AuthConfig::from_supabase("https://abc.supabase.co", Some(TEST_JWT_SECRET.to_owned()));
    assert_eq!(config.issuer.as_deref(), Some("https://abc.supabase.co/auth/v1"));
    let verifier = TokenVerifier::new(config);
    let ours = TokenBuilder::hs256().claim("iss", "https://abc.supabase.co/auth/v1").build();
    assert!(verifier.verify(&ours).await.is_ok());
    let unnamed = TokenBuilder::hs256().without_claim("iss").build();
    assert!(verifier.verify(&unnamed).await.is_ok(), "no iss: the signature decides");
    for issuer in [json!("https://other.supabase.co/auth/v1"), json!("https://abc.supabase.co"), json!(42)] {
        let theirs = TokenBuilder::hs256().claim("iss", issuer.clone()).build();
        assert_eq!(verifier.verify(&theirs).await.unwrap_err(), AuthError::Invalid("wrong issuer"), "{issuer}");
    }
}

// ---- Configuration ----

#[test]
fn supabase_config_points_at_the_projects_jwks() {
    let config = AuthConfig::from_supabase("https://abc.supabase.co/", None);
    assert_eq!(config.jwks_url.as_deref(), Some("https://abc.supabase.co/auth/v1/.well-known/jwks.json"));
    let config = AuthConfig::from_supabase("http://127.0.0.1:54321", None);
    assert_eq!(config.jwks_url.as_deref(), Some("http://127.0.0.1:54321/auth/v1/.well-known/jwks.json"));
}

#[test]
fn debug_of_config_redacts_the_secret() {
    let config = AuthConfig::from_supabase("http://localhost", Some(TEST_JWT_SECRET.to_owned()));
    let debug = format!("{config:?}");
    assert!(!debug.contains(TEST_JWT_SECRET));
    assert!(debug.contains("redacted"));
}

#[tokio::test]
async fn empty_secret_does_not_enable_hs256() {
    let verifier = TokenVerifier::new(AuthConfig { jwt_secret: Some(String::new()), jwks_url: None, issuer: None });
    let token = TokenBuilder::hs256_with_secret("").build();
    assert_eq!(verifier.verify(&token).await.err(), Some(AuthError::Invalid("HS256 tokens are not accepted")));
}

// ---- JWK parsing ----

#[test]
fn fixture_jwks_yields_both_keys_with_their_algorithms() {
    let keys = parse_key_set(FIXTURE_JWKS.as_bytes()).expect("fixture JWKS parses");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys["test-es256"].algorithm, Algorithm::ES256);
    assert_eq!(keys["test-rs256"].algorithm, Algorithm::RS256);
}

#[test]
fn unusable_keys_are_skipped_not_fatal() {
    let fixture: Value = serde_json::from_str(FIXTURE_JWKS).expect("fixture JWKS is JSON");
    let ec = fixture["keys"][0].clone();
    let rsa = fixture["keys"][1].clone();
    let with = |mut key: Value, changes: Value| {
        for (name, value) in changes.as_object().expect("object") {
            if value.is_null() {
                key.as_object_mut().expect("object").remove(name);
            } else {
                key[name] = value.clone();
            }
        }
        key
    };
    let document = json!({ "keys": [
        with(ec.clone(), json!({ "kid": "encryption", "use": "enc" })),
        with(ec.clone(), json!({ "kid": "sign-only", "key_ops": ["sign"] })),
        with(ec.clone(), json!({ "kid": "p384", "crv": "P-384" })),
        with(ec.clone(), json!({ "kid": "ec-claims-rs256", "alg": "RS256" })),
        with(ec.clone(), json!({ "kid": "short-x", "x": "AAAA" })),
        with(ec.clone(), json!({ "kid": null })),
        with(rsa.clone(), json!({ "kid": "rsa-claims-ps256", "alg": "PS256" })),
        with(rsa.clone(), json!({ "kid": "rsa-1024", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 128]) })),
        with(rsa.clone(), json!({ "kid": "rsa-no-e", "e": null })),
        { "kty": "oct", "kid": "symmetric", "k": "c2VjcmV0" },
        { "kty": "OKP", "kid": "ed25519", "crv": "Ed25519", "x": "AAAA" },
        "not an object",
        with(ec, json!({ "kid": "good-ec", "alg": null, "use": null, "key_ops": null })),
        with(rsa, json!({ "kid": "good-rsa" })),
    ]});
    let keys = parse_key_set(document.to_string().as_bytes()).expect("document parses");
    let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
    kids.sort_unstable();
    assert_eq!(kids, ["good-ec", "good-rsa"]);
}

#[test]
fn document_without_keys_array_is_an_error() {
    assert!(parse_key_set(b"{}").is_err());
    assert!(parse_key_set(b"<html>").is_err());
    assert_eq!(parse_key_set(br#"{"keys":[]}"#).map(|keys| keys.len()), Ok(0));
}

// ---- JWKS cache timing ----

#[tokio::test]
async fn unknown_kid_refetches_again_once_the_interval_has_passed() {
    let server = JwksServer::start().await;
    let verifier = verifier_for(&server, fast_timing());

    verifier.verify(&TokenBuilder::es256().build()).await.expect("valid token");
    assert_eq!(server.requests_served(), 1);

    let unknown = TokenBuilder::es256().kid(Some("rotated-in")).build();
    assert!(verifier.verify(&unknown).await.is_err());
    assert_eq!(server.requests_served(), 1, "refetch too soon after the last fetch");

    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(verifier.verify(&unknown).await.is_err());
    assert_eq!(server.requests_served(), 2, "one refetch once the interval passed");
    assert!(verifier.verify(&unknown).await.is_err());
    assert_eq!(server.requests_served(), 2);
}

#[tokio::test]
async fn rotated_in_key_is_picked_up_by_a_refetch() {
    let server = JwksServer::start_with(only_es256_key_jwks()).await;
    let verifier = verifier_for(&server, fast_timing());
    verifier.verify(&TokenBuilder::es256().build()).await.expect("valid ES256 token");

    let rs256_token = TokenBuilder::rs256().build();
    assert_eq!(verifier.verify(&rs256_token).await.err(), Some(AuthError::Invalid("unknown signing key")));

    server.set_document(FIXTURE_JWKS);
    tokio::time::sleep(Duration::from_millis(450)).await;
    verifier.verify(&rs256_token).await.expect("new key fetched");
}

#[tokio::test]
async fn stale_cache_is_refreshed_after_its_ttl() {
    let server = JwksServer::start().await;
    let verifier = verifier_for(&server, fast_timing());
    let token = TokenBuilder::es256().build();

    verifier.verify(&token).await.expect("valid token");
    verifier.verify(&token).await.expect("valid token");
    assert_eq!(server.requests_served(), 1);

    tokio::time::sleep(Duration::from_millis(1250)).await;
    verifier.verify(&token).await.expect("valid token");
    assert_eq!(server.requests_served(), 2);
}

#[tokio::test]
async fn stale_keys_stay_in_use_while_the_endpoint_fails() {
    let server = JwksServer::start().await;
    let verifier = verifier_for(&server, fast_timing());
    let token = TokenBuilder::es256().build();
    verifier.verify(&token).await.expect("valid token");

    server.set_status(500);
    tokio::time::sleep(Duration::from_millis(1250)).await;
    verifier.verify(&token).await.expect("stale key still verifies");
    assert_eq!(server.requests_served(), 2, "a refresh was attempted");
    verifier.verify(&token).await.expect("stale key still verifies");
    assert_eq!(server.requests_served(), 2, "failed refresh is not retried at once");
}

#[tokio::test]
async fn unavailable_keys_recover_once_the_endpoint_does() {
    let server = JwksServer::start().await;
    server.set_status(503);
    let verifier = verifier_for(&server, fast_timing());
    let token = TokenBuilder::es256().build();

    assert_eq!(verifier.verify(&token).await.err(), Some(AuthError::KeysUnavailable));
    assert_eq!(verifier.verify(&token).await.err(), Some(AuthError::KeysUnavailable));
    assert_eq!(server.requests_served(), 1, "retries are spaced");

    server.set_status(200);
    tokio::time::sleep(Duration::from_millis(450)).await;
    verifier.verify(&token).await.expect("keys fetched after the endpoint recovered");
}

#[tokio::test]
async fn slow_endpoint_times_out_as_keys_unavailable() {
    let server = JwksServer::start().await;
    server.set_response_delay(Duration::from_secs(5));
    let verifier = verifier_for(&server, fast_timing());

    let started = std::time::Instant::now();
    let result = verifier.verify(&TokenBuilder::es256().build()).await;
    assert_eq!(result.err(), Some(AuthError::KeysUnavailable));
    assert!(started.elapsed() < Duration::from_secs(2), "fetch timeout applies");
}

#[tokio::test]
async fn concurrent_cold_start_verifications_fetch_once() {
    let server = JwksServer::start().await;
    server.set_response_delay(Duration::from_millis(100));
    let verifier = verifier_for(&server, JwksTiming::default());
    let tokens: Vec<String> = (0..10)
        .map(|i| if i % 2 == 0 { TokenBuilder::es256().build() } else { TokenBuilder::rs256().build() })
        .collect();

    let results = futures_util::future::join_all(tokens.iter().map(|token| verifier.verify(token))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.requests_served(), 1);
}

// ---- Verified tokens kept per environment ----

#[tokio::test]
async fn a_kept_token_answers_only_for_itself_byte_for_byte() {
    let server = JwksServer::start().await;
    let verifier = verifier_for(&server, JwksTiming::default());
    let token = TokenBuilder::es256().build();
    let user = verifier.verify(&token).await.expect("valid token");
    assert_eq!(verifier.verify(&token).await.expect("kept").user_id(), user.user_id());

    // Another signature on the same header and claims is another token.
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{signed}.{flipped}{}", &signature[1..]);
    assert!(matches!(verifier.verify(&forged).await, Err(AuthError::Invalid(_))));
    let expired = TokenBuilder::es256().exp_in(-600).build();
    assert_eq!(verifier.verify(&expired).await.err(), Some(AuthError::Expired));
    assert_eq!(verifier.verify(&expired).await.err(), Some(AuthError::Expired), "a refusal is never kept");
}

#[tokio::test]
async fn a_withdrawn_key_stops_a_kept_token_once_the_keys_are_refreshed() {
    let server = JwksServer::start().await;
    let verifier = verifier_for(&server, fast_timing());
    let token = TokenBuilder::es256().build();
    verifier.verify(&token).await.expect("valid token");
    server.set_document(r#"{"keys": []}"#);
    verifier.verify(&token).await.expect("still trusted within the keys' lifetime");
    tokio::time::sleep(Duration::from_millis(1250)).await;
    assert!(verifier.verify(&token).await.is_err(), "trusted no longer than the key that verified it");
}
