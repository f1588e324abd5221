//! A local Replicate: the part of its HTTP API the product uses (create a
//! model prediction, get, cancel, the default webhook secret), real JPEG
//! outputs served like replicate.delivery, Standard Webhooks-signed completion
//! webhooks with retries, and scriptable misbehaviour for tests.
//!
//! In-process (integration tests):
//! ```no_run
//! # async fn demo() {
//! use replicate_sim::{spawn, Behaviour, Outcome, SimConfig};
//! let sim = spawn(SimConfig::default()).await;
//! sim.set_behaviour(Behaviour::outcome(Outcome::Fail), Some(1));
//! // point the product at sim.url() with sim.api_token() / sim.webhook_secret()
//! # }
//! ```
//! As a binary (`make dev`): `replicate-sim`, configured by environment, with
//! the same hooks over HTTP under `/_sim/`.

mod behaviour;
mod cancel_after;
mod control;
mod images;
mod prediction;
mod routes;
mod runner;
mod server;
mod state;
mod webhooks;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use behaviour::{Behaviour, CreateStatus, Outcome, QueuedBehaviour, WebhookMode};
pub use webhooks::{decode_secret, sign, DeliveryRecord};

use state::{Settings, Sim};

/// The API token [`SimConfig::default`] expects.
pub const DEFAULT_API_TOKEN: &str = "r8_sim_test_token";
/// The signing secret [`SimConfig::default`] uses (key: 32 ASCII bytes).
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_cmVwbGljYXRlLXNpbS10ZXN0LXdlYmhvb2sta2V5ISE=";

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Bearer token the API requires.
    pub api_token: String,
    /// `whsec_<base64 key>`; answered by `GET /v1/webhooks/default/secret`.
    pub webhook_secret: String,
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Base URL clients use, if not `http://<bound address>` (behind a proxy,
    /// or a bind on 0.0.0.0). Prediction `urls` and output URLs start with it.
    pub public_base_url: Option<String>,
    /// Webhook tries per delivery (first one included).
    pub webhook_attempts: u32,
    /// Wait before the first retry; doubles after each.
    pub webhook_backoff: Duration,
    /// Shortest `Cancel-After` a create may ask for. Replicate's minimum is
    /// 5 s (the default); a test of deadlines lowers it so as not to wait.
    pub min_cancel_after: Duration,
    /// One stderr line per request (the binary turns it on).
    pub log_requests: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_token: DEFAULT_API_TOKEN.to_owned(),
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            public_base_url: None,
            webhook_attempts: 5,
            webhook_backoff: Duration::from_millis(100),
            min_cancel_after: cancel_after::REPLICATE_MINIMUM,
            log_requests: false,
        }
    }
}

/// Starts the simulator on the current tokio runtime.
///
/// # Panics
/// If the address cannot be bound or the webhook secret is not `whsec_<base64>`:
/// in a test that is the clearest failure. [`try_spawn`] returns the error.
pub async fn spawn(config: SimConfig) -> SimHandle {
    try_spawn(config).await.unwrap_or_else(|e| panic!("replicate-sim failed to start: {e}"))
}

pub async fn try_spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let invalid = |e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    decode_secret(&config.webhook_secret).map_err(invalid)?;
    let listener = TcpListener::bind(config.bind).await?;
    let mut address = listener.local_addr()?;
    if address.ip().is_unspecified() {
        // Listening everywhere; clients on this machine come in on loopback.
        address.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    let base_url = config
        .public_base_url
        .map(|url| url.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("http://{address}"));
    let sim = Arc::new(Sim::new(Settings {
        api_token: config.api_token,
        webhook_secret: config.webhook_secret,
        base_url,
        webhook_attempts: config.webhook_attempts,
        webhook_backoff: config.webhook_backoff,
        min_cancel_after: config.min_cancel_after,
        log_requests: config.log_requests,
    }));
    let accept = tokio::spawn(server::serve(listener, Arc::clone(&sim)));
    Ok(SimHandle { sim, accept })
}

/// A running simulator. Dropping it stops the server, the prediction runs and
/// the webhook deliveries.
pub struct SimHandle {
    sim: Arc<Sim>,
    accept: JoinHandle<()>,
}

impl SimHandle {
    /// Base URL, e.g. `http://127.0.0.1:40123` (the API is under `/v1`).
    pub fn url(&self) -> String {
        self.sim.settings.base_url.clone()
    }

    pub fn api_token(&self) -> &str {
        &self.sim.settings.api_token
    }

    pub fn webhook_secret(&self) -> &str {
        &self.sim.settings.webhook_secret
    }

    /// Replaces the behaviour queue: `behaviour` for the next `count` creates
    /// (`None`: for all of them until [`reset`](Self::reset)), then the default.
    pub fn set_behaviour(&self, behaviour: Behaviour, count: Option<usize>) {
        self.sim.set_behaviour(behaviour, count);
    }

    /// Queues `behaviour` after the current ones, to script a sequence.
    pub fn push_behaviour(&self, behaviour: Behaviour, count: Option<usize>) {
        self.sim.push_behaviour(behaviour, count);
    }

    pub fn behaviours(&self) -> Vec<QueuedBehaviour> {
        self.sim.behaviours()
    }

    /// Default behaviour, no predictions, no records; in-flight runs and
    /// deliveries are stopped.
    pub fn reset(&self) {
        self.sim.reset();
    }

    /// The prediction as `GET /v1/predictions/{id}` would answer.
    pub fn prediction(&self, id: &str) -> Option<Value> {
        self.sim.prediction(id)
    }

    /// All predictions, oldest first.
    pub fn predictions(&self) -> Vec<Value> {
        self.sim.predictions()
    }

    /// Create requests received, whatever their answer (401, 429, ... included).
    pub fn create_calls(&self) -> usize {
        self.sim.create_calls()
    }

    /// Every webhook POST attempt and its answer, in order sent (concurrent
    /// duplicates in order answered).
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.sim.deliveries()
    }

    /// Every input GET: URL and response status (None: no response at all).
    pub fn input_fetches(&self) -> Vec<(String, Option<u16>)> {
        self.sim.input_fetches()
    }

    /// Sends the last webhook of a finished prediction again (once, no
    /// retries): same body, fresh timestamp and signature, same `webhook-id`
    /// unless `new_webhook_id`. If none was sent (webhook mode `none`), sends
    /// the prediction as it is now. None: unknown, unfinished, or no webhook URL.
    pub async fn redeliver(&self, prediction_id: &str, new_webhook_id: bool) -> Option<DeliveryRecord> {
        webhooks::redeliver(&self.sim, prediction_id, new_webhook_id).await
    }

    /// Skips the rest of the prediction's run time (a hanging one succeeds)
    /// and waits until it has ended; returns it. Its webhook goes out as usual.
    pub async fn complete_now(&self, prediction_id: &str) -> Option<Value> {
        runner::complete_now(&self.sim, prediction_id).await
    }

    /// Waits up to `timeout` for the prediction to end; returns it as it is then.
    pub async fn wait_terminal(&self, prediction_id: &str, timeout: Duration) -> Option<Value> {
        let status = self.sim.watch_status(prediction_id)?;
        runner::wait_terminal(&self.sim, prediction_id, status, timeout).await
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.accept.abort();
        self.sim.shutdown();
    }
}
