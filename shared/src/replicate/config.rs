//! Where Replicate is, how to authenticate to it and to its webhooks, and
//! which URLs the webhook may download outputs from.

use std::fmt;

use super::webhook::WebhookVerifier;

/// The real Replicate API.
pub const DEFAULT_API_URL: &str = "https://api.replicate.com";

/// The image model every prediction runs unless `REPLICATE_MODEL` names another.
pub const MODEL: &str = "google/nano-banana";

/// What the model is asked for beside the prompt and images (nano-banana's
/// input schema on Replicate: `aspect_ratio` takes `match_input_image` or a
/// ratio such as `4:3`; `output_format` `jpg` or `png`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInputs {
    /// With input photos: `REPLICATE_ASPECT_RATIO`, default
    /// `match_input_image` (renders keep the photo's proportions).
    pub aspect_ratio: String,
    /// Without input photos (imagine): `REPLICATE_IMAGINE_ASPECT_RATIO`,
    /// default `4:3`, a room photo's usual shape.
    pub imagine_aspect_ratio: String,
    /// `jpg`: the webhook stores JPEGs only.
    pub output_format: String,
}

impl Default for ModelInputs {
    fn default() -> Self {
        ModelInputs {
            aspect_ratio: "match_input_image".into(),
            imagine_aspect_ratio: "4:3".into(),
            output_format: "jpg".into(),
        }
    }
}

/// Replicate serves prediction outputs from these hosts.
pub const DEFAULT_OUTPUT_HOSTS: &str = "replicate.delivery,*.replicate.delivery";

/// Largest output image we download. nano-banana's JPEGs are a few MiB; the
/// cap bounds the memory of a Lambda that is handed a hostile URL.
pub const MAX_OUTPUT_BYTES: usize = 25 * 1024 * 1024;

#[derive(Clone)]
pub struct ReplicateConfig {
    /// `REPLICATE_API_URL`, without a trailing slash.
    pub api_url: String,
    /// `REPLICATE_API_TOKEN`.
    pub api_token: String,
    /// `owner/name` of the model (`REPLICATE_MODEL`).
    pub model: String,
    pub model_inputs: ModelInputs,
    /// `WEBHOOK_URL`; each prediction appends `jobId=<uuid>` to it. Only the
    /// function that starts predictions needs it (in AWS, the webhook's
    /// Function URL cannot be given to every function without a cycle).
    pub webhook_url: Option<String>,
    /// `REPLICATE_WEBHOOK_SECRET`, `whsec_<base64 key>`.
    pub webhook_secret: String,
    pub output_policy: OutputPolicy,
}

/// Which URLs output images may be downloaded from (SECURITY.md item 16): the
/// webhook body names them, so they are untrusted until checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPolicy {
    /// Lowercase hosts, each optionally `host:port`; `*.example.com` matches
    /// any subdomain of example.com (not example.com itself). An entry without
    /// a port matches only the scheme's default port.
    pub allowed_hosts: Vec<String>,
    /// Plain http is accepted only for the local simulator.
    pub allow_http: bool,
    pub max_bytes: usize,
}

impl Default for OutputPolicy {
    fn default() -> Self {
        Self { allowed_hosts: parse_host_list(DEFAULT_OUTPUT_HOSTS), allow_http: false, max_bytes: MAX_OUTPUT_BYTES }
    }
}

// The token and the webhook secret must never reach a log line.
impl fmt::Debug for ReplicateConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicateConfig")
            .field("api_url", &self.api_url)
            .field("api_token", &"[redacted]")
            .field("model", &self.model)
            .field("model_inputs", &self.model_inputs)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"[redacted]")
            .field("output_policy", &self.output_policy)
            .finish()
    }
}

impl ReplicateConfig {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// Reads settings through `lookup`, so tests need not touch the process
    /// environment. Checks what can be checked at startup (URLs parse, the
    /// webhook secret decodes), so a misconfiguration fails the cold start
    /// instead of every request. Error messages name the variable, never its value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let lookup = |name: &str| lookup(name).map(|value| value.trim().to_string()).filter(|value| !value.is_empty());
        let required = |name: &str| lookup(name).ok_or_else(|| format!("environment variable {name} is not set"));

        let api_url = lookup("REPLICATE_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let api_url = api_url.trim_end_matches('/').to_string();
        require_http_url("REPLICATE_API_URL", &api_url)?;

        let webhook_url = lookup("WEBHOOK_URL");
        if let Some(url) = &webhook_url {
            require_http_url("WEBHOOK_URL", url)?;
        }

        let webhook_secret = required("REPLICATE_WEBHOOK_SECRET")?;
        WebhookVerifier::new(&webhook_secret)
            .map_err(|_| "environment variable REPLICATE_WEBHOOK_SECRET is not a whsec_<base64> secret".to_string())?;

        let allowed_hosts = parse_host_list(&lookup("REPLICATE_OUTPUT_HOSTS").unwrap_or(DEFAULT_OUTPUT_HOSTS.into()));
        if allowed_hosts.is_empty() {
            return Err("environment variable REPLICATE_OUTPUT_HOSTS lists no host".to_string());
        }
        let allow_http = match lookup("REPLICATE_OUTPUT_ALLOW_HTTP").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err("environment variable REPLICATE_OUTPUT_ALLOW_HTTP must be true or false".to_string()),
        };

