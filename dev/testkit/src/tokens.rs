//! Minting Supabase-shaped access tokens for tests.
//!
//! The secret and the fixture keys below are TEST-ONLY: they are public (they
//! are committed in `fixtures/`) and must never be configured anywhere real.
//!
//! ```ignore
//! let token = TokenBuilder::es256().user_id(user_id).admin().build();
//! let header = bearer(&token);
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// HS256 secret for tests (the local stack's `SUPABASE_JWT_SECRET`). Test-only.
pub const TEST_JWT_SECRET: &str = "testkit-only-jwt-secret-never-use-outside-tests-0123456789";

/// Key ids of the fixture keys in `FIXTURE_JWKS`.
pub const ES256_KID: &str = "test-es256";
pub const RS256_KID: &str = "test-rs256";

/// Test-only EC P-256 key pair (PKCS#8 / SPKI PEM).
pub const ES256_PRIVATE_KEY_PEM: &str = include_str!("../fixtures/es256-private.pem");
pub const ES256_PUBLIC_KEY_PEM: &str = include_str!("../fixtures/es256-public.pem");
/// Test-only RSA 2048 key pair (PKCS#8 / SPKI PEM).
pub const RS256_PRIVATE_KEY_PEM: &str = include_str!("../fixtures/rs256-private.pem");
pub const RS256_PUBLIC_KEY_PEM: &str = include_str!("../fixtures/rs256-public.pem");

/// The public halves of the fixture keys as a JWKS document, as Supabase
/// serves it at `/auth/v1/.well-known/jwks.json`.
pub const FIXTURE_JWKS: &str = include_str!("../fixtures/jwks.json");

/// Issuer put in minted tokens, as a local Supabase would.
pub const TEST_ISSUER: &str = "http://127.0.0.1:54321/auth/v1";

#[derive(Clone, Debug)]
enum SigningKey {
    Hmac(Vec<u8>),
    Es256,
    Rs256,
    /// `alg: none`: empty signature.
    Unsigned,
}

/// Builds one access token. Starts from a valid Supabase user session token
/// (random user, `role`/`aud` `authenticated`, expires in an hour); setters
/// change one thing each, so tests can make it invalid in exactly one way.
#[derive(Clone, Debug)]
pub struct TokenBuilder {
    signing_key: SigningKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl TokenBuilder {
    /// HS256 with [`TEST_JWT_SECRET`].
    pub fn hs256() -> Self {
        Self::hs256_with_secret(TEST_JWT_SECRET)
    }

    /// HS256 with any secret, e.g. a wrong one, or a public key's bytes to
    /// attempt algorithm confusion.
    pub fn hs256_with_secret(secret: impl AsRef<[u8]>) -> Self {
        Self::new(SigningKey::Hmac(secret.as_ref().to_vec()), "HS256", None)
    }

    /// ES256 with the fixture EC key, kid [`ES256_KID`].
    pub fn es256() -> Self {
        Self::new(SigningKey::Es256, "ES256", Some(ES256_KID))
    }

    /// RS256 with the fixture RSA key, kid [`RS256_KID`].
    pub fn rs256() -> Self {
        Self::new(SigningKey::Rs256, "RS256", Some(RS256_KID))
    }

    /// `alg: none` with an empty signature, built by hand (no library mints these).
    pub fn unsigned() -> Self {
        Self::new(SigningKey::Unsigned, "none", None)
    }

    fn new(signing_key: SigningKey, alg: &str, kid: Option<&str>) -> Self {
        let mut header = Map::new();
        header.insert("alg".into(), alg.into());
        if let Some(kid) = kid {
            header.insert("kid".into(), kid.into());
        }
        header.insert("typ".into(), "JWT".into());

        let now = unix_now();
        let claims = json!({
            "iss": TEST_ISSUER,
            "sub": Uuid::new_v4().to_string(),
            "aud": "authenticated",
            "exp": now + 3600,
            "iat": now,
            "email": "user@example.test",
            "phone": "",
            "app_metadata": { "provider": "email", "providers": ["email"] },
            "user_metadata": {},
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{ "method": "password", "timestamp": now }],
            "session_id": Uuid::new_v4().to_string(),
            "is_anonymous": false,
        });
        let Value::Object(claims) = claims else { unreachable!("json! of an object literal is an object") };
        Self { signing_key, header, claims }
    }

