//! Calls to Replicate's predictions API.
//!
//! A Lambda request has little time, so every call is bounded (connect 3 s,
//! whole request 10 s) and a throttled call is retried at most once, and only
//! when Replicate asks us to wait no more than [`MAX_RETRY_WAIT`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::config::{ModelInputs, ReplicateConfig};
use super::error::ReplicateError;
use super::prediction::Prediction;
use super::responses::{read_prediction, request_failure, retry_after};
use super::webhook::WebhookVerifier;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait before the one retry of a throttled call.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);

/// Replicate's API and webhook verification, built once per Lambda environment
/// and cloned cheaply into each request.
#[derive(Clone)]
pub struct ReplicateClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ReplicateConfig,
    http: reqwest::Client,
    webhook_verifier: WebhookVerifier,
}

impl fmt::Debug for ReplicateClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicateClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl ReplicateClient {
    pub fn new(config: ReplicateConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(API_TIMEOUT)
            // Output URLs come from webhook bodies: a redirect could lead
            // anywhere, so none is followed (SECURITY.md item 16).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // Fails only if the TLS backend cannot initialise: a broken build,
            // not a runtime condition, so failing at startup is right.
            .expect("reqwest client with rustls builds");
        // `ReplicateConfig::from_lookup` already refuses a bad secret; a config
        // built by hand with one gets a verifier that rejects every webhook.
        let webhook_verifier = WebhookVerifier::new(&config.webhook_secret).unwrap_or_else(|_| {
            tracing::error!("REPLICATE_WEBHOOK_SECRET is not a whsec_<base64> secret; every webhook will be rejected");
            WebhookVerifier::rejecting_all()
        });
        Self { inner: Arc::new(Inner { config, http, webhook_verifier }) }
    }

    pub fn config(&self) -> &ReplicateConfig {
        &self.inner.config
    }

