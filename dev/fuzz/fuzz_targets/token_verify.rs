//! Access-token verification (HS256 with the project's JWT secret) on
//! arbitrary strings and on structurally valid tokens with chosen defects.
//!
//! Input: text is a token (and an `Authorization` header); bytes starting
//! with `#` are read by `arbitrary` as a forged token's parts.
//!
//! Properties: nothing panics; a well-formed token signed with the secret,
//! with the right role, subject, audience and times, verifies as its subject;
//! a token signed with another key, with another algorithm, a critical
//! header, a non-user role or a malformed subject never does.
#![no_main]

use std::future::Future;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use sha2::Sha256;
use shared::auth::{AuthConfig, AuthError, TokenVerifier, VerifiedUser};
use uuid::Uuid;

const JWT_SECRET: &str = "fuzz-jwt-secret-with-at-least-32-characters";

const BASE64URL_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[derive(Debug, Arbitrary)]
struct Forged<'a> {
    alg: Alg<'a>,
    kid: Option<&'a str>,
    crit: bool,
    role: Role<'a>,
    sub: Subject<'a>,
    aud: Audience<'a>,
    exp: Time<'a>,
    nbf: Time<'a>,
    email: Option<&'a str>,
    app_role: Option<&'a str>,
    wrong_key: Option<&'a [u8]>,
    mutation: Mutation,
}

#[derive(Debug, Arbitrary)]
enum Alg<'a> {
    Hs256,
    Hs384,
    Es256,
    Rs256,
    None,
    Other(&'a str),
}

#[derive(Debug, Arbitrary)]
enum Role<'a> {
    Authenticated,
    Anon,
    ServiceRole,
    Other(&'a str),
    Missing,
}

#[derive(Debug, Arbitrary)]
enum Subject<'a> {
    User(u128),
    Uppercase(u128),
    Simple(u128),
    Number(i64),
    Other(&'a str),
    Missing,
}

#[derive(Debug, Arbitrary)]
enum Audience<'a> {
    Authenticated,
    ListWithAuthenticated(Vec<&'a str>),
    Other(&'a str),
    Missing,
}

#[derive(Debug, Arbitrary)]
enum Time<'a> {
    /// Seconds from now.
    Relative(i32),
    Absolute(i64),
    Float(f64),
    Text(&'a str),
    Missing,
}

#[derive(Debug, Arbitrary)]
enum Mutation {
    None,
    /// Replace one character of the signature with another base64url one.
    SignatureChar {
        at: usize,
        with: u8,
    },
    Truncate {
        at: usize,
    },
    /// A fourth segment after the signature.
    ExtraSegment,
    LeadingSpace,
}

fn verifier() -> &'static TokenVerifier {
    static VERIFIER: OnceLock<TokenVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| TokenVerifier::new(AuthConfig { jwt_secret: Some(JWT_SECRET.into()), jwks_url: None, issuer: None }))
}

/// Verification of an HS256 token (or a rejected algorithm) never waits on
/// I/O (no JWKS is configured), so one poll finishes it.
fn run_now<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("token verification without JWKS waited on I/O"),
    }
}

fn verify(token: &str) -> Result<VerifiedUser, AuthError> {
    let verified = run_now(verifier().verify(token));
    let via_header = run_now(verifier().verify_bearer(Some(&format!("Bearer {token}"))));
    // The header's token is trimmed, so only a token without surrounding
    // whitespace must fare the same both ways.
    if token.trim() == token && !token.is_empty() {
        assert_eq!(
            verified.as_ref().ok().map(VerifiedUser::user_id),
            via_header.as_ref().ok().map(VerifiedUser::user_id)
        );
    }
    verified
}

fn time_claim(time: &Time, now: i64) -> Option<Value> {
    match *time {
        Time::Relative(seconds) => Some(json!(now + i64::from(seconds))),
        Time::Absolute(seconds) => Some(json!(seconds)),
        Time::Float(seconds) => Some(json!(seconds)),
        Time::Text(text) => Some(json!(text)),
        Time::Missing => None,
    }
}