    /// Sets `sub` to any string (e.g. a non-UUID).
    // Named after the claim, like the other setters; not an arithmetic `sub`.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, sub: impl Into<String>) -> Self {
        self.claim("sub", sub.into())
    }

    /// Sets `sub` to a user id.
    pub fn user_id(self, user_id: Uuid) -> Self {
        self.claim("sub", user_id.to_string())
    }

    pub fn role(self, role: &str) -> Self {
        self.claim("role", role)
    }

    /// Sets `aud`: a string or an array (`json!(["a", "authenticated"])`).
    pub fn aud(self, aud: impl Into<Value>) -> Self {
        self.claim("aud", aud)
    }

    /// `exp` relative to now, in seconds; negative for an expired token.
    pub fn exp_in(self, seconds: i64) -> Self {
        self.claim("exp", unix_now() + seconds)
    }

    /// `nbf` relative to now, in seconds.
    pub fn nbf_in(self, seconds: i64) -> Self {
        self.claim("nbf", unix_now() + seconds)
    }

    pub fn email(self, email: &str) -> Self {
        self.claim("email", email)
    }

    pub fn app_metadata(self, app_metadata: Value) -> Self {
        self.claim("app_metadata", app_metadata)
    }

    pub fn user_metadata(self, user_metadata: Value) -> Self {
        self.claim("user_metadata", user_metadata)
    }

    /// Makes the user an admin the way the service does: `app_metadata.role`.
    pub fn admin(self) -> Self {
        self.app_metadata(json!({ "provider": "email", "providers": ["email"], "role": "admin" }))
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim (e.g. `exp` or `sub`).
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets or removes the header's `kid`.
    pub fn kid(mut self, kid: Option<&str>) -> Self {
        match kid {
            Some(kid) => self.header.insert("kid".into(), kid.into()),
            None => self.header.remove("kid"),
        };
        self
    }

    /// Overrides the header's `alg` without changing how the token is signed
    /// (algorithm-confusion and `alg` mismatch cases).
    pub fn header_alg(mut self, alg: &str) -> Self {
        self.header.insert("alg".into(), alg.into());
        self
    }

    /// The claims the token will carry.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The `sub` claim, if it is a string.
    pub fn subject(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }

    /// Encodes and signs the token. Panics only on a broken fixture key.
    pub fn build(&self) -> String {
        let header = URL_SAFE_NO_PAD.encode(Value::Object(self.header.clone()).to_string());
        let payload = URL_SAFE_NO_PAD.encode(Value::Object(self.claims.clone()).to_string());
        let signing_input = format!("{header}.{payload}");
        let (key, algorithm) = match &self.signing_key {
            SigningKey::Hmac(secret) => (EncodingKey::from_secret(secret), Algorithm::HS256),
            SigningKey::Es256 => (
                EncodingKey::from_ec_pem(ES256_PRIVATE_KEY_PEM.as_bytes()).expect("fixture ES256 key parses"),
                Algorithm::ES256,
            ),
            SigningKey::Rs256 => (
                EncodingKey::from_rsa_pem(RS256_PRIVATE_KEY_PEM.as_bytes()).expect("fixture RS256 key parses"),
                Algorithm::RS256,
            ),
            SigningKey::Unsigned => return format!("{signing_input}."),
        };
        let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, algorithm)
            .expect("signing with a fixture key succeeds");
        format!("{signing_input}.{signature}")
    }
}

/// A valid HS256 token for `user_id`: the usual token of an API test.
pub fn user_token(user_id: Uuid) -> String {
    TokenBuilder::hs256().user_id(user_id).build()
}

/// The `Authorization` header value carrying `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn unix_now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("system clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("timestamp fits in i64")
}
