//! A Replicate prediction as the flows see it, parsed from the API's answers
//! and from webhook bodies alike.

use serde::Deserialize;
use serde_json::Value;

use super::error::ReplicateError;
use super::{redact_url_queries, truncate_chars};

/// Longest error message kept from a prediction; it is stored on the job.
const MAX_ERROR_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub id: String,
    pub status: PredictionStatus,
    /// Output URLs. Replicate sends a string, an array of strings or null
    /// depending on the model and the status; always a list here.
    pub output: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictionStatus {
    Starting,
    Processing,
    Succeeded,
    Failed,
    Canceled,
    /// Ended by Replicate before it started (for example its deadline passed).
    Aborted,
}

impl PredictionStatus {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "starting" => Self::Starting,
            "processing" => Self::Processing,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            "aborted" => Self::Aborted,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Aborted => "aborted",
        }
    }

    /// The prediction will not change any more.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Starting | Self::Processing)
    }
}

/// The members we use; Replicate sends many more.
#[derive(Deserialize)]
struct RawPrediction {
    id: String,
    status: String,
    #[serde(default)]
    output: Value,
    #[serde(default)]
    error: Value,
}

/// Parses a prediction from JSON: an API response or a verified webhook body.
pub fn parse_prediction(json: &[u8]) -> Result<Prediction, ReplicateError> {
    let raw: RawPrediction = serde_json::from_slice(json)
        // Position only: serde's message can quote the offending value.
        .map_err(|error| {
            ReplicateError::InvalidResponse(format!(
                "prediction is not the expected JSON (line {}, column {})",
                error.line(),
                error.column()
            ))
        })?;
    if raw.id.is_empty() {
        return Err(ReplicateError::InvalidResponse("prediction has an empty id".into()));
    }
    let status = PredictionStatus::parse(&raw.status)
        .ok_or_else(|| ReplicateError::InvalidResponse("prediction has an unknown status".into()))?;
    Ok(Prediction { id: raw.id, status, output: output_urls(raw.output)?, error: error_message(raw.error) })
}

fn output_urls(output: Value) -> Result<Vec<String>, ReplicateError> {
    match output {
        Value::Null => Ok(Vec::new()),
        Value::String(url) => Ok(vec![url]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(url) => Ok(url),
                _ => Err(ReplicateError::InvalidResponse("prediction output holds a non-string item".into())),
            })
            .collect(),
        _ => Err(ReplicateError::InvalidResponse("prediction output is neither a string nor a list".into())),
    }
}

/// Replicate's error is a string or null; anything else is kept as JSON text.
/// Bounded and without URL queries, since it is stored and may be logged.
fn error_message(error: Value) -> Option<String> {
    let message = match error {
        Value::Null => return None,
        Value::String(message) => message,
        other => other.to_string(),
    };
    let message = redact_url_queries(message.trim());
    (!message.is_empty()).then(|| truncate_chars(&message, MAX_ERROR_CHARS).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Prediction, ReplicateError> {
        parse_prediction(json.as_bytes())
    }

    #[test]
    fn output_is_normalised_to_a_list() {
        let single = parse(r#"{"id":"p1","status":"succeeded","output":"https://replicate.delivery/a.jpg"}"#).unwrap();
        assert_eq!(single.output, ["https://replicate.delivery/a.jpg"]);
        let many = parse(r#"{"id":"p1","status":"succeeded","output":["https://a/1.jpg","https://a/2.jpg"]}"#).unwrap();
        assert_eq!(many.output, ["https://a/1.jpg", "https://a/2.jpg"]);
        let none = parse(r#"{"id":"p1","status":"starting","output":null}"#).unwrap();
        assert!(none.output.is_empty());
        let absent = parse(r#"{"id":"p1","status":"starting"}"#).unwrap();
        assert!(absent.output.is_empty());
    }

    #[test]
    fn every_status_parses_and_terminality_is_right() {
        for (text, terminal) in [
            ("starting", false),
            ("processing", false),
            ("succeeded", true),
            ("failed", true),
            ("canceled", true),
            ("aborted", true),
        ] {
            let prediction = parse(&format!(r#"{{"id":"p","status":"{text}"}}"#)).unwrap();
            assert_eq!(prediction.status.as_str(), text);
            assert_eq!(prediction.status.is_terminal(), terminal, "{text}");
        }
    }

    #[test]
    fn errors_are_kept_bounded_and_redacted() {
        let failed = parse(r#"{"id":"p","status":"failed","error":"E6716: bad https://s3/x.jpg?X-Amz-Signature=s"}"#);
        let error = failed.unwrap().error.unwrap();
        assert!(error.starts_with("E6716") && !error.contains("Signature"), "{error}");
        let long = format!(r#"{{"id":"p","status":"failed","error":"{}"}}"#, "é".repeat(5000));
        assert_eq!(parse(&long).unwrap().error.unwrap().chars().count(), MAX_ERROR_CHARS);
        let object = parse(r#"{"id":"p","status":"failed","error":{"code":1}}"#).unwrap();
        assert_eq!(object.error.as_deref(), Some(r#"{"code":1}"#));
        assert_eq!(parse(r#"{"id":"p","status":"failed","error":"  "}"#).unwrap().error, None);
    }

    #[test]
    fn malformed_predictions_are_invalid_responses() {
        for json in [
            "",
            "not json",
            "[]",
            r#"{"status":"succeeded"}"#,
            r#"{"id":"","status":"succeeded"}"#,
            r#"{"id":"p","status":"done"}"#,
            r#"{"id":"p","status":"succeeded","output":{"url":"x"}}"#,
            r#"{"id":"p","status":"succeeded","output":[1]}"#,
        ] {
            assert!(matches!(parse(json), Err(ReplicateError::InvalidResponse(_))), "{json}");
        }
    }
}