fn sign_hs256(signing_input: &str, key: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn check_forged(forged: &Forged) {
    let now = chrono::Utc::now().timestamp();
    let alg = match forged.alg {
        Alg::Hs256 => "HS256",
        Alg::Hs384 => "HS384",
        Alg::Es256 => "ES256",
        Alg::Rs256 => "RS256",
        Alg::None => "none",
        Alg::Other(other) => other,
    };
    let mut header = Map::new();
    header.insert("alg".into(), json!(alg));
    header.insert("typ".into(), json!("JWT"));
    if let Some(kid) = forged.kid {
        header.insert("kid".into(), json!(kid));
    }
    if forged.crit {
        header.insert("crit".into(), json!(["exp"]));
    }

    let mut claims = Map::new();
    match forged.role {
        Role::Authenticated => claims.insert("role".into(), json!("authenticated")),
        Role::Anon => claims.insert("role".into(), json!("anon")),
        Role::ServiceRole => claims.insert("role".into(), json!("service_role")),
        Role::Other(role) => claims.insert("role".into(), json!(role)),
        Role::Missing => None,
    };
    match forged.sub {
        Subject::User(id) => claims.insert("sub".into(), json!(Uuid::from_u128(id).hyphenated().to_string())),
        Subject::Uppercase(id) => {
            claims.insert("sub".into(), json!(Uuid::from_u128(id).hyphenated().to_string().to_uppercase()))
        }
        Subject::Simple(id) => claims.insert("sub".into(), json!(Uuid::from_u128(id).simple().to_string())),
        Subject::Number(number) => claims.insert("sub".into(), json!(number)),
        Subject::Other(text) => claims.insert("sub".into(), json!(text)),
        Subject::Missing => None,
    };
    match &forged.aud {
        Audience::Authenticated => claims.insert("aud".into(), json!("authenticated")),
        Audience::ListWithAuthenticated(others) => {
            let mut list: Vec<&str> = others.clone();
            list.push("authenticated");
            claims.insert("aud".into(), json!(list))
        }
        Audience::Other(aud) => claims.insert("aud".into(), json!(aud)),
        Audience::Missing => None,
    };
    if let Some(exp) = time_claim(&forged.exp, now) {
        claims.insert("exp".into(), exp);
    }
    if let Some(nbf) = time_claim(&forged.nbf, now) {
        claims.insert("nbf".into(), nbf);
    }
    if let Some(email) = forged.email {
        claims.insert("email".into(), json!(email));
    }
    if let Some(app_role) = forged.app_role {
        claims.insert("app_metadata".into(), json!({ "role": app_role }));
    }

    let encode =
        |value: &Map<String, Value>| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("a map serializes"));
    let signing_input = format!("{}.{}", encode(&header), encode(&claims));
    let key = forged.wrong_key.unwrap_or(JWT_SECRET.as_bytes());
    let signature = sign_hs256(&signing_input, key);
    let mut token = format!("{signing_input}.{signature}");
    match forged.mutation {
        Mutation::None => {}
        Mutation::SignatureChar { at, with } => {
            let position = signing_input.len() + 1 + at % signature.len();
            let replacement = BASE64URL_ALPHABET[usize::from(with) % BASE64URL_ALPHABET.len()] as char;
            token.replace_range(position..position + 1, &replacement.to_string());
        }
        Mutation::Truncate { at } => token.truncate(at % (token.len() + 1)),
        Mutation::ExtraSegment => token.push_str(".e30"),
        Mutation::LeadingSpace => token.insert(0, ' '),
    }

    let result = verify(&token);

    // Never accepted, whatever else the token holds.
    let forged_key = forged.wrong_key.is_some_and(|key| key != JWT_SECRET.as_bytes());
    let user_role = claims.get("role").and_then(Value::as_str) == Some("authenticated");
    let audience_has_user = match &forged.aud {
        Audience::Authenticated | Audience::ListWithAuthenticated(_) => true,
        Audience::Other(aud) => *aud == "authenticated",
        Audience::Missing => false,
    };
    let must_reject = forged_key
        || alg != "HS256"
        || forged.crit
        || !user_role
        || !audience_has_user
        || matches!(forged.sub, Subject::Missing | Subject::Number(_) | Subject::Simple(_))
        || matches!(forged.sub, Subject::User(0) | Subject::Uppercase(0))
        || matches!(forged.exp, Time::Missing | Time::Text(_))
        || matches!(forged.mutation, Mutation::ExtraSegment | Mutation::LeadingSpace);
    if must_reject {
        assert!(result.is_err(), "accepted a token that must be rejected: {forged:?}");
        return;
    }

    match forged.mutation {
        Mutation::None => {
            // Clearly current: the times are well away from the leeway's edges,
            // and not before 1970 (a negative time is refused as malformed, a
            // finding of this target that is accepted behaviour: see
            // shared/tests/fuzz_regressions.rs).
            let clearly_current = matches!(forged.exp, Time::Relative(seconds) if seconds > 120)
                && match forged.nbf {
                    Time::Missing => true,
                    Time::Relative(seconds) => seconds < -120 && now + i64::from(seconds) >= 0,
                    _ => false,
                };
            if let (true, Subject::User(id)) = (clearly_current, &forged.sub) {
                let user = result.unwrap_or_else(|error| panic!("rejected a valid token ({error}): {forged:?}"));
                assert_eq!(user.user_id(), Uuid::from_u128(*id));
                assert_eq!(user.is_admin(), forged.app_role == Some("admin"));
                assert_eq!(user.email(), forged.email.filter(|email| !email.is_empty()));
            }
        }
        Mutation::SignatureChar { at, with } => {
            let position = at % signature.len();
            if signature.as_bytes()[position] != BASE64URL_ALPHABET[usize::from(with) % BASE64URL_ALPHABET.len()] {
                assert!(result.is_err(), "accepted a token with a changed signature: {forged:?}");
            }
        }
        Mutation::Truncate { .. } | Mutation::ExtraSegment | Mutation::LeadingSpace => {}
    }
}

fuzz_target!(|input: &[u8]| match input.split_first() {
    Some((b'#', parts)) => {
        if let Ok(forged) = Forged::arbitrary_take_rest(Unstructured::new(parts)) {
            check_forged(&forged);
        }
    }
    _ => {
        let Ok(text) = std::str::from_utf8(input) else { return };
        let _ = verify(text);
        let _ = run_now(verifier().verify_bearer(Some(text)));
    }
});
