//! The prediction object and its JSON form, field for field as Replicate
//! returns it from create, get, cancel and in webhooks.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// Replicate's prediction statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Starting,
    Processing,
    Succeeded,
    Failed,
    Canceled,
    /// Ended before it started, e.g. its `Cancel-After` deadline passed
    /// while it was still queued.
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Processing => "processing",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
            Status::Aborted => "aborted",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Canceled | Status::Aborted)
    }
}

/// How a prediction ended (or is forced to end).
#[derive(Debug)]
pub(crate) enum Finish {
    /// Output URLs, already pointing at stored images (or elsewhere).
    Succeeded(Vec<String>),
    Failed(String),
    Canceled,
    Aborted,
}

#[derive(Clone, Debug)]
pub(crate) struct Prediction {
    pub id: String,
    pub model: String,
    pub input: Value,
    pub status: Status,
    /// One URL is rendered as a string (nano-banana's shape), more as an array.
    pub output: Option<Vec<String>>,
    pub error: Option<String>,
    pub logs: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub webhook: Option<String>,
    pub webhook_events_filter: Option<Vec<String>>,
}

impl Prediction {
    pub fn new(model: String, input: Value, webhook: Option<String>, filter: Option<Vec<String>>) -> Self {
        Self {
            id: new_prediction_id(),
            model,
            input,
            status: Status::Starting,
            output: None,
            error: None,
            logs: String::new(),
            created_at: Utc::now(),
            started_at: None,
            completed_at: None,
            webhook,
            webhook_events_filter: filter,
        }
    }

    /// Whether a terminal status is announced: only "completed" events exist
    /// in this simulator, and an absent filter means all events.
    pub fn wants_completed_webhook(&self) -> bool {
        self.webhook.is_some()
            && self.webhook_events_filter.as_ref().is_none_or(|events| events.iter().any(|e| e == "completed"))
    }

    /// Moves to a terminal status; false (and no change) if already terminal,
    /// so a cancel racing a completion has exactly one winner.
    pub fn finish(&mut self, finish: Finish) -> bool {
        if self.status.is_terminal() {
            return false;
        }
        let now = Utc::now();
        // An aborted prediction never started.
        if !matches!(finish, Finish::Aborted) {
            self.started_at.get_or_insert(now);
        }
        self.completed_at = Some(now);
        match finish {
            Finish::Succeeded(urls) => {
                self.status = Status::Succeeded;
                self.logs.push_str("Generated image(s).\n");
                self.output = Some(urls);
            }
            Finish::Failed(message) => {
                self.status = Status::Failed;
                self.logs.push_str(&format!("Error: {message}\n"));
                self.error = Some(message);
            }
            Finish::Canceled => self.status = Status::Canceled,
            Finish::Aborted => self.status = Status::Aborted,
        }
        true
    }

    /// The JSON Replicate would answer; `base_url` is where this API is reached.
    pub fn to_json(&self, base_url: &str) -> Value {
        let output = match self.output.as_deref() {
            None => Value::Null,
            Some([single]) => json!(single),
            Some(many) => json!(many),
        };
        let mut value = json!({
            "id": self.id,
            "model": self.model,
            // An official model run by name: Replicate does not disclose its version.
            "version": "hidden",
            "input": self.input,
            "output": output,
            "error": self.error,
            "logs": self.logs,
            "status": self.status.as_str(),
            "source": "api",
            "data_removed": false,
            "created_at": timestamp(self.created_at),
            "started_at": self.started_at.map(timestamp),
            "completed_at": self.completed_at.map(timestamp),
            "urls": {
                "get": format!("{base_url}/v1/predictions/{}", self.id),
                "cancel": format!("{base_url}/v1/predictions/{}/cancel", self.id),
                // Replicate's page of the prediction (replicate.com/p/<id>).
                "web": format!("{base_url}/p/{}", self.id),
            },
        });
        if self.status == Status::Succeeded {
            value["metrics"] = self.metrics();
        }
        value
    }

    fn metrics(&self) -> Value {
        let seconds = |from: DateTime<Utc>| {
            self.completed_at.map(|end| (end - from).num_microseconds().unwrap_or(0) as f64 / 1e6)
        };
        json!({
            "predict_time": self.started_at.and_then(seconds),
            "total_time": seconds(self.created_at),
        })
    }
}

/// RFC 3339 in UTC with microseconds, as Replicate writes them.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Replicate's ids are 26 lowercase base32 characters (128 random bits).
fn new_prediction_id() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bits = uuid::Uuid::new_v4().as_u128();
    (0..26).map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_a_string_for_one_image_and_an_array_for_more() {
        let mut p = Prediction::new("google/nano-banana".into(), json!({}), None, None);
        assert_eq!(p.id.len(), 26);
        assert!(p.finish(Finish::Succeeded(vec!["u0".into()])));
        assert!(!p.finish(Finish::Canceled), "terminal status is final");
        let v = p.to_json("http://x");
        assert_eq!(v["output"], json!("u0"));
        assert_eq!(v["status"], "succeeded");
        assert!(v["metrics"]["predict_time"].is_number());
        p.output = Some(vec!["a".into(), "b".into()]);
        assert_eq!(p.to_json("http://x")["output"], json!(["a", "b"]));
    }

    #[test]
    fn filter_without_completed_suppresses_the_webhook() {
        let hook = Some("http://h".to_owned());
        let p = Prediction::new("m/n".into(), json!({}), hook.clone(), None);
        assert!(p.wants_completed_webhook());
        let p = Prediction::new("m/n".into(), json!({}), hook, Some(vec!["start".into()]));
        assert!(!p.wants_completed_webhook());
    }
}
