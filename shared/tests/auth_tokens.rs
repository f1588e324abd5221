//! Access-token verification against SECURITY.md item 17: every way a token
//! can be wrong is rejected, each in its own test, and valid HS256, ES256 and
//! RS256 user tokens are accepted.

use serde_json::{json, Value};
use shared::auth::{AuthConfig, AuthError, TokenVerifier, VerifiedUser};
use testkit::jwks::JwksServer;
use testkit::tokens::{
    bearer, TokenBuilder, ES256_KID, ES256_PUBLIC_KEY_PEM, RS256_KID, RS256_PUBLIC_KEY_PEM, TEST_JWT_SECRET,
};
use uuid::Uuid;

/// A verifier configured like production: the JWT secret and the project JWKS
/// (served locally). Keep the server alive as long as the verifier is used.
/// The project behind the JWKS server, whose tokens name `TEST_ISSUER`
/// as Supabase's name their project's auth server.
fn project_config(server: &JwksServer, jwt_secret: Option<String>) -> AuthConfig {
    AuthConfig {
        issuer: Some(testkit::tokens::TEST_ISSUER.into()),
        ..AuthConfig::from_supabase(&server.supabase_url(), jwt_secret)
    }
}

async fn verifier() -> (JwksServer, TokenVerifier) {
    let server = JwksServer::start().await;
    let config = project_config(&server, Some(TEST_JWT_SECRET.into()));
    (server, TokenVerifier::new(config))
}

async fn verify(token: &str) -> Result<VerifiedUser, AuthError> {
    let (_server, verifier) = verifier().await;
    verifier.verify(token).await
}

async fn assert_invalid(token: &str) {
    let result = verify(token).await;
    assert!(matches!(result, Err(AuthError::Invalid(_))), "expected Invalid, got {result:?}");
}

async fn assert_invalid_because(token: &str, reason: &str) {
    match verify(token).await {
        Err(AuthError::Invalid(actual)) => assert_eq!(actual, reason),
        other => panic!("expected Invalid({reason:?}), got {other:?}"),
    }
}

// ---- Valid tokens ----

#[tokio::test]
async fn valid_hs256_token_is_accepted() {
    let user_id = Uuid::new_v4();
    let token = TokenBuilder::hs256().user_id(user_id).email("ada@example.test").build();
    let user = verify(&token).await.expect("valid HS256 token");
    assert_eq!(user.user_id(), user_id);
    assert_eq!(user.email(), Some("ada@example.test"));
    assert!(!user.is_admin());
}

#[tokio::test]
async fn valid_es256_token_is_accepted_via_jwks() {
    let user_id = Uuid::new_v4();
    let user = verify(&TokenBuilder::es256().user_id(user_id).build()).await.expect("valid ES256 token");
    assert_eq!(user.user_id(), user_id);
}

#[tokio::test]
async fn valid_rs256_token_is_accepted_via_jwks() {
    let user_id = Uuid::new_v4();
    let user = verify(&TokenBuilder::rs256().user_id(user_id).build()).await.expect("valid RS256 token");
    assert_eq!(user.user_id(), user_id);
}

#[tokio::test]
async fn audience_array_containing_authenticated_is_accepted() {
    let token = TokenBuilder::es256().aud(json!(["other", "authenticated"])).build();
    verify(&token).await.expect("aud array with authenticated");
}

#[tokio::test]
async fn expiry_within_clock_leeway_is_accepted() {
    verify(&TokenBuilder::hs256().exp_in(-10).build()).await.expect("expired 10 s ago is within the leeway");
}

// ---- Signatures ----

#[tokio::test]
async fn hs256_token_with_wrong_secret_is_rejected() {
    let token = TokenBuilder::hs256_with_secret("some-other-projects-secret-0123456789abcdef").build();
    assert_invalid_because(&token, "bad signature").await;
}

#[tokio::test]
async fn es256_token_with_tampered_payload_is_rejected() {
    let genuine = TokenBuilder::es256().build();
    let forged_claims = TokenBuilder::es256().admin().build();
    assert_invalid_because(&splice_payload(&genuine, &forged_claims), "bad signature").await;
}

