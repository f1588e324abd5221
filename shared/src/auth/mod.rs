//! Verification of Supabase access tokens.
//!
//! Every function verifies the caller's token itself (API Gateway's JWT
//! authorizer cannot verify ES256): HS256 with the project's JWT secret, ES256
//! and RS256 with the project's JWKS, selected by `kid`. A token is accepted
//! only if its signature, `exp`, `nbf`, `aud`, `role` and `sub` all check out;
//! anything else is a 401 for the caller.
//!
//! Rejection reasons are short static strings: they are safe to log and never
//! contain the token or any claim.

pub mod admin;
mod cache;
mod jwks;

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use self::cache::VerifiedTokens;
use self::jwks::{JwksClient, JwksTiming};

/// Longest token we are willing to parse. Supabase access tokens are well under
/// 2 KiB; the cap keeps base64/JSON work bounded for hostile input.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const CLOCK_LEEWAY_SECS: u64 = 30;

/// `aud` must contain this value (Supabase puts it on every user session token).
const REQUIRED_AUDIENCE: &str = "authenticated";

/// The Postgres role of a signed-in user. `anon` and `service_role` tokens are
/// project keys, not users, and are rejected.
const USER_ROLE: &str = "authenticated";

/// Where to find the keys that sign access tokens.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// The project's JWT secret, for HS256 tokens. `None` (or empty) rejects HS256.
    pub jwt_secret: Option<String>,
    /// The project's JWKS URL, for ES256/RS256 tokens. `None` rejects them.
    pub jwks_url: Option<String>,
    /// `<SUPABASE_URL>/auth/v1`: a token that names an issuer must name
    /// this one (Supabase asks servers to check `iss`). `None` skips it.
    pub issuer: Option<String>,
}

impl AuthConfig {
    /// The configuration of a Supabase project: its JWKS lives at
    /// `<supabase_url>/auth/v1/.well-known/jwks.json`.
    pub fn from_supabase(supabase_url: &str, jwt_secret: Option<String>) -> Self {
        let base_url = supabase_url.trim_end_matches('/');
        Self {
            jwt_secret,
            jwks_url: Some(format!("{base_url}/auth/v1/.well-known/jwks.json")),
            issuer: Some(format!("{base_url}/auth/v1")),
        }
    }
}

// The secret must never reach a log line, so Debug is written by hand.
impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "[redacted]"))
            .field("jwks_url", &self.jwks_url)
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// Why a token was not accepted. Every variant means 401 for the caller, except
/// `KeysUnavailable`, which is our failure (the JWKS could not be fetched).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing access token")]
    Missing,
    /// Short, static reason; never contains the token or its claims.
    #[error("invalid access token: {0}")]
    Invalid(&'static str),
    #[error("access token expired")]
    Expired,
    #[error("token signing keys are unavailable")]
    KeysUnavailable,
}

/// A caller whose access token has been verified.
///
/// The only way to get one outside this module is [`TokenVerifier::verify`] or
/// [`TokenVerifier::verify_bearer`].
#[derive(Clone)]
pub struct VerifiedUser {
    user_id: Uuid,
    email: Option<String>,
    is_admin: bool,
    /// Supabase's anonymous sign-in (`is_anonymous: true`): role
    /// `authenticated` like anyone, but no identity behind it.
    is_anonymous: bool,
    /// The verified claims, serialized once; cheap to clone.
    claims_json: Arc<str>,
}

