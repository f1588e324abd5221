//! Verification of Replicate's webhooks, which follow Standard Webhooks
//! (SECURITY.md item 15).
//!
//! The signature is HMAC-SHA256, keyed with the base64 key after `whsec_`,
//! over `{webhook-id}.{webhook-timestamp}.{body}`. The `webhook-signature`
//! header holds space-separated `v1,<base64>` entries (several during a secret
//! rotation); one valid entry is enough. The timestamp must be within five
//! minutes of now, in either direction, so a captured delivery cannot be
//! replayed later. Comparison is constant-time.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far the webhook's timestamp may be from our clock, in seconds.
const TIMESTAMP_TOLERANCE_SECS: u64 = 5 * 60;

/// Header size caps. Replicate's ids are short, a timestamp is ten digits and a
/// signature entry is 47 characters; anything far beyond is not a real delivery
/// and is refused before any work.
const MAX_ID_LEN: usize = 256;
const MAX_TIMESTAMP_LEN: usize = 20;
const MAX_SIGNATURE_HEADER_LEN: usize = 2048;

const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("invalid webhook timestamp")]
    InvalidTimestamp,
    #[error("webhook timestamp too far from now")]
    StaleTimestamp,
    #[error("invalid webhook signature")]
    InvalidSignature,
    #[error("webhook secret is not valid")]
    InvalidSecret,
}

/// Checks webhook signatures with the endpoint's secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    /// `None` only for [`WebhookVerifier::rejecting_all`].
    key: Option<Vec<u8>>,
}

// The key must never reach a log line.
impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier").field("has_key", &self.key.is_some()).finish()
    }
}

impl WebhookVerifier {
    /// `secret` is `whsec_<base64 key>`; a bare base64 key is accepted too.
    pub fn new(secret: &str) -> Result<Self, WebhookError> {
        let secret = secret.trim();
        let encoded_key = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let key = STANDARD.decode(encoded_key).map_err(|_| WebhookError::InvalidSecret)?;
        if key.is_empty() {
            return Err(WebhookError::InvalidSecret);
        }
        Ok(Self { key: Some(key) })
    }
}

/// Domain separation: a job-URL token is never a valid webhook signature.
const JOB_TOKEN_CONTEXT: &[u8] = b"interior-render job webhook url v1:";
/// Bytes of the HMAC kept in a job-URL token (128 bits, 32 hex characters).
const JOB_TOKEN_BYTES: usize = 16;

impl WebhookVerifier {
    /// The token put beside `jobId` in the webhook URL a prediction is
    /// created with (SECURITY.md 25). Replicate sends deliveries for a
    /// prediction only to its own URL, so a delivery carrying job A's token
    /// cannot be pointed at job B: the signed body says which prediction, the
    /// token says which job that prediction was created for. Hex, so it
    /// needs no escaping in a query string.
    pub fn job_token(&self, job_id: &str) -> Option<String> {
        let key = self.key.as_deref()?;
        let mut mac = HmacSha256::new_from_slice(key).ok()?;
        mac.update(JOB_TOKEN_CONTEXT);
        mac.update(job_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        Some(digest[..JOB_TOKEN_BYTES].iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// Whether `token` is [`Self::job_token`] of `job_id` (constant time).
    pub fn job_token_matches(&self, job_id: &str, token: &str) -> bool {
        let Some(key) = self.key.as_deref() else { return false };
        let Some(candidate) = decode_hex(token).filter(|bytes| bytes.len() == JOB_TOKEN_BYTES) else {
            return false;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else { return false };
        mac.update(JOB_TOKEN_CONTEXT);
        mac.update(job_id.as_bytes());
        mac.verify_truncated_left(&candidate).is_ok()
    }
}

/// Lowercase or uppercase hex digits only (no sign, no prefix).
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    let digit = |byte: u8| (byte as char).to_digit(16).map(|value| value as u8);
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

impl WebhookVerifier {
    /// A verifier for a misconfigured secret: every webhook fails with
    /// [`WebhookError::InvalidSecret`] (fail closed rather than refuse to start).
    pub(crate) fn rejecting_all() -> Self {
        Self { key: None }
    }

    /// Verifies a delivery from its `webhook-id`, `webhook-timestamp` and
    /// `webhook-signature` headers and its raw body, at `now_unix` seconds.
    /// Only a body that passed is safe to parse and act on.
    pub fn verify(
        &self,
        webhook_id: Option<&str>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), WebhookError> {
        let key = self.key.as_deref().ok_or(WebhookError::InvalidSecret)?;
        let webhook_id = present(webhook_id, "webhook-id")?;
        let timestamp = present(timestamp, "webhook-timestamp")?;
        let signature = present(signature, "webhook-signature")?;

        if webhook_id.len() > MAX_ID_LEN || signature.len() > MAX_SIGNATURE_HEADER_LEN {
            return Err(WebhookError::InvalidSignature);
        }
        let sent_at = parse_timestamp(timestamp)?;
        if sent_at.abs_diff(now_unix) > TIMESTAMP_TOLERANCE_SECS {
            return Err(WebhookError::StaleTimestamp);
        }

        let mut mac = HmacSha256::new_from_slice(key).map_err(|_| WebhookError::InvalidSecret)?;
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);

        let any_valid = signature
            .split(' ')
            .filter_map(|entry| entry.split_once(','))
            // Other versions (asymmetric v1a, future ones) are not ours to check.
            .filter(|(version, _)| *version == "v1")
            .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
            .filter(|candidate| !candidate.is_empty())
            // verify_slice compares in constant time and requires the full length.
            .any(|candidate| mac.clone().verify_slice(&candidate).is_ok());
        if any_valid {
            Ok(())
        } else {
            Err(WebhookError::InvalidSignature)
        }
    }
}

/// A header's value, treating an empty one as missing.
fn present<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, WebhookError> {
    value.map(str::trim).filter(|value| !value.is_empty()).ok_or(WebhookError::MissingHeader(name))
}

/// Unix seconds: digits only (no sign, no fraction), bounded length.
fn parse_timestamp(timestamp: &str) -> Result<i64, WebhookError> {
    if timestamp.len() > MAX_TIMESTAMP_LEN || !timestamp.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(WebhookError::InvalidTimestamp);
    }
    timestamp.parse().map_err(|_| WebhookError::InvalidTimestamp)
}

#[cfg(test)]
mod tests;