#[tokio::test]
async fn rs256_token_with_tampered_payload_is_rejected() {
    let genuine = TokenBuilder::rs256().build();
    let forged_claims = TokenBuilder::rs256().admin().build();
    assert_invalid_because(&splice_payload(&genuine, &forged_claims), "bad signature").await;
}

#[tokio::test]
async fn token_with_signature_stripped_is_rejected() {
    let token = TokenBuilder::es256().build();
    let (signed_part, _signature) = token.rsplit_once('.').expect("three segments");
    assert_invalid(&format!("{signed_part}.")).await;
}

/// Header and signature of `signed`, payload of `forged`.
fn splice_payload(signed: &str, forged: &str) -> String {
    let signed: Vec<&str> = signed.split('.').collect();
    let forged: Vec<&str> = forged.split('.').collect();
    format!("{}.{}.{}", signed[0], forged[1], signed[2])
}

// ---- Algorithms ----

#[tokio::test]
async fn alg_none_token_is_rejected() {
    let token = TokenBuilder::unsigned().build();
    assert!(token.ends_with('.'), "alg none carries an empty signature");
    assert_invalid(&token).await;
}

#[tokio::test]
async fn alg_none_spellings_with_a_known_kid_are_rejected() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = TokenBuilder::unsigned().header_alg(alg).kid(Some(ES256_KID)).build();
        assert_invalid(&token).await;
        // Even with a signature present, `none` is never an accepted algorithm.
        let token = TokenBuilder::es256().header_alg(alg).build();
        assert_invalid_because(&token, "unsupported token algorithm").await;
    }
}

#[tokio::test]
async fn other_algorithms_are_rejected() {
    for alg in ["HS384", "HS512", "ES384", "RS512", "PS256", "EdDSA", ""] {
        let token = TokenBuilder::es256().header_alg(alg).build();
        assert_invalid_because(&token, "unsupported token algorithm").await;
    }
}

#[tokio::test]
async fn hs256_token_signed_with_the_rsa_public_key_is_rejected() {
    // Classic algorithm confusion: HMAC keyed with the verifier's public key.
    let token = TokenBuilder::hs256_with_secret(RS256_PUBLIC_KEY_PEM).kid(Some(RS256_KID)).build();
    assert_invalid_because(&token, "bad signature").await;
}

#[tokio::test]
async fn hs256_token_signed_with_the_ec_public_key_is_rejected() {
    let token = TokenBuilder::hs256_with_secret(ES256_PUBLIC_KEY_PEM).kid(Some(ES256_KID)).build();
    assert_invalid_because(&token, "bad signature").await;
}

#[tokio::test]
async fn hs256_token_signed_with_a_public_key_is_rejected_without_secret() {
    let server = JwksServer::start().await;
    let verifier = TokenVerifier::new(project_config(&server, None));
    let token = TokenBuilder::hs256_with_secret(RS256_PUBLIC_KEY_PEM).kid(Some(RS256_KID)).build();
    assert!(matches!(verifier.verify(&token).await, Err(AuthError::Invalid(_))));
}

#[tokio::test]
async fn es256_token_naming_the_rsa_kid_is_rejected() {
    let token = TokenBuilder::es256().kid(Some(RS256_KID)).build();
    assert_invalid_because(&token, "token algorithm does not match its key").await;
}

#[tokio::test]
async fn rs256_token_naming_the_ec_kid_is_rejected() {
    let token = TokenBuilder::rs256().kid(Some(ES256_KID)).build();
    assert_invalid_because(&token, "token algorithm does not match its key").await;
}

#[tokio::test]
async fn header_alg_differing_from_the_signature_is_rejected() {
    // Signed with ES256 but claims RS256 for the EC key.
    let token = TokenBuilder::es256().header_alg("RS256").build();
    assert_invalid_because(&token, "token algorithm does not match its key").await;
}

