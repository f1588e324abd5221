//! What the simulator does with the next predictions: the knobs tests turn to
//! reach the product's failure paths (throttling, model failures, lost,
//! duplicated or late webhooks, big outputs, hostile output URLs).
//!
//! The JSON form (used by `POST /_sim/behaviour`) is the serde form of these
//! types: every field is optional, enums are snake_case, and variants with data
//! are objects, e.g.
//! `{"outcome": "fail", "webhook": {"duplicate": {"count": 5, "concurrent": true}}}`
//! or `{"create_status": {"throttled": {"retry_after": 2}}}`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// How a prediction ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `succeeded` with real JPEG outputs.
    #[default]
    Succeed,
    /// `failed` with `error` = [`Behaviour::error_message`] or "simulated failure".
    Fail,
    /// `canceled`, as if someone canceled it on Replicate's side.
    Cancel,
    /// Stays `processing` and sends no webhook, until a `Cancel-After` deadline,
    /// an API cancel or [`crate::SimHandle::complete_now`] (which succeeds it).
    Hang,
}

/// How the completion webhook is delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookMode {
    /// Once, retried on connection errors and 5xx.
    #[default]
    Normal,
    /// Never: the product must find out by polling.
    None,
    /// The same signed message (same `webhook-id`, timestamp and body) sent
    /// `count` times, all at once or one after another: exactly-once handling.
    Duplicate {
        count: usize,
        #[serde(default)]
        concurrent: bool,
    },
    /// Sent `ms` milliseconds after the prediction completed: lets a poll win
    /// the race against the webhook.
    Delayed { ms: u64 },
}

/// An error answer to the create call; no prediction is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateStatus {
    /// 429 with `Retry-After: <retry_after>` and Replicate's throttle body.
    Throttled { retry_after: u64 },
    /// A 5xx (500, 502, 503, ...; anything else is answered as 500).
    ServerError { status: u16 },
}

/// Everything the simulator can be told about one prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    pub outcome: Outcome,
    pub webhook: WebhookMode,
    pub create_status: Option<CreateStatus>,
    /// Number of output images; 1 gives `output` as one URL string (as
    /// nano-banana does), more give an array.
    pub outputs: usize,
    /// Each output JPEG is padded (with comment segments, still a valid JPEG)
    /// to at least this many bytes; 0 leaves it as encoded.
    pub output_min_bytes: usize,
    /// Base of the output URLs instead of `<sim>/delivery`. Output `i` is
    /// `<base>/<id>/<i>.jpg`, unless the base contains `{id}` or `{index}`,
    /// which are then substituted and nothing is appended (so a test can aim
    /// the product at any URL at all).
    pub output_url_base: Option<String>,
    /// Time from create to completion (the model's run time).
    pub processing_ms: u64,
    /// Time the prediction waits in the queue (`starting`) before the model
    /// runs; a `Cancel-After` deadline within it ends it `aborted`.
    pub queued_ms: u64,
    /// `error` of a failed prediction; default "simulated failure".
    pub error_message: Option<String>,
    /// The create call answers this late, the prediction already running:
    /// lets a test act while the product waits on Replicate.
    pub create_answer_delay_ms: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            outcome: Outcome::Succeed,
            webhook: WebhookMode::Normal,
            create_status: None,
            outputs: 1,
            output_min_bytes: 0,
            output_url_base: None,
            processing_ms: 200,
            queued_ms: 0,
            error_message: None,
            create_answer_delay_ms: 0,
        }
    }
}

impl Behaviour {
    /// Default behaviour with another outcome.
    pub fn outcome(outcome: Outcome) -> Self {
        Self { outcome, ..Self::default() }
    }

    /// Default behaviour with another webhook mode.
    pub fn webhook(webhook: WebhookMode) -> Self {
        Self { webhook, ..Self::default() }
    }

    /// Create answers 429 with `Retry-After: retry_after`.
    pub fn throttled(retry_after: u64) -> Self {
        Self { create_status: Some(CreateStatus::Throttled { retry_after }), ..Self::default() }
    }

    /// Create answers `status` (a 5xx).
    pub fn server_error(status: u16) -> Self {
        Self { create_status: Some(CreateStatus::ServerError { status }), ..Self::default() }
    }

    pub(crate) fn failure_message(&self) -> String {
        self.error_message.clone().unwrap_or_else(|| "simulated failure".to_owned())
    }
}

/// One entry of the queue: a behaviour for the next `remaining` creates, or
/// for all of them (`None`, sticky until reset).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueuedBehaviour {
    pub behaviour: Behaviour,
    pub remaining: Option<usize>,
}

/// Behaviours waiting for creates, in order. Each create (including one
/// answered with a `create_status` error) takes the front entry; when the
/// queue is empty, the default behaviour applies.
#[derive(Debug, Default)]
pub(crate) struct BehaviourQueue {
    entries: VecDeque<QueuedBehaviour>,
}

impl BehaviourQueue {
    /// Replaces whatever was queued.
    pub fn set(&mut self, behaviour: Behaviour, count: Option<usize>) {
        self.entries.clear();
        self.push(behaviour, count);
    }

    /// Queues after the current entries (script "429, then 500, then fine").
    /// A sticky entry never runs out, so nothing after it is ever reached.
    pub fn push(&mut self, behaviour: Behaviour, count: Option<usize>) {
        if count == Some(0) {
            return;
        }
        self.entries.push_back(QueuedBehaviour { behaviour, remaining: count });
    }

    /// The behaviour for the create being handled now.
    pub fn take(&mut self) -> Behaviour {
        let Some(front) = self.entries.front_mut() else {
            return Behaviour::default();
        };
        let behaviour = front.behaviour.clone();
        if let Some(remaining) = front.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                self.entries.pop_front();
            }
        }
        behaviour
    }

    pub fn snapshot(&self) -> Vec<QueuedBehaviour> {
        self.entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_entries_run_out_and_sticky_ones_do_not() {
        let mut queue = BehaviourQueue::default();
        queue.set(Behaviour::throttled(1), Some(2));
        queue.push(Behaviour::outcome(Outcome::Fail), None);
        assert_eq!(queue.take(), Behaviour::throttled(1));
        assert_eq!(queue.take(), Behaviour::throttled(1));
        for _ in 0..3 {
            assert_eq!(queue.take().outcome, Outcome::Fail);
        }
        assert_eq!(BehaviourQueue::default().take(), Behaviour::default());
    }

    #[test]
    fn json_form_reads_partial_objects() {
        let behaviour: Behaviour = serde_json::from_str(
            r#"{"outcome":"hang","webhook":{"duplicate":{"count":3}},
                "create_status":{"server_error":{"status":503}}}"#,
        )
        .unwrap();
        assert_eq!(behaviour.outcome, Outcome::Hang);
        assert_eq!(behaviour.webhook, WebhookMode::Duplicate { count: 3, concurrent: false });
        assert_eq!(behaviour.create_status, Some(CreateStatus::ServerError { status: 503 }));
        assert_eq!(behaviour.outputs, 1);
        assert!(serde_json::from_str::<Behaviour>(r#"{"outcom":"fail"}"#).is_err());
        let none: Behaviour = serde_json::from_str(r#"{"webhook":"none"}"#).unwrap();
        assert_eq!(none.webhook, WebhookMode::None);
    }
}