impl VerifiedUser {
    /// Builds a user from claims whose signature, expiry and audience have
    /// already been verified; checks the user-specific claims (`role`, `sub`).
    pub(crate) fn from_verified_claims(claims: &Map<String, Value>) -> Result<Self, AuthError> {
        match claims.get("role").and_then(Value::as_str) {
            Some(USER_ROLE) => {}
            Some("anon" | "service_role") => return Err(AuthError::Invalid("project key, not a user token")),
            Some(_) => return Err(AuthError::Invalid("unexpected role")),
            None => return Err(AuthError::Invalid("token has no role")),
        }

        let subject = claims.get("sub").and_then(Value::as_str).ok_or(AuthError::Invalid("token has no subject"))?;
        let user_id = parse_user_id(subject).ok_or(AuthError::Invalid("subject is not a UUID"))?;

        // Anonymous Supabase users carry `"email": ""`: that is no email.
        let email = claims.get("email").and_then(Value::as_str).filter(|email| !email.is_empty()).map(str::to_owned);

        // Only app_metadata counts: users can edit their own user_metadata.
        let is_admin = claims.get("app_metadata").and_then(|metadata| metadata.get("role")).and_then(Value::as_str)
            == Some("admin");

        let is_anonymous = match claims.get("is_anonymous") {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(_) => return Err(AuthError::Invalid("malformed is_anonymous claim")),
        };

        let claims_json =
            serde_json::to_string(claims).map_err(|_| AuthError::Invalid("claims cannot be serialized"))?;

        Ok(Self { user_id, email, is_admin, is_anonymous, claims_json: claims_json.into() })
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The account's email, if it has one.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// True only when `app_metadata.role` is `"admin"` (set by the service, not
    /// by the user).
    pub fn is_admin(&self) -> bool {
        self.is_admin
    }

    /// An anonymous sign-in: may read, may not spend generations or storage
    /// unless the plan table gives anonymous users an allowance.
    pub fn is_anonymous(&self) -> bool {
        self.is_anonymous
    }

    /// The verified claims object as JSON: what PostgREST puts in
    /// `request.jwt.claims`, so RLS policies see the same values.
    pub fn claims_json(&self) -> &str {
        &self.claims_json
    }
}

// Logs may show who the caller is, but not their email or other claims.
impl fmt::Debug for VerifiedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedUser").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

/// Verifies access tokens. Build one per Lambda environment and share it: it
/// holds the HTTP client and the JWKS cache.
pub struct TokenVerifier {
    hs256_key: Option<DecodingKey>,
    jwks: Option<JwksClient>,
    issuer: Option<String>,
    /// Tokens this environment verified already (see `cache`).
    verified: VerifiedTokens,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("accepts_hs256", &self.hs256_key.is_some())
            .field("jwks", &self.jwks)
            .finish()
    }
}

impl TokenVerifier {
    pub fn new(config: AuthConfig) -> Self {
        Self::with_jwks_timing(config, JwksTiming::default())
    }

    pub(crate) fn with_jwks_timing(config: AuthConfig, timing: JwksTiming) -> Self {
        // An empty secret would let anyone sign tokens with an empty HMAC key:
        // treat it as "not configured".
        let hs256_key = config
            .jwt_secret
            .filter(|secret| !secret.trim().is_empty())
            .map(|secret| DecodingKey::from_secret(secret.as_bytes()));
        // A verified token is trusted no longer than the keys that verified it.
        let verified = VerifiedTokens::new(timing.cache_ttl);
        let jwks = config.jwks_url.filter(|url| !url.trim().is_empty()).map(|url| JwksClient::new(url, timing));
        let issuer = config.issuer.filter(|issuer| !issuer.trim().is_empty());
        Self { hs256_key, jwks, issuer, verified }
    }

    /// Verifies a raw access token.
    pub async fn verify(&self, token: &str) -> Result<VerifiedUser, AuthError> {
        let now = chrono::Utc::now().timestamp();
        if token.len() <= MAX_TOKEN_LEN {
            if let Some(user) = self.verified.get(token, now) {
                return Ok(user);
            }
        }
        let header = parse_header(token)?;
        let claims = match header.alg.as_str() {
            // Supabase's HS256 tokens may carry a kid; the secret is the only
            // HS256 key, so it is ignored. A JWKS key is never used as an HMAC
            // secret.
            "HS256" => {
                let secret = self.hs256_key.as_ref().ok_or(AuthError::Invalid("HS256 tokens are not accepted"))?;
                decode_claims(token, secret, Algorithm::HS256)?
            }
            "ES256" | "RS256" => {
                let algorithm = if header.alg == "ES256" { Algorithm::ES256 } else { Algorithm::RS256 };
                let jwks = self.jwks.as_ref().ok_or(AuthError::Invalid("asymmetric tokens are not accepted"))?;
                let kid = header.kid.as_deref().ok_or(AuthError::Invalid("token has no key id"))?;
                let key = jwks.key_for(kid).await?;
                // The token's alg must be the key's alg: no algorithm confusion.
                if key.algorithm != algorithm {
                    return Err(AuthError::Invalid("token algorithm does not match its key"));
                }
                decode_claims(token, &key.decoding_key, algorithm)?
            }
            _ => return Err(AuthError::Invalid("unsupported token algorithm")),
        };
        // Supabase's access tokens always name their issuer; one that names
        // another (a token of another project or service signed with a key we
        // also trust) is refused. Tokens without `iss` are left to the
        // signature.
        match (claims.get("iss"), &self.issuer) {
            (None, _) | (Some(_), None) => {}
            (Some(Value::String(iss)), Some(expected))
                if iss.trim_end_matches('/') == expected.trim_end_matches('/') => {}
            (Some(_), Some(_)) => return Err(AuthError::Invalid("wrong issuer")),
        }
        let user = VerifiedUser::from_verified_claims(&claims)?;
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
            self.verified.insert(token, &user, exp, now);
        }
        Ok(user)
    }

    /// Verifies the token of an `Authorization: Bearer <token>` header.
    pub async fn verify_bearer(&self, authorization_header: Option<&str>) -> Result<VerifiedUser, AuthError> {
        let token = bearer_token(authorization_header)?;
        self.verify(token).await
    }
}

