//! The project's JSON Web Key Set: fetched lazily, cached, refetched sparingly.
//!
//! Keys are cached for [`JwksTiming::cache_ttl`]. A token whose `kid` we do
//! not know may trigger a refetch (Supabase rotates keys by publishing the new
//! one first), but fetch attempts are spaced by at least
//! [`JwksTiming::refetch_min_interval`], so a stream of tokens with random
//! kids cannot make us hammer the endpoint. When a refresh fails, the keys we
//! already have stay in use.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use super::AuthError;

/// A JWKS is a few keys; anything bigger is not the document we expect.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// RSA moduli accepted, in bytes: 2048 to 8192 bits.
const RSA_MODULUS_BYTES: std::ops::RangeInclusive<usize> = 256..=1024;

/// Length of a P-256 coordinate, in bytes.
const P256_COORDINATE_BYTES: usize = 32;

#[derive(Clone, Copy, Debug)]
pub(crate) struct JwksTiming {
    /// How long fetched keys are trusted before a refresh.
    pub cache_ttl: Duration,
    /// Minimum time between fetch attempts while we hold keys (unknown kid,
    /// stale cache).
    pub refetch_min_interval: Duration,
    /// Minimum time between fetch attempts while we hold no keys at all: short,
    /// since every asymmetric token fails until a fetch succeeds.
    pub retry_after_failure: Duration,
    /// Whole-request timeout of a fetch.
    pub fetch_timeout: Duration,
}

impl Default for JwksTiming {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(600),
            refetch_min_interval: Duration::from_secs(30),
            retry_after_failure: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(3),
        }
    }
}

/// A verification key from the JWKS, with the one algorithm it may verify.
pub(crate) struct PublicKey {
    pub algorithm: Algorithm,
    pub decoding_key: DecodingKey,
}

struct KeySet {
    keys_by_kid: HashMap<String, Arc<PublicKey>>,
    fetched_at: Instant,
}

#[derive(Default)]
struct CacheState {
    key_set: Option<KeySet>,
    last_fetch_attempt: Option<Instant>,
}

/// What to do for a kid, given the cache.
enum Lookup {
    Use(Arc<PublicKey>),
    Fetch,
    Reject(AuthError),
}

impl CacheState {
    fn find(&self, kid: &str) -> Option<Arc<PublicKey>> {
        self.key_set.as_ref()?.keys_by_kid.get(kid).cloned()
    }

    fn may_fetch(&self, now: Instant, timing: &JwksTiming) -> bool {
        let Some(last_attempt) = self.last_fetch_attempt else {
            return true;
        };
        let min_interval =
            if self.key_set.is_some() { timing.refetch_min_interval } else { timing.retry_after_failure };
        now.saturating_duration_since(last_attempt) >= min_interval
    }

    fn lookup(&self, kid: &str, now: Instant, timing: &JwksTiming) -> Lookup {
        let is_fresh =
            self.key_set.as_ref().is_some_and(|set| now.saturating_duration_since(set.fetched_at) < timing.cache_ttl);
        match self.find(kid) {
            Some(key) if is_fresh => Lookup::Use(key),
            _ if self.may_fetch(now, timing) => Lookup::Fetch,
            // Stale, but refetched too recently (and failed): keep using it.
            Some(key) => Lookup::Use(key),
            None => Lookup::Reject(self.missing_key_error()),
        }
    }

    fn missing_key_error(&self) -> AuthError {
        if self.key_set.is_some() {
            AuthError::Invalid("unknown signing key")
        } else {
            AuthError::KeysUnavailable
        }
    }
}

/// Fetches and caches one JWKS. Shared by all requests of an environment.
pub(crate) struct JwksClient {
    url: String,
    http: reqwest::Client,
    timing: JwksTiming,
    state: RwLock<CacheState>,
    /// Held while fetching, so concurrent cache misses make one request.
    fetch_lock: Mutex<()>,
}

impl fmt::Debug for JwksClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksClient").field("url", &self.url).finish_non_exhaustive()
    }
}

