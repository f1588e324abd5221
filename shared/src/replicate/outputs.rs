//! Downloading prediction outputs (SECURITY.md item 16).
//!
//! The URLs come from a webhook body or a prediction document, so the
//! download is a server-side request to wherever they point: only the
//! configured delivery hosts, https unless the local simulator is configured,
//! no redirects, a size cap enforced while streaming, and the bytes must be a
//! JPEG (what the prediction was asked for) before anyone stores them.

use std::time::Duration;

use reqwest::Url;

use super::client::ReplicateClient;
use super::config::OutputPolicy;
use super::loggable_url;

/// Outputs are a few MiB from a CDN; 30 s covers a slow transfer while
/// leaving the webhook's Lambda time to store the result. The connect timeout
/// is the client's (3 s).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Every JPEG starts with an SOI marker followed by another marker.
const JPEG_MAGIC: [u8; 3] = [0xFF, 0xD8, 0xFF];

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The URL is not one we download from; the message names the rule, and
    /// never the URL's query.
    #[error("output URL not allowed: {0}")]
    DisallowedUrl(String),
    #[error("output download was redirected")]
    Redirected,
    #[error("output image is larger than allowed")]
    TooLarge,
    #[error("output is not a JPEG image")]
    NotJpeg,
    #[error("output download answered HTTP {0}")]
    Http(u16),
    #[error("output download failed: {0}")]
    Network(String),
}

impl OutputPolicy {
    /// The parsed URL if the policy allows downloading from it.
    pub fn check(&self, url: &str) -> Result<Url, OutputError> {
        let disallowed = |reason: String| Err(OutputError::DisallowedUrl(reason));
        let Ok(url) = Url::parse(url) else {
            return disallowed("not a valid absolute URL".into());
        };
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            scheme => return disallowed(format!("scheme {scheme} is not allowed")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return disallowed("credentials in the URL".into());
        }
        let Some(host) = url.host_str() else {
            return disallowed("no host".into());
        };
        if !self.allowed_hosts.iter().any(|entry| host_entry_matches(entry, host, url.port())) {
            return match url.port() {
                Some(port) => disallowed(format!("host {host}:{port} is not allowed")),
                None => disallowed(format!("host {host} is not allowed")),
            };
        }
        Ok(url)
    }
}

/// Whether an allowlist entry (`host`, `*.domain`, `host:port`, `[v6]:port`)
/// admits `host` (lowercase, as the URL parser writes it) on `port` (`None`
/// for the scheme's default port). An entry without a port admits only the
/// default port.
fn host_entry_matches(entry: &str, host: &str, port: Option<u16>) -> bool {
    let (entry_host, entry_port) = split_port(entry);
    let host_matches = match entry_host.strip_prefix("*.") {
        Some(domain) => host.strip_suffix(domain).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => host == entry_host,
    };
    host_matches && entry_port == port
}

fn split_port(entry: &str) -> (&str, Option<u16>) {
    // A bracketed IPv6 address holds colons of its own.
    let port_separator = match entry.rfind(']') {
        Some(bracket) => entry[bracket..].find(':').map(|offset| bracket + offset),
        None => entry.rfind(':'),
    };
    match port_separator.map(|index| (&entry[..index], entry[index + 1..].parse::<u16>())) {
        Some((host, Ok(port))) => (host, Some(port)),
        _ => (entry, None),
    }
}

