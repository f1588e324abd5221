//! A prediction's way through the simulator: stored at create, driven to
//! `processing`, ended once (by its run, an API cancel or a deadline, whoever
//! comes first), and announced by webhook.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;

use super::{Completion, Entry, Sim};
use crate::behaviour::{Behaviour, WebhookMode};
use crate::prediction::{Finish, Prediction, Status};
use crate::webhooks::{self, WebhookJob};

impl Sim {
    /// Stores a new prediction; returns its JSON and the driver's wake-up.
    pub fn insert(&self, prediction: Prediction, behaviour: Behaviour) -> (Value, Arc<Notify>) {
        let json = prediction.to_json(&self.settings.base_url);
        let complete_now = Arc::new(Notify::new());
        let id = prediction.id.clone();
        let entry = Entry {
            status: watch::channel(prediction.status).0,
            prediction,
            behaviour,
            outputs: Vec::new(),
            complete_now: Arc::clone(&complete_now),
            driver: None,
            last_webhook: None,
        };
        let mut inner = self.lock();
        inner.predictions.insert(id.clone(), entry);
        inner.order.push(id);
        (json, complete_now)
    }

    pub fn set_driver(&self, id: &str, driver: AbortHandle) {
        if let Some(entry) = self.lock().predictions.get_mut(id) {
            entry.driver = Some(driver);
        }
    }

    // --- lifecycle ---

    pub fn mark_processing(&self, id: &str) {
        if let Some(entry) = self.lock().predictions.get_mut(id) {
            if entry.prediction.status == Status::Starting {
                entry.prediction.status = Status::Processing;
                entry.prediction.started_at = Some(chrono::Utc::now());
                entry.prediction.logs.push_str("Starting prediction.\n");
                entry.status.send_replace(Status::Processing);
            }
        }
    }

    /// Ends a prediction unless it already ended, and sends its webhook.
    /// Returns the prediction's JSON afterwards (None if unknown).
    pub fn finish(self: &Arc<Self>, id: &str, completion: Completion) -> Option<Value> {
        let (json, job) = {
            let mut inner = self.lock();
            let entry = inner.predictions.get_mut(id)?;
            let finish = match completion {
                Completion::Succeeded(images) => {
                    let urls = (0..images.len()).map(|i| self.output_url(&entry.behaviour, id, i)).collect();
                    if !entry.prediction.status.is_terminal() {
                        entry.outputs = images.into_iter().map(Bytes::from).collect();
                    }
                    Finish::Succeeded(urls)
                }
                Completion::Failed(message) => Finish::Failed(message),
                Completion::Canceled => Finish::Canceled,
                Completion::Aborted => Finish::Aborted,
            };
            let changed = entry.prediction.finish(finish);
            let json = entry.prediction.to_json(&self.settings.base_url);
            if !changed {
                return Some(json);
            }
            entry.status.send_replace(entry.prediction.status);
            let job = (entry.prediction.wants_completed_webhook() && entry.behaviour.webhook != WebhookMode::None)
                .then(|| WebhookJob {
                    prediction_id: id.to_owned(),
                    url: entry.prediction.webhook.clone().unwrap_or_default(),
                    body: Bytes::from(serde_json::to_vec(&json).expect("JSON serialises")),
                    mode: entry.behaviour.webhook,
                });
            (json, job)
        };
        if let Some(job) = job {
            let sim = Arc::clone(self);
            self.spawn_work(webhooks::deliver(sim, job));
        }
        Some(json)
    }

    /// API cancel: ends a running prediction and stops its driver.
    pub fn cancel(self: &Arc<Self>, id: &str) -> Option<Value> {
        let json = self.finish(id, Completion::Canceled)?;
        if let Some(driver) = self.lock().predictions.get_mut(id).and_then(|e| e.driver.take()) {
            driver.abort();
        }
        Some(json)
    }

    fn output_url(&self, behaviour: &Behaviour, id: &str, index: usize) -> String {
        match &behaviour.output_url_base {
            Some(base) if base.contains("{id}") || base.contains("{index}") => {
                base.replace("{id}", id).replace("{index}", &index.to_string())
            }
            Some(base) => format!("{}/{id}/{index}.jpg", base.trim_end_matches('/')),
            None => format!("{}/delivery/{id}/{index}.jpg", self.settings.base_url),
        }
    }

    /// Wakes the driver of `id` and returns a watch on its status.
    pub fn complete_now(&self, id: &str) -> Option<watch::Receiver<Status>> {
        let inner = self.lock();
        let entry = inner.predictions.get(id)?;
        entry.complete_now.notify_one();
        Some(entry.status.subscribe())
    }

    pub fn watch_status(&self, id: &str) -> Option<watch::Receiver<Status>> {
        Some(self.lock().predictions.get(id)?.status.subscribe())
    }
}