#[tokio::test]
async fn hs256_token_is_rejected_when_no_secret_is_configured() {
    let server = JwksServer::start().await;
    let verifier = TokenVerifier::new(project_config(&server, None));
    let result = verifier.verify(&TokenBuilder::hs256().build()).await;
    assert_eq!(result.err(), Some(AuthError::Invalid("HS256 tokens are not accepted")));
    assert_eq!(server.requests_served(), 0, "no JWKS key is tried for HS256");
}

// ---- Keys ----

#[tokio::test]
async fn unknown_kid_is_rejected() {
    let token = TokenBuilder::es256().kid(Some("not-a-project-key")).build();
    assert_invalid_because(&token, "unknown signing key").await;
}

#[tokio::test]
async fn asymmetric_token_without_kid_is_rejected() {
    let token = TokenBuilder::es256().kid(None).build();
    assert_invalid_because(&token, "token has no key id").await;
}

#[tokio::test]
async fn jwks_is_fetched_once_and_cached() {
    let (server, verifier) = verifier().await;
    for i in 0..20 {
        let token = if i % 2 == 0 { TokenBuilder::es256().build() } else { TokenBuilder::rs256().build() };
        verifier.verify(&token).await.expect("valid token");
    }
    assert_eq!(server.requests_served(), 1);
}

#[tokio::test]
async fn unknown_kids_do_not_hammer_the_jwks_endpoint() {
    let (server, verifier) = verifier().await;
    verifier.verify(&TokenBuilder::es256().build()).await.expect("valid token");
    assert_eq!(server.requests_served(), 1);

    for _ in 0..50 {
        let token = TokenBuilder::es256().kid(Some(&Uuid::new_v4().to_string())).build();
        assert!(matches!(verifier.verify(&token).await, Err(AuthError::Invalid(_))));
    }
    assert!(server.requests_served() <= 2, "at most one refetch in the window");
    verifier.verify(&TokenBuilder::rs256().build()).await.expect("known keys still work");
}

#[tokio::test]
async fn unknown_kid_on_a_cold_verifier_fetches_once() {
    let (server, verifier) = verifier().await;
    for _ in 0..20 {
        let token = TokenBuilder::es256().kid(Some(&Uuid::new_v4().to_string())).build();
        assert!(matches!(verifier.verify(&token).await, Err(AuthError::Invalid(_))));
    }
    assert_eq!(server.requests_served(), 1);
}

#[tokio::test]
async fn jwks_server_down_means_keys_unavailable() {
    let server = JwksServer::start().await;
    let config = project_config(&server, Some(TEST_JWT_SECRET.into()));
    drop(server);
    let verifier = TokenVerifier::new(config);

    let result = verifier.verify(&TokenBuilder::es256().build()).await;
    assert_eq!(result.err(), Some(AuthError::KeysUnavailable));
    // HS256 does not depend on the JWKS.
    verifier.verify(&TokenBuilder::hs256().build()).await.expect("HS256 still verifies");
}

#[tokio::test]
async fn jwks_server_error_means_keys_unavailable() {
    let (server, verifier) = verifier().await;
    server.set_status(500);
    let result = verifier.verify(&TokenBuilder::rs256().build()).await;
    assert_eq!(result.err(), Some(AuthError::KeysUnavailable));
}

#[tokio::test]
async fn jwks_that_is_not_a_key_set_means_keys_unavailable() {
    let server = JwksServer::start_with("<html>maintenance</html>").await;
    let verifier = TokenVerifier::new(project_config(&server, None));
    let result = verifier.verify(&TokenBuilder::es256().build()).await;
    assert_eq!(result.err(), Some(AuthError::KeysUnavailable));
}

// ---- Audience ----

#[tokio::test]
async fn wrong_audience_is_rejected() {
    assert_invalid_because(&TokenBuilder::hs256().aud("anon").build(), "wrong audience").await;
}

