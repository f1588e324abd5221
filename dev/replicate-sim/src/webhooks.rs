//! Completion webhooks, signed per Standard Webhooks as Replicate signs them:
//! `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64
//! HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` with the key being the
//! base64 after `whsec_`. Retries keep the `webhook-id` (that is what lets a
//! receiver deduplicate) and are re-signed with a fresh timestamp; the
//! signature always covers exactly the bytes sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::task::JoinSet;

use crate::behaviour::WebhookMode;
use crate::state::{SentWebhook, Sim};

/// One webhook POST attempt and what came back.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeliveryRecord {
    pub prediction_id: String,
    pub webhook_id: String,
    /// 1 for the first try of a delivery, 2.. for its retries.
    pub attempt: u32,
    /// Sent by [`crate::SimHandle::redeliver`] (or the /_sim route).
    pub redelivery: bool,
    pub url: String,
    pub timestamp: i64,
    /// Request headers as sent (lowercase names).
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// Response status; None when no response came (connection error, timeout).
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub sent_at: DateTime<Utc>,
}

/// A prediction's completion, waiting to be announced.
pub(crate) struct WebhookJob {
    pub prediction_id: String,
    pub url: String,
    pub body: Bytes,
    pub mode: WebhookMode,
}

/// Base64 key bytes of a `whsec_...` secret (the prefix is optional, as in
/// the Standard Webhooks libraries).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    match BASE64.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        Ok(_) => Err("webhook secret is empty".to_owned()),
        Err(e) => Err(format!("webhook secret is not base64 after whsec_: {e}")),
    }
}

/// The `webhook-signature` header value (`v1,<base64>`) for one message.
///
/// # Panics
/// If `secret` is not a valid secret (see [`decode_secret`]); the simulator
/// checks its own secret when it starts.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, payload: &[u8]) -> String {
    let key = decode_secret(secret).expect("valid webhook secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any size");
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(payload);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// `msg_` and random characters, like the ids Replicate sends.
pub(crate) fn new_webhook_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// A message with its signature, sent as is (duplicates) or re-signed (retries).
#[derive(Clone)]
struct Signed {
    webhook_id: String,
    timestamp: i64,
    signature: String,
    body: Bytes,
}

impl Signed {
    fn now(sim: &Sim, webhook_id: String, body: Bytes) -> Self {
        let timestamp = Utc::now().timestamp();
        let signature = sign(&sim.settings.webhook_secret, &webhook_id, timestamp, &body);
        Self { webhook_id, timestamp, signature, body }
    }

    fn resigned(&self, sim: &Sim) -> Self {
        Self::now(sim, self.webhook_id.clone(), self.body.clone())
    }
}

/// Sends a completion webhook the way the prediction's behaviour says.
pub(crate) async fn deliver(sim: Arc<Sim>, job: WebhookJob) {
    let webhook_id = new_webhook_id();
    sim.set_last_webhook(
        &job.prediction_id,
        SentWebhook { webhook_id: webhook_id.clone(), url: job.url.clone(), body: job.body.clone() },
    );
    let job = Arc::new(job);
    match job.mode {
        WebhookMode::None => {}
        WebhookMode::Normal => {
            let signed = Signed::now(&sim, webhook_id, job.body.clone());
            send_with_retries(&sim, &job, signed).await;
        }
        WebhookMode::Delayed { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let signed = Signed::now(&sim, webhook_id, job.body.clone());
            send_with_retries(&sim, &job, signed).await;
        }
        WebhookMode::Duplicate { count, concurrent } => {
            let signed = Signed::now(&sim, webhook_id, job.body.clone());
            if concurrent {
                // Separate tasks, so a multi-threaded receiver really sees the
                // copies at the same time (the race exactly-once must survive).
                let mut copies = JoinSet::new();
                for _ in 0..count {
                    let (sim, job, signed) = (Arc::clone(&sim), Arc::clone(&job), signed.clone());
                    copies.spawn(async move { send_with_retries(&sim, &job, signed).await });
                }
                while copies.join_next().await.is_some() {}
            } else {
                for _ in 0..count {
                    send_with_retries(&sim, &job, signed.clone()).await;
                }
            }
        }
    }
}

/// One delivery: retried with doubling backoff until a 2xx answer. As on
/// Replicate, a 4xx is retried like a 5xx or no answer at all.
async fn send_with_retries(sim: &Sim, job: &WebhookJob, first: Signed) {
    let attempts = sim.settings.webhook_attempts.max(1);
    let mut backoff = sim.settings.webhook_backoff;
    for attempt in 1..=attempts {
        let message = if attempt == 1 { first.clone() } else { first.resigned(sim) };
        let record = send_once(sim, &job.prediction_id, &job.url, &message, attempt, false).await;
        let retry = record.status_code.is_none_or(|status| !(200..300).contains(&status));
        sim.record_delivery(record);
        if !retry || attempt == attempts {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2);
    }
}

async fn send_once(
    sim: &Sim,
    prediction_id: &str,
    url: &str,
    message: &Signed,
    attempt: u32,
    redelivery: bool,
) -> DeliveryRecord {
    let headers: BTreeMap<String, String> = [
        ("content-type", "application/json".to_owned()),
        ("user-agent", "replicate-sim".to_owned()),
        ("webhook-id", message.webhook_id.clone()),
        ("webhook-timestamp", message.timestamp.to_string()),
        ("webhook-signature", message.signature.clone()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let mut request = sim.webhook_http.post(url).body(message.body.clone());
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let sent_at = Utc::now();
    let (status_code, error) = match request.send().await {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    DeliveryRecord {
        prediction_id: prediction_id.to_owned(),
        webhook_id: message.webhook_id.clone(),
        attempt,
        redelivery,
        url: url.to_owned(),
        timestamp: message.timestamp,
        headers,
        body: String::from_utf8_lossy(&message.body).into_owned(),
        status_code,
        error,
        sent_at,
    }
}

/// Replays the last webhook of a finished prediction once (no retries), same
/// body, fresh timestamp, same or new `webhook-id`. None if the prediction is
/// unknown, not finished, or has no webhook URL.
pub(crate) async fn redeliver(sim: &Sim, prediction_id: &str, fresh_id: bool) -> Option<DeliveryRecord> {
    let mut sent = sim.webhook_to_replay(prediction_id)?;
    if fresh_id {
        sent.webhook_id = new_webhook_id();
    }
    sim.set_last_webhook(prediction_id, sent.clone());
    let message = Signed::now(sim, sent.webhook_id, sent.body);
    let record = send_once(sim, prediction_id, &sent.url, &message, 1, true).await;
    sim.record_delivery(record.clone());
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn rejects_bad_secrets() {
        assert!(decode_secret("whsec_***").is_err());
        assert!(decode_secret("whsec_").is_err());
        assert!(decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    }
}