impl ReplicateClient {
    /// Downloads one output image under the configured [`OutputPolicy`].
    pub async fn download_output(&self, url: &str) -> Result<Vec<u8>, OutputError> {
        let policy = &self.config().output_policy;
        let url = policy.check(url).inspect_err(|error| tracing::warn!(%error, "refused output URL"))?;
        let loggable = loggable_url(&url);

        // No Authorization header: the API token is for api.replicate.com only.
        let mut response = self.http().get(url).timeout(DOWNLOAD_TIMEOUT).send().await.map_err(|error| {
            tracing::warn!(url = loggable, reason = failure(&error), "output download failed");
            OutputError::Network(failure(&error).into())
        })?;

        let status = response.status();
        if status.is_redirection() {
            tracing::warn!(url = loggable, status = status.as_u16(), "output download redirected; not followed");
            return Err(OutputError::Redirected);
        }
        if !status.is_success() {
            tracing::warn!(url = loggable, status = status.as_u16(), "output download answered with an error");
            return Err(OutputError::Http(status.as_u16()));
        }
        if response.content_length().is_some_and(|length| length > policy.max_bytes as u64) {
            tracing::warn!(url = loggable, "output larger than allowed");
            return Err(OutputError::TooLarge);
        }

        let mut image = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| OutputError::Network(failure(&error).into()))? {
            if image.len() + chunk.len() > policy.max_bytes {
                tracing::warn!(url = loggable, "output larger than allowed; download aborted");
                return Err(OutputError::TooLarge);
            }
            image.extend_from_slice(&chunk);
            // Stop early on something that is plainly not a JPEG.
            if image.len() >= JPEG_MAGIC.len() && !image.starts_with(&JPEG_MAGIC) {
                break;
            }
        }
        if !image.starts_with(&JPEG_MAGIC) {
            tracing::warn!(url = loggable, bytes = image.len(), "output is not a JPEG");
            return Err(OutputError::NotJpeg);
        }
        tracing::debug!(url = loggable, bytes = image.len(), "downloaded output");
        Ok(image)
    }
}

/// A short reason; reqwest's own message names the full URL, query included.
fn failure(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "transfer failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str], allow_http: bool) -> OutputPolicy {
        OutputPolicy { allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(), allow_http, max_bytes: 1024 }
    }

    fn allowed(policy: &OutputPolicy, url: &str) -> bool {
        policy.check(url).is_ok()
    }

    #[test]
    fn default_policy_admits_replicate_delivery_over_https_only() {
        let policy = OutputPolicy::default();
        assert!(allowed(&policy, "https://replicate.delivery/pbxt/abc/out-0.jpg"));
        assert!(allowed(&policy, "https://pbxt.replicate.delivery/abc/out-0.jpg"));
        assert!(allowed(&policy, "https://A.B.Replicate.Delivery/x.jpg"));
        assert!(allowed(&policy, "https://replicate.delivery:443/x.jpg"));
        assert!(!allowed(&policy, "http://replicate.delivery/x.jpg"));
        assert!(!allowed(&policy, "https://replicate.delivery:8443/x.jpg"));
        assert!(!allowed(&policy, "https://evilreplicate.delivery/x.jpg"));
        assert!(!allowed(&policy, "https://replicate.delivery.evil.com/x.jpg"));
        assert!(!allowed(&policy, "https://replicate.delivery@evil.com/x.jpg"));
        assert!(!allowed(&policy, "https://user:pw@replicate.delivery/x.jpg"));
        assert!(!allowed(&policy, "https://169.254.169.254/latest/meta-data"));
        assert!(!allowed(&policy, "file:///etc/passwd"));
        assert!(!allowed(&policy, "/relative/path.jpg"));
        assert!(!allowed(&policy, ""));
    }

    #[test]
    fn ports_in_entries_are_exact() {
        let policy = policy(&["127.0.0.1:9200", "[::1]:9200", "localhost"], true);
        assert!(allowed(&policy, "http://127.0.0.1:9200/files/a.jpg"));
        assert!(!allowed(&policy, "http://127.0.0.1:9201/files/a.jpg"));
        assert!(!allowed(&policy, "http://127.0.0.1/files/a.jpg"));
        assert!(allowed(&policy, "http://[::1]:9200/a.jpg"));
        assert!(allowed(&policy, "http://localhost/a.jpg"));
        assert!(!allowed(&policy, "http://localhost:9200/a.jpg"));
    }

    #[test]
    fn http_needs_allow_http() {
        assert!(!allowed(&policy(&["127.0.0.1:9200"], false), "http://127.0.0.1:9200/a.jpg"));
        assert!(allowed(&policy(&["127.0.0.1:9200"], false), "https://127.0.0.1:9200/a.jpg"));
    }

    #[test]
    fn refusals_do_not_echo_the_query() {
        let error = OutputPolicy::default().check("https://evil.com/x.jpg?X-Amz-Signature=secret").unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(error.to_string().contains("evil.com"));
    }

    #[test]
    fn wildcard_does_not_admit_the_bare_domain() {
        let policy = policy(&["*.example.com"], false);
        assert!(allowed(&policy, "https://cdn.example.com/a.jpg"));
        assert!(!allowed(&policy, "https://example.com/a.jpg"));
        assert!(!allowed(&policy, "https://.example.com/a.jpg"));
    }
}