impl JwksClient {
    pub fn new(url: String, timing: JwksTiming) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timing.fetch_timeout)
            .connect_timeout(timing.fetch_timeout)
            // The JWKS URL is configuration; a redirect elsewhere is not trusted.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // Fails only if the TLS backend cannot initialise: a broken build,
            // not a runtime condition, so failing at startup is right.
            .expect("reqwest client with rustls builds");
        Self { url, http, timing, state: RwLock::new(CacheState::default()), fetch_lock: Mutex::new(()) }
    }

    /// The key for `kid`, fetching the JWKS if needed and allowed.
    pub async fn key_for(&self, kid: &str) -> Result<Arc<PublicKey>, AuthError> {
        match self.state.read().await.lookup(kid, Instant::now(), &self.timing) {
            Lookup::Use(key) => return Ok(key),
            Lookup::Reject(error) => return Err(error),
            Lookup::Fetch => {}
        }

        let _fetching = self.fetch_lock.lock().await;
        // Another request may have fetched while we waited for the lock.
        match self.state.read().await.lookup(kid, Instant::now(), &self.timing) {
            Lookup::Use(key) => return Ok(key),
            Lookup::Reject(error) => return Err(error),
            Lookup::Fetch => {}
        }

        let fetched = self.fetch().await;
        let mut state = self.state.write().await;
        let now = Instant::now();
        state.last_fetch_attempt = Some(now);
        match fetched {
            Ok(keys_by_kid) => {
                tracing::debug!(keys = keys_by_kid.len(), "fetched JWKS");
                state.key_set = Some(KeySet { keys_by_kid, fetched_at: now });
            }
            Err(reason) => {
                tracing::warn!(url = %self.url, reason, has_cached_keys = state.key_set.is_some(), "JWKS fetch failed");
            }
        }
        state.find(kid).ok_or_else(|| state.missing_key_error())
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<PublicKey>>, &'static str> {
        let mut response = self.http.get(&self.url).send().await.map_err(|error| {
            tracing::debug!(%error, "JWKS request failed");
            if error.is_timeout() {
                "timed out"
            } else {
                "request failed"
            }
        })?;
        if !response.status().is_success() {
            tracing::debug!(status = %response.status(), "JWKS request answered with an error");
            return Err("unexpected HTTP status");
        }
        if response.content_length().is_some_and(|length| length > MAX_JWKS_BYTES as u64) {
            return Err("document too large");
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| "body read failed")? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err("document too large");
            }
            body.extend_from_slice(&chunk);
        }
        parse_key_set(&body)
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<Value>,
}

/// The JWK members we use; everything else is ignored.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    public_key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// Parses a JWKS document into the keys we can verify with, by kid. Keys we
/// cannot use (other types or curves, encryption keys, no kid, malformed) are
/// skipped rather than failing the whole set.
pub(crate) fn parse_key_set(document: &[u8]) -> Result<HashMap<String, Arc<PublicKey>>, &'static str> {
    let document: JwksDocument = serde_json::from_slice(document).map_err(|_| "malformed JWKS document")?;
    let mut keys_by_kid = HashMap::new();
    for raw_key in document.keys {
        let Ok(jwk) = serde_json::from_value::<RawJwk>(raw_key) else {
            tracing::debug!("skipping malformed JWK");
            continue;
        };
        let Some(kid) = jwk.kid.clone().filter(|kid| !kid.is_empty()) else {
            tracing::debug!("skipping JWK without kid");
            continue;
        };
        match public_key(&jwk) {
            Some(key) => match keys_by_kid.entry(kid) {
                Entry::Vacant(slot) => {
                    slot.insert(Arc::new(key));
                }
                Entry::Occupied(existing) => {
                    tracing::warn!(kid = existing.key(), "duplicate kid in JWKS; keeping the first key");
                }
            },
            None => tracing::debug!(kid, kty = jwk.kty, "skipping unusable JWK"),
        }
    }
    Ok(keys_by_kid)
}

/// The verification key of a JWK, if it is an ES256 or RS256 signing key.
/// Symmetric (`oct`) keys are never taken from the network.
fn public_key(jwk: &RawJwk) -> Option<PublicKey> {
    if jwk.public_key_use.as_deref().is_some_and(|key_use| key_use != "sig") {
        return None;
    }
    if jwk.key_ops.as_ref().is_some_and(|ops| !ops.iter().any(|op| op == "verify")) {
        return None;
    }
    let declared_alg = jwk.alg.as_deref();
    match jwk.kty.as_str() {
        "EC" => {
            if jwk.crv.as_deref() != Some("P-256") || declared_alg.is_some_and(|alg| alg != "ES256") {
                return None;
            }
            let (x, y) = (jwk.x.as_deref()?, jwk.y.as_deref()?);
            if decoded_len(x)? != P256_COORDINATE_BYTES || decoded_len(y)? != P256_COORDINATE_BYTES {
                return None;
            }
            Some(PublicKey { algorithm: Algorithm::ES256, decoding_key: DecodingKey::from_ec_components(x, y).ok()? })
        }
        "RSA" => {
            if declared_alg.is_some_and(|alg| alg != "RS256") {
                return None;
            }
            let (n, e) = (jwk.n.as_deref()?, jwk.e.as_deref()?);
            let modulus = URL_SAFE_NO_PAD.decode(n).ok()?;
            let significant_modulus_bytes = modulus.iter().skip_while(|&&b| b == 0).count();
            let exponent_len = decoded_len(e)?;
            if !RSA_MODULUS_BYTES.contains(&significant_modulus_bytes) || !(1..=8).contains(&exponent_len) {
                return None;
            }
            Some(PublicKey { algorithm: Algorithm::RS256, decoding_key: DecodingKey::from_rsa_components(n, e).ok()? })
        }
        _ => None,
    }
}

fn decoded_len(base64url: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(base64url).ok().map(|bytes| bytes.len())
}