        let model = lookup("REPLICATE_MODEL").unwrap_or_else(|| MODEL.to_string());
        if model.split('/').count() != 2 || model.split('/').any(str::is_empty) {
            return Err("environment variable REPLICATE_MODEL is not owner/name".to_string());
        }
        let defaults = ModelInputs::default();
        let model_inputs = ModelInputs {
            aspect_ratio: lookup("REPLICATE_ASPECT_RATIO").unwrap_or(defaults.aspect_ratio),
            imagine_aspect_ratio: lookup("REPLICATE_IMAGINE_ASPECT_RATIO").unwrap_or(defaults.imagine_aspect_ratio),
            output_format: defaults.output_format,
        };
        if model_inputs.imagine_aspect_ratio == "match_input_image" {
            return Err(
                "environment variable REPLICATE_IMAGINE_ASPECT_RATIO needs a ratio: imagine has no input image"
                    .to_string(),
            );
        }

        Ok(Self {
            api_url,
            api_token: required("REPLICATE_API_TOKEN")?,
            model,
            model_inputs,
            webhook_url,
            webhook_secret,
            output_policy: OutputPolicy { allowed_hosts, allow_http, max_bytes: MAX_OUTPUT_BYTES },
        })
    }
}

fn require_http_url(name: &str, value: &str) -> Result<(), String> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some() => Ok(()),
        _ => Err(format!("environment variable {name} is not an http(s) URL")),
    }
}

/// A comma-separated host list, trimmed and lowercased, empty entries dropped.
fn parse_host_list(list: &str) -> Vec<String> {
    list.split(',').map(|host| host.trim().to_ascii_lowercase()).filter(|host| !host.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![
            ("REPLICATE_API_TOKEN", "r8_token"),
            ("WEBHOOK_URL", "https://hooks.example.com/webhooks/replicate"),
            ("REPLICATE_WEBHOOK_SECRET", SECRET),
        ]
    }

    #[test]
    fn defaults_point_at_replicate_with_a_strict_output_policy() {
        let config = ReplicateConfig::from_lookup(lookup(&minimal())).unwrap();
        assert_eq!(config.api_url, "https://api.replicate.com");
        assert_eq!(config.model, "google/nano-banana");
        assert_eq!(config.output_policy.allowed_hosts, ["replicate.delivery", "*.replicate.delivery"]);
        assert!(!config.output_policy.allow_http);
        assert_eq!(config.output_policy.max_bytes, 25 * 1024 * 1024);
    }

    #[test]
    fn simulator_settings_are_read() {
        let mut pairs = minimal();
        pairs.extend([
            ("REPLICATE_API_URL", "http://127.0.0.1:9200/"),
            ("REPLICATE_OUTPUT_HOSTS", " 127.0.0.1:9200 , Localhost:9200,"),
            ("REPLICATE_OUTPUT_ALLOW_HTTP", "true"),
        ]);
        let config = ReplicateConfig::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.api_url, "http://127.0.0.1:9200");
        assert_eq!(config.output_policy.allowed_hosts, ["127.0.0.1:9200", "localhost:9200"]);
        assert!(config.output_policy.allow_http);
    }

    #[test]
    fn missing_or_invalid_settings_are_named_without_their_values() {
        for missing in ["REPLICATE_API_TOKEN", "REPLICATE_WEBHOOK_SECRET"] {
            let pairs: Vec<_> = minimal().into_iter().filter(|(name, _)| *name != missing).collect();
            let error = ReplicateConfig::from_lookup(lookup(&pairs)).unwrap_err();
            assert!(error.contains(missing), "{error}");
        }
        for (name, value) in [
            ("REPLICATE_WEBHOOK_SECRET", "whsec_not*base64!"),
            ("WEBHOOK_URL", "ftp://hooks.example.com"),
            ("REPLICATE_OUTPUT_ALLOW_HTTP", "yes"),
            ("REPLICATE_OUTPUT_HOSTS", " , "),
        ] {
            let mut pairs = minimal();
            pairs.retain(|(existing, _)| *existing != name);
            pairs.push((name, value));
            let error = ReplicateConfig::from_lookup(lookup(&pairs)).unwrap_err();
            assert!(error.contains(name) && !error.contains(value), "{error}");
        }
    }

    #[test]
    fn debug_hides_the_token_and_the_secret() {
        let config = ReplicateConfig::from_lookup(lookup(&minimal())).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("r8_token") && !debug.contains("MfKQ9r8G"), "{debug}");
    }
}