#[tokio::test]
async fn audience_array_without_authenticated_is_rejected() {
    let token = TokenBuilder::es256().aud(json!(["anon", "other"])).build();
    assert_invalid_because(&token, "wrong audience").await;
}

#[tokio::test]
async fn empty_audience_array_is_rejected() {
    assert_invalid(&TokenBuilder::hs256().aud(json!([])).build()).await;
}

#[tokio::test]
async fn missing_audience_is_rejected() {
    assert_invalid(&TokenBuilder::hs256().without_claim("aud").build()).await;
}

// ---- Time ----

#[tokio::test]
async fn expired_token_is_expired() {
    let result = verify(&TokenBuilder::es256().exp_in(-120).build()).await;
    assert_eq!(result.err(), Some(AuthError::Expired));
}

#[tokio::test]
async fn long_expired_hs256_token_is_expired() {
    let result = verify(&TokenBuilder::hs256().exp_in(-86_400).build()).await;
    assert_eq!(result.err(), Some(AuthError::Expired));
}

#[tokio::test]
async fn token_without_expiry_is_rejected() {
    assert_invalid(&TokenBuilder::hs256().without_claim("exp").build()).await;
}

#[tokio::test]
async fn token_with_non_numeric_expiry_is_rejected() {
    assert_invalid(&TokenBuilder::hs256().claim("exp", "tomorrow").build()).await;
}

#[tokio::test]
async fn token_not_valid_yet_is_rejected() {
    let token = TokenBuilder::es256().nbf_in(300).build();
    assert_invalid_because(&token, "token not valid yet").await;
}

// ---- Role ----

#[tokio::test]
async fn anon_role_is_not_a_user() {
    assert_invalid(&TokenBuilder::hs256().role("anon").build()).await;
}

#[tokio::test]
async fn service_role_is_not_a_user() {
    assert_invalid(&TokenBuilder::hs256().role("service_role").build()).await;
}

#[tokio::test]
async fn other_or_missing_role_is_rejected() {
    assert_invalid(&TokenBuilder::es256().role("postgres").build()).await;
    assert_invalid(&TokenBuilder::es256().without_claim("role").build()).await;
    assert_invalid(&TokenBuilder::es256().claim("role", json!(["authenticated"])).build()).await;
}

// ---- Subject ----

#[tokio::test]
async fn non_uuid_subject_is_rejected() {
    assert_invalid_because(&TokenBuilder::hs256().sub("admin").build(), "subject is not a UUID").await;
}

#[tokio::test]
async fn missing_subject_is_rejected() {
    assert_invalid(&TokenBuilder::hs256().without_claim("sub").build()).await;
}

#[tokio::test]
async fn non_string_subject_is_rejected() {
    assert_invalid(&TokenBuilder::hs256().claim("sub", 42).build()).await;
}

// ---- Malformed tokens ----

#[tokio::test]
async fn empty_token_is_rejected() {
    assert_invalid("").await;
}

#[tokio::test]
async fn garbage_tokens_are_rejected() {
    let (_server, verifier) = verifier().await;
    for garbage in [
        "garbage",
        "a.b.c",
        "...",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9.e30",
        "eyJhbGciOiJIUzI1NiJ9.e30.!!!",
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        "\u{1F600}.\u{1F600}.\u{1F600}",
    ] {
        let result = verifier.verify(garbage).await;
        assert!(matches!(result, Err(AuthError::Invalid(_))), "{garbage:?}: {result:?}");
    }
}

#[tokio::test]
async fn oversized_token_is_rejected() {
    let padded = TokenBuilder::hs256().claim("padding", "x".repeat(10_000)).build();
    assert_invalid_because(&padded, "token too long").await;
}

// ---- Authorization header ----

#[tokio::test]
async fn bearer_header_with_valid_token_is_accepted() {
    let (_server, verifier) = verifier().await;
    let user_id = Uuid::new_v4();
    let token = TokenBuilder::es256().user_id(user_id).build();
    let user = verifier.verify_bearer(Some(&bearer(&token))).await.expect("valid header");
    assert_eq!(user.user_id(), user_id);
    let user = verifier.verify_bearer(Some(&format!("bearer {token}"))).await.expect("scheme is case-insensitive");
    assert_eq!(user.user_id(), user_id);
}

