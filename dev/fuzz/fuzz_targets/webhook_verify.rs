//! Webhook verification (Standard Webhooks) on hostile headers and bodies.
//!
//! Input: three header lines, `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` (an empty line is a missing header), then the raw body.
//! Readable, so the seeds are plain files.
//!
//! Properties: any headers and body are answered with `Ok` or an error, never
//! a panic. When the signature line is `SIGN`, the target signs the body with
//! the endpoint's secret itself: that delivery must verify (also beside other
//! signature entries, as during a secret rotation), and the same signature
//! over a changed body, id or timestamp must not.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use shared::replicate::WebhookVerifier;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Our clock during the run; seeds carry timestamps near it.
const NOW: i64 = 1_700_000_000;

/// Standard Webhooks signing, written here independently of the code under test.
fn sign(id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD.decode(SECRET.trim_start_matches("whsec_")).expect("the test secret is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The next line (without its `\n`) and the rest; `None` when the input ends.
fn next_line(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = input.iter().position(|&byte| byte == b'\n')?;
    Some((&input[..end], &input[end + 1..]))
}

fn header(line: &[u8]) -> Option<&str> {
    std::str::from_utf8(line).ok().filter(|value| !value.is_empty())
}

fuzz_target!(|input: &[u8]| {
    let verifier = WebhookVerifier::new(SECRET).expect("the test secret is valid");
    let Some((id, rest)) = next_line(input) else { return };
    let Some((timestamp, rest)) = next_line(rest) else { return };
    let Some((signature, body)) = next_line(rest) else { return };
    let (id, timestamp) = (header(id), header(timestamp));

    if signature != b"SIGN" {
        let _ = verifier.verify(id, timestamp, header(signature), body, NOW);
        return;
    }

    // A genuine delivery. Header values reach us trimmed (HTTP strips the
    // surrounding whitespace) and within the verifier's caps; only those must pass.
    let (Some(id), Some(timestamp)) = (id, timestamp) else { return };
    let plausible = id.trim() == id && id.len() <= 256 && timestamp.len() <= 20;
    let current = timestamp.bytes().all(|byte| byte.is_ascii_digit())
        && timestamp.parse::<i64>().is_ok_and(|sent_at| sent_at.abs_diff(NOW) <= 300);
    if !plausible || !current {
        return;
    }
    let signature = sign(id, timestamp, body);
    assert_eq!(verifier.verify(Some(id), Some(timestamp), Some(&signature), body, NOW), Ok(()));
    let rotated = format!("v1,c29tZSBvbGQga2V5 v1a,xyz {signature}");
    assert_eq!(verifier.verify(Some(id), Some(timestamp), Some(&rotated), body, NOW), Ok(()));

    let mut changed_body = body.to_vec();
    match changed_body.first_mut() {
        Some(first) => *first ^= 1,
        None => changed_body.push(b'x'),
    }
    assert!(verifier.verify(Some(id), Some(timestamp), Some(&signature), &changed_body, NOW).is_err());
    let other_id = format!("{id}x");
    assert!(verifier.verify(Some(&other_id), Some(timestamp), Some(&signature), body, NOW).is_err());
    let other_timestamp = format!("{timestamp}0");
    assert!(verifier.verify(Some(id), Some(&other_timestamp), Some(&signature), body, NOW).is_err());
});