/// Extracts the token of a `Bearer` authorization header (scheme is
/// case-insensitive, RFC 9110).
fn bearer_token(authorization_header: Option<&str>) -> Result<&str, AuthError> {
    let header = authorization_header.map(str::trim).filter(|header| !header.is_empty()).ok_or(AuthError::Missing)?;
    let (scheme, token) = header.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Invalid("authorization scheme is not Bearer"));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Invalid("empty bearer token"));
    }
    Ok(token)
}

/// The parts of a JOSE header we act on.
#[derive(Deserialize)]
struct TokenHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Critical extensions must be understood to accept a token (RFC 7515
    /// 4.1.11); we understand none.
    #[serde(default)]
    crit: Option<Value>,
}

/// Checks the token's shape and reads its header, before any key lookup.
fn parse_header(token: &str) -> Result<TokenHeader, AuthError> {
    if token.is_empty() {
        return Err(AuthError::Invalid("empty token"));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Invalid("token too long"));
    }
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(AuthError::Invalid("malformed token"));
    };
    let is_base64url = |segment: &str| segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    // An empty signature is what `alg: none` tokens carry.
    if header.is_empty()
        || payload.is_empty()
        || signature.is_empty()
        || ![header, payload, signature].into_iter().all(is_base64url)
    {
        return Err(AuthError::Invalid("malformed token"));
    }
    let header_json = URL_SAFE_NO_PAD.decode(header).map_err(|_| AuthError::Invalid("malformed token header"))?;
    let header: TokenHeader =
        serde_json::from_slice(&header_json).map_err(|_| AuthError::Invalid("malformed token header"))?;
    if header.crit.is_some() {
        return Err(AuthError::Invalid("unsupported critical header"));
    }
    Ok(header)
}

/// Verifies signature, `exp`, `nbf` and `aud`, and returns the claims.
fn decode_claims(token: &str, key: &DecodingKey, algorithm: Algorithm) -> Result<Map<String, Value>, AuthError> {
    let mut validation = Validation::new(algorithm);
    validation.leeway = CLOCK_LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_audience(&[REQUIRED_AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);

    jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|error| rejection(error.kind()))
}

fn rejection(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::Invalid("token not valid yet"),
        ErrorKind::InvalidSignature => AuthError::Invalid("bad signature"),
        ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience"),
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => AuthError::Invalid("token has no expiry"),
            "aud" => AuthError::Invalid("token has no audience"),
            "sub" => AuthError::Invalid("token has no subject"),
            _ => AuthError::Invalid("token lacks a required claim"),
        },
        ErrorKind::InvalidClaimFormat(_) => AuthError::Invalid("malformed time claim"),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
            AuthError::Invalid("token algorithm does not match its key")
        }
        ErrorKind::InvalidKeyFormat | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) => {
            AuthError::Invalid("unusable signing key")
        }
        _ => AuthError::Invalid("malformed token"),
    }
}

/// Parses a user id: only the canonical hyphenated form Supabase issues, and
/// never the nil UUID.
fn parse_user_id(subject: &str) -> Option<Uuid> {
    if subject.len() != 36 {
        return None;
    }
    Uuid::try_parse(subject).ok().filter(|id| !id.is_nil())
}

#[cfg(test)]
mod tests;