#[tokio::test]
async fn missing_authorization_header_is_missing() {
    let (_server, verifier) = verifier().await;
    assert_eq!(verifier.verify_bearer(None).await.err(), Some(AuthError::Missing));
    assert_eq!(verifier.verify_bearer(Some("")).await.err(), Some(AuthError::Missing));
}

#[tokio::test]
async fn basic_authorization_header_is_rejected() {
    let (_server, verifier) = verifier().await;
    let result = verifier.verify_bearer(Some("Basic dXNlcjpwYXNzd29yZA==")).await;
    assert!(matches!(result, Err(AuthError::Invalid(_))));
}

#[tokio::test]
async fn bearer_without_token_is_rejected() {
    let (_server, verifier) = verifier().await;
    for header in ["Bearer", "Bearer ", "bearer    "] {
        let result = verifier.verify_bearer(Some(header)).await;
        assert!(matches!(result, Err(AuthError::Invalid(_))), "{header:?}: {result:?}");
    }
}

#[tokio::test]
async fn bearer_with_bad_token_is_rejected() {
    let (_server, verifier) = verifier().await;
    let token = TokenBuilder::hs256().role("service_role").build();
    let result = verifier.verify_bearer(Some(&bearer(&token))).await;
    assert!(matches!(result, Err(AuthError::Invalid(_))));
}

// ---- What a verified user exposes ----

#[tokio::test]
async fn app_metadata_admin_role_makes_an_admin() {
    let user = verify(&TokenBuilder::hs256().admin().build()).await.expect("valid token");
    assert!(user.is_admin());
}

#[tokio::test]
async fn user_metadata_admin_role_does_not_make_an_admin() {
    // Users can edit their own user_metadata; only app_metadata is trusted.
    let token = TokenBuilder::hs256().user_metadata(json!({ "role": "admin" })).claim("is_admin", true).build();
    let user = verify(&token).await.expect("valid token");
    assert!(!user.is_admin());
}

#[tokio::test]
async fn other_app_metadata_roles_are_not_admin() {
    for role in [json!("Admin"), json!(["admin"]), json!(true), json!("editor")] {
        let token = TokenBuilder::hs256().app_metadata(json!({ "role": role })).build();
        let user = verify(&token).await.expect("valid token");
        assert!(!user.is_admin(), "app_metadata.role = {role}");
    }
}

#[tokio::test]
async fn claims_json_round_trips_the_verified_claims() {
    let user_id = Uuid::new_v4();
    let builder = TokenBuilder::es256().user_id(user_id).email("grace@example.test").admin();
    let user = verify(&builder.build()).await.expect("valid token");

    let claims: Value = serde_json::from_str(user.claims_json()).expect("claims are JSON");
    assert_eq!(claims["sub"], user_id.to_string());
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["email"], "grace@example.test");
    assert_eq!(claims["app_metadata"]["role"], "admin");
    assert_eq!(&claims, &Value::Object(builder.claims().clone()));
}

#[tokio::test]
async fn debug_output_does_not_leak_claims() {
    let token = TokenBuilder::hs256().email("private@example.test").build();
    let user = verify(&token).await.expect("valid token");
    let debug = format!("{user:?}");
    assert!(debug.contains(&user.user_id().to_string()));
    assert!(!debug.contains("private@example.test"));
}

#[tokio::test]
async fn errors_do_not_contain_the_token() {
    let token = TokenBuilder::hs256().role("anon").build();
    let error = verify(&token).await.expect_err("anon is rejected");
    let rendered = format!("{error} {error:?}");
    assert!(!rendered.contains(&token));
    assert!(!rendered.contains(token.split('.').nth(1).expect("payload")));
}

#[test]
fn verifier_is_shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TokenVerifier>();
    assert_send_sync::<VerifiedUser>();
}
