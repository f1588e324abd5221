//! Replicate: the image model runs there.
//!
//! [`ReplicateClient`] creates, reads and cancels predictions and downloads
//! their outputs; [`WebhookVerifier`] checks the signature of the webhook
//! Replicate sends when a prediction completes (Standard Webhooks).
//!
//! Nothing here logs the API token, the webhook secret or a URL's query
//! string: input images reach Replicate through presigned URLs whose
//! signatures must not end up in logs (SECURITY.md item 20). Logs name hosts
//! and paths only.

mod client;
mod config;
mod error;
mod outputs;
mod prediction;
mod responses;
mod webhook;

pub use client::ReplicateClient;
pub use config::{ModelInputs, OutputPolicy, ReplicateConfig};
pub use error::ReplicateError;
pub use outputs::OutputError;
pub use prediction::{parse_prediction, Prediction, PredictionStatus};
pub use webhook::{WebhookError, WebhookVerifier};

/// A URL as it may appear in a log line: scheme, host, port and path, without
/// user info, query or fragment (where presigned URLs keep their signatures).
pub(crate) fn loggable_url(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

/// Text that came from elsewhere (an upstream error message) with the query
/// string of every URL in it removed: Replicate may echo our presigned input
/// URLs back in a validation error, and such text ends up in logs.
pub(crate) fn redact_url_queries(text: &str) -> String {
    let mut redacted = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_url_start(rest) {
        redacted.push_str(&rest[..start]);
        let url_and_after = &rest[start..];
        let url_len =
            url_and_after.find(|c: char| c.is_whitespace() || "\"'<>".contains(c)).unwrap_or(url_and_after.len());
        let url = &url_and_after[..url_len];
        match url.find(['?', '#']) {
            Some(query_start) => {
                redacted.push_str(&url[..query_start]);
                redacted.push_str("?[redacted]");
            }
            None => redacted.push_str(url),
        }
        rest = &url_and_after[url_len..];
    }
    redacted.push_str(rest);
    redacted
}

fn find_url_start(text: &str) -> Option<usize> {
    [text.find("https://"), text.find("http://")].into_iter().flatten().min()
}

/// `text` cut to at most `max_chars` characters, on a character boundary.
pub(crate) fn truncate_chars(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((byte_index, _)) => &text[..byte_index],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loggable_url_drops_credentials_query_and_fragment() {
        let url =
            reqwest::Url::parse("https://user:pw@bucket.example.com:9000/a/b.jpg?X-Amz-Signature=abc#frag").unwrap();
        assert_eq!(loggable_url(&url), "https://bucket.example.com:9000/a/b.jpg");
    }

    #[test]
    fn url_queries_are_redacted_in_upstream_text() {
        let text = "invalid image_input: https://s3.example.com/private/x.jpg?X-Amz-Signature=secret, and \
                    \"http://h/p?sig=1\" plus https://plain.example.com/ok";
        let redacted = redact_url_queries(text);
        assert!(!redacted.contains("secret"));
        assert!(!redacted.contains("sig=1"));
        assert!(redacted.contains("https://s3.example.com/private/x.jpg?[redacted]"));
        assert!(redacted.contains("https://plain.example.com/ok"));
        assert_eq!(redact_url_queries("no urls here"), "no urls here");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }
}