    pub fn webhook_verifier(&self) -> &WebhookVerifier {
        &self.inner.webhook_verifier
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Starts a prediction of the model for `job_id`. Replicate calls the
    /// webhook once, when it completes, and cancels it itself once `deadline`
    /// has passed (its `Cancel-After`).
    pub async fn create_prediction(
        &self,
        job_id: Uuid,
        prompt: &str,
        image_urls: &[String],
        deadline: Duration,
    ) -> Result<Prediction, ReplicateError> {
        let config = &self.inner.config;
        let url = format!("{}/v1/models/{}/predictions", config.api_url, config.model);
        let webhook_url = config.webhook_url.as_deref().ok_or_else(|| ReplicateError::Rejected {
            status: 0,
            detail: "WEBHOOK_URL is not configured for this function".into(),
        })?;
        let job_token = self.inner.webhook_verifier.job_token(&job_id.to_string()).unwrap_or_default();
        let body = prediction_request_body(
            &webhook_url_for_job(webhook_url, job_id, &job_token),
            prompt,
            image_urls,
            &config.model_inputs,
        );
        let cancel_after = cancel_after_header(deadline);
        let prediction = self
            .send_with_one_retry("create prediction", || {
                self.authorized(self.inner.http.post(&url)).header("Cancel-After", &cancel_after).json(&body)
            })
            .await?;
        tracing::info!(%job_id, prediction_id = %prediction.id, status = prediction.status.as_str(), "created prediction");
        Ok(prediction)
    }

    pub async fn get_prediction(&self, prediction_id: &str) -> Result<Prediction, ReplicateError> {
        let url = self.prediction_url(prediction_id, "")?;
        self.send_with_one_retry("get prediction", || self.authorized(self.inner.http.get(&url))).await
    }

    /// Cancels a prediction. Canceling one that already ended answers it as it is.
    pub async fn cancel_prediction(&self, prediction_id: &str) -> Result<Prediction, ReplicateError> {
        let url = self.prediction_url(prediction_id, "/cancel")?;
        self.send_with_one_retry("cancel prediction", || self.authorized(self.inner.http.post(&url))).await
    }

    /// The URL of a prediction. The id goes into a path, so only the
    /// characters Replicate's ids use are accepted; no request is sent otherwise.
    fn prediction_url(&self, prediction_id: &str, suffix: &str) -> Result<String, ReplicateError> {
        let is_valid = (1..=64).contains(&prediction_id.len())
            && prediction_id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !is_valid {
            return Err(ReplicateError::Rejected { status: 400, detail: "malformed prediction id".into() });
        }
        Ok(format!("{}/v1/predictions/{prediction_id}{suffix}", self.inner.config.api_url))
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        request.bearer_auth(&self.inner.config.api_token)
    }

    /// Sends the request built by `request`; on a 429 waits and sends it once
    /// more if the wait is short. A 429 means Replicate did not act on the
    /// request, so repeating a create cannot start two predictions.
    async fn send_with_one_retry(
        &self,
        operation: &'static str,
        request: impl Fn() -> RequestBuilder,
    ) -> Result<Prediction, ReplicateError> {
        let mut retried = false;
        loop {
            let response = request().send().await.map_err(|error| {
                let reason = request_failure(&error);
                tracing::warn!(operation, reason, "Replicate request failed");
                ReplicateError::Unavailable(reason.to_string())
            })?;
            if response.status() != StatusCode::TOO_MANY_REQUESTS {
                return read_prediction(operation, response).await;
            }
            let retry_after = retry_after(response).await;
            if retried || retry_after > MAX_RETRY_WAIT {
                tracing::warn!(operation, ?retry_after, "Replicate rate limit");
                return Err(ReplicateError::RateLimited { retry_after });
            }
            tracing::info!(operation, ?retry_after, "Replicate rate limit; retrying once");
            tokio::time::sleep(retry_after).await;
            retried = true;
        }
    }
}

/// The prediction request Replicate documents for nano-banana. `image_input`
/// is left out for a text-only prompt, whose aspect ratio cannot follow an
/// input image.
fn prediction_request_body(webhook_url: &str, prompt: &str, image_urls: &[String], inputs: &ModelInputs) -> Value {
    let mut input = Map::new();
    input.insert("prompt".into(), json!(prompt));
    let aspect_ratio = if image_urls.is_empty() {
        &inputs.imagine_aspect_ratio
    } else {
        input.insert("image_input".into(), json!(image_urls));
        &inputs.aspect_ratio
    };
    input.insert("aspect_ratio".into(), json!(aspect_ratio));
    input.insert("output_format".into(), json!(inputs.output_format));
    json!({
        "input": input,
        "webhook": webhook_url,
        // One delivery per prediction: the flows only act on the final state.
        "webhook_events_filter": ["completed"],
    })
}

/// The webhook URL with the job id and its token, which the webhook handler
/// reads back (the token binds the deliveries to the job, SECURITY.md 25).
fn webhook_url_for_job(webhook_url: &str, job_id: Uuid, job_token: &str) -> String {
    let separator = if webhook_url.contains('?') { '&' } else { '?' };
    format!("{webhook_url}{separator}jobId={job_id}&jobToken={job_token}")
}

/// A Go-style duration, as Replicate's `Cancel-After` takes it: `10m`,
/// held to the 5 s to 24 h Replicate accepts.
fn cancel_after_header(timeout: Duration) -> String {
    let seconds = timeout.as_secs().clamp(5, 24 * 3600);
    if seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_after_matches_the_job_timeout() {
        assert_eq!(cancel_after_header(Duration::from_secs(600)), "10m");
        assert_eq!(cancel_after_header(Duration::from_secs(90)), "90s");
        // Replicate takes 5 s to 24 h.
        assert_eq!(cancel_after_header(Duration::from_secs(1)), "5s");
        assert_eq!(cancel_after_header(Duration::from_secs(48 * 3600)), "1440m");
    }

    #[test]
    fn job_id_and_token_are_appended_to_the_webhook_url() {
        let job_id = Uuid::nil();
        assert_eq!(
            webhook_url_for_job("https://h.example.com/webhooks/replicate", job_id, "ab12"),
            format!("https://h.example.com/webhooks/replicate?jobId={job_id}&jobToken=ab12")
        );
        assert_eq!(
            webhook_url_for_job("https://h/w?stage=prod", job_id, "ab12"),
            format!("https://h/w?stage=prod&jobId={job_id}&jobToken=ab12")
        );
    }
}
