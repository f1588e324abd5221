//! What coverage-guided fuzzing (`dev/fuzz`, `cargo fuzz`, run by
//! `dev/scripts/fuzz.sh`) found, kept as tests: each finding, minimised, fed
//! to the same entry point as the fuzz target did, with the outcome decided on.

use shared::auth::{AuthConfig, AuthError, TokenVerifier};
use shared::http::{query_param, Body, Request};
use testkit::tokens::{TokenBuilder, TEST_JWT_SECRET};
use uuid::Uuid;

fn verifier() -> TokenVerifier {
    TokenVerifier::new(AuthConfig { jwt_secret: Some(TEST_JWT_SECRET.into()), jwks_url: None, issuer: None })
}

/// token_verify, artifact crash-c078fe03: an otherwise valid HS256 token whose
/// `nbf` lies before 1970 was rejected, where the
/// target expected it accepted. RFC 7519 allows a negative NumericDate, but
/// jsonwebtoken reads time claims as unsigned seconds and so refuses it as a
/// malformed claim. Kept that way on purpose: Supabase issues no such token,
/// and refusing a strange token is the safe side. The target now expects it.
#[tokio::test]
async fn a_not_before_earlier_than_1970_is_a_malformed_time_claim() {
    let user_id = Uuid::from_u128(0x6f1c1d2e_8d0e_4d3b_9a57_2a3b4c5d6e7f);
    // The finding's not-before: June 1964.
    let token = TokenBuilder::hs256().user_id(user_id).claim("nbf", -175_154_108).build();
    assert_eq!(verifier().verify(&token).await.err(), Some(AuthError::Invalid("malformed time claim")));

    // The same token with a not-before in the past after 1970 is accepted.
    let token = TokenBuilder::hs256().user_id(user_id).nbf_in(-3600).build();
    assert_eq!(verifier().verify(&token).await.map(|user| user.user_id()), Ok(user_id));
}

/// request_validation, artifact crash-777c9923, minimised to `Qlimit=%+0`:
/// the query `limit=%+0` decoded to a NUL byte, because the percent decoder
/// handed `+0` to `u8::from_str_radix`, which takes a sign. A `%` without two
/// hex digits after it now stays as it is (and the `+` is a space), as the URL
/// standard decodes forms. Fixed in `shared/src/http/request.rs`.
#[test]
fn a_percent_sign_without_two_hex_digits_stays_as_it_is() {
    let mut request = Request::new(Body::Empty);
    *request.uri_mut() = "/api/v1/renders?limit=%+0&cursor=%-1&name=%41%2b%".parse().unwrap();
    assert_eq!(query_param(&request, "limit").as_deref(), Some("% 0"));
    assert_eq!(query_param(&request, "cursor").as_deref(), Some("%-1"));
    assert_eq!(query_param(&request, "name").as_deref(), Some("A+%"));
}
