//! A prediction body (a webhook delivery or an API answer) and the output URLs
//! it names, which the webhook then downloads only under the allowlist.
//!
//! Properties: parsing never panics; a parsed prediction has an id and a
//! bounded error message; an output URL passes the allowlist only when
//! its scheme, credentials, host and port are what the policy admits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::replicate::{parse_prediction, OutputPolicy};

/// What `parse_prediction` keeps of Replicate's error message, in characters.
const MAX_ERROR_CHARS: usize = 2000;

fn policies() -> [OutputPolicy; 2] {
    let production = OutputPolicy::default();
    // The local stack's policy: plain http to the simulator, an explicit port.
    let local = OutputPolicy {
        allowed_hosts: vec!["127.0.0.1:9200".into(), "[::1]:9200".into(), "*.replicate.delivery".into()],
        allow_http: true,
        ..OutputPolicy::default()
    };
    [production, local]
}

fn check_urls(urls: &[String]) {
    for policy in policies() {
        for url in urls {
            let Ok(parsed) = policy.check(url) else { continue };
            match parsed.scheme() {
                "https" => {}
                "http" => assert!(policy.allow_http, "http admitted without allow_http: {url}"),
                other => panic!("scheme {other} admitted: {url}"),
            }
            assert!(parsed.username().is_empty() && parsed.password().is_none(), "credentials admitted: {url}");
            let host = parsed.host_str().expect("an admitted URL has a host");
            let admitted_by_entry = policy.allowed_hosts.iter().any(|entry| {
                let (entry_host, entry_port) = match entry.rsplit_once(':') {
                    Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().ok()),
                    _ => (entry.as_str(), None),
                };
                let host_matches = match entry_host.strip_prefix("*.") {
                    Some(domain) => host.ends_with(&format!(".{domain}")),
                    None => host == entry_host,
                };
                host_matches && parsed.port() == entry_port
            });
            assert!(admitted_by_entry, "no allowlist entry admits {url}");
        }
    }
}

fuzz_target!(|body: &[u8]| {
    let Ok(prediction) = parse_prediction(body) else {
        // The same bytes as one raw URL, for the allowlist alone.
        if let Ok(text) = std::str::from_utf8(body) {
            check_urls(&[text.to_owned()]);
        }
        return;
    };
    assert!(!prediction.id.is_empty());
    if let Some(error) = &prediction.error {
        assert!(!error.is_empty() && error.chars().count() <= MAX_ERROR_CHARS);
    }
    check_urls(&prediction.output);
});
