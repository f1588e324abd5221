//! The simulator's memory: predictions, their outputs, the behaviour queue,
//! and the records tests read back (create calls, input fetches, webhook
//! attempts). One mutex guards it all; it is never held across an await, so
//! the in-process API can be synchronous.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{watch, Notify};
use tokio::task::{AbortHandle, JoinSet};

use crate::behaviour::{Behaviour, BehaviourQueue, QueuedBehaviour};
use crate::prediction::{Prediction, Status};
use crate::webhooks::{self, DeliveryRecord};

mod lifecycle;

/// Configuration after validation.
pub(crate) struct Settings {
    pub api_token: String,
    pub webhook_secret: String,
    /// Where clients reach the simulator; base of `urls` and output URLs.
    pub base_url: String,
    pub webhook_attempts: u32,
    pub webhook_backoff: Duration,
    /// Shortest `Cancel-After` accepted (Replicate's: 5 s).
    pub min_cancel_after: Duration,
    pub log_requests: bool,
}

/// How the model run ended, before outputs have URLs.
pub(crate) enum Completion {
    Succeeded(Vec<Vec<u8>>),
    Failed(String),
    Canceled,
    /// The deadline passed before the prediction started.
    Aborted,
}

/// The last webhook sent for a prediction, for redelivery.
#[derive(Clone)]
pub(crate) struct SentWebhook {
    pub webhook_id: String,
    pub url: String,
    pub body: Bytes,
}

struct Entry {
    prediction: Prediction,
    behaviour: Behaviour,
    outputs: Vec<Bytes>,
    /// Wakes the driver's wait for completion (complete_now).
    complete_now: Arc<Notify>,
    status: watch::Sender<Status>,
    driver: Option<AbortHandle>,
    last_webhook: Option<SentWebhook>,
}

#[derive(Default)]
struct Inner {
    predictions: HashMap<String, Entry>,
    /// Ids in creation order, for listings.
    order: Vec<String>,
    behaviours: BehaviourQueue,
    create_calls: usize,
    deliveries: Vec<DeliveryRecord>,
    input_fetches: Vec<(String, Option<u16>)>,
}

pub(crate) struct Sim {
    pub settings: Settings,
    /// Fetches image inputs (follows redirects like any downloader).
    pub inputs_http: reqwest::Client,
    /// Sends webhooks (no redirects: a webhook URL is used as given).
    pub webhook_http: reqwest::Client,
    inner: Mutex<Inner>,
    /// Prediction drivers and webhook deliveries: aborted by reset and drop.
    work: Mutex<JoinSet<()>>,
    /// HTTP connections: aborted by drop only (reset may come over one).
    connections: Mutex<JoinSet<()>>,
}

/// Spawns into `set`, first dropping finished tasks so it does not grow.
fn spawn_into<F>(set: &Mutex<JoinSet<()>>, task: F) -> AbortHandle
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
    while set.try_join_next().is_some() {}
    set.spawn(task)
}

impl Sim {
    pub fn new(settings: Settings) -> Self {
        let client = |redirects| {
            reqwest::Client::builder()
                .redirect(redirects)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("reqwest client builds")
        };
        Self {
            settings,
            inputs_http: client(reqwest::redirect::Policy::limited(5)),
            webhook_http: client(reqwest::redirect::Policy::none()),
            inner: Mutex::default(),
            work: Mutex::default(),
            connections: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not take the simulator down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn spawn_work(&self, task: impl Future<Output = ()> + Send + 'static) -> AbortHandle {
        spawn_into(&self.work, task)
    }

    pub fn spawn_connection(&self, task: impl Future<Output = ()> + Send + 'static) {
        spawn_into(&self.connections, task);
    }

    /// Forgets everything and stops in-flight predictions and deliveries.
    pub fn reset(&self) {
        drop(std::mem::take(&mut *self.work.lock().unwrap_or_else(|e| e.into_inner())));
        *self.lock() = Inner::default();
    }

    pub fn shutdown(&self) {
        self.reset();
        drop(std::mem::take(&mut *self.connections.lock().unwrap_or_else(|e| e.into_inner())));
    }

    // --- behaviours and create ---

    pub fn set_behaviour(&self, behaviour: Behaviour, count: Option<usize>) {
        self.lock().behaviours.set(behaviour, count);
    }

    pub fn push_behaviour(&self, behaviour: Behaviour, count: Option<usize>) {
        self.lock().behaviours.push(behaviour, count);
    }

    pub fn behaviours(&self) -> Vec<QueuedBehaviour> {
        self.lock().behaviours.snapshot()
    }

    pub fn count_create_call(&self) {
        self.lock().create_calls += 1;
    }

    pub fn create_calls(&self) -> usize {
        self.lock().create_calls
    }

    pub fn take_behaviour(&self) -> Behaviour {
        self.lock().behaviours.take()
    }

    // --- reads ---

    pub fn prediction(&self, id: &str) -> Option<Value> {
        let inner = self.lock();
        Some(inner.predictions.get(id)?.prediction.to_json(&self.settings.base_url))
    }

    pub fn predictions(&self) -> Vec<Value> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter_map(|id| inner.predictions.get(id))
            .map(|e| e.prediction.to_json(&self.settings.base_url))
            .collect()
    }

    pub fn output(&self, id: &str, index: usize) -> Option<Bytes> {
        self.lock().predictions.get(id)?.outputs.get(index).cloned()
    }

    // --- records ---

    pub fn record_input_fetch(&self, url: &str, status: Option<u16>) {
        self.lock().input_fetches.push((url.to_owned(), status));
    }

    pub fn input_fetches(&self) -> Vec<(String, Option<u16>)> {
        self.lock().input_fetches.clone()
    }

    pub fn record_delivery(&self, record: DeliveryRecord) {
        self.lock().deliveries.push(record);
    }

    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.lock().deliveries.clone()
    }

    pub fn set_last_webhook(&self, id: &str, sent: SentWebhook) {
        if let Some(entry) = self.lock().predictions.get_mut(id) {
            entry.last_webhook = Some(sent);
        }
    }

    /// What a redelivery of `id` sends: the last webhook, or (if none was
    /// sent, e.g. webhook mode `none`) the current prediction with a new id.
    /// None if unknown, not finished, or without a webhook URL.
    pub fn webhook_to_replay(&self, id: &str) -> Option<SentWebhook> {
        let inner = self.lock();
        let entry = inner.predictions.get(id)?;
        if let Some(sent) = &entry.last_webhook {
            return Some(sent.clone());
        }
        if !entry.prediction.status.is_terminal() {
            return None;
        }
        let json = entry.prediction.to_json(&self.settings.base_url);
        Some(SentWebhook {
            webhook_id: webhooks::new_webhook_id(),
            url: entry.prediction.webhook.clone()?,
            body: Bytes::from(serde_json::to_vec(&json).expect("JSON serialises")),
        })
    }
}
