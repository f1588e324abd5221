//! The Standard Webhooks test vector, and every way a delivery can be wrong
//! (SECURITY.md item 15).

use super::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP: &str = "1614265330";
const NOW: i64 = 1614265330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(SECRET).unwrap()
}

fn verify_signature(signature: &str) -> Result<(), WebhookError> {
    verifier().verify(Some(ID), Some(TIMESTAMP), Some(signature), BODY, NOW)
}

/// A signature of our own making, for timestamps other than the vector's.
fn sign(id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD.decode(SECRET.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = HmacSha256::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[test]
fn published_test_vector_passes() {
    assert_eq!(verify_signature(SIGNATURE), Ok(()));
}

#[test]
fn secret_without_prefix_is_accepted() {
    let verifier = WebhookVerifier::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_eq!(verifier.verify(Some(ID), Some(TIMESTAMP), Some(SIGNATURE), BODY, NOW), Ok(()));
}

#[test]
fn malformed_secrets_are_refused() {
    for secret in ["", "whsec_", "whsec_not base64!", "   "] {
        assert_eq!(WebhookVerifier::new(secret).err(), Some(WebhookError::InvalidSecret), "{secret:?}");
    }
}

#[test]
fn empty_v1_signature_never_passes() {
    assert_eq!(verify_signature("v1,"), Err(WebhookError::InvalidSignature));
    assert_eq!(verify_signature("v1, v1,"), Err(WebhookError::InvalidSignature));
}

#[test]
fn wrong_signature_fails() {
    assert_eq!(
        verify_signature("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="),
        Err(WebhookError::InvalidSignature)
    );
}

#[test]
fn truncated_signature_fails() {
    assert_eq!(verify_signature("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3"), Err(WebhookError::InvalidSignature));
}

#[test]
fn tampered_body_fails() {
    let result = verifier().verify(Some(ID), Some(TIMESTAMP), Some(SIGNATURE), br#"{"test": 2432232315}"#, NOW);
    assert_eq!(result, Err(WebhookError::InvalidSignature));
}

#[test]
fn other_webhook_id_fails() {
    let result = verifier().verify(Some("msg_other"), Some(TIMESTAMP), Some(SIGNATURE), BODY, NOW);
    assert_eq!(result, Err(WebhookError::InvalidSignature));
}

#[test]
fn signature_from_another_secret_fails() {
    let other = WebhookVerifier::new("whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=").unwrap();
    assert_eq!(
        other.verify(Some(ID), Some(TIMESTAMP), Some(SIGNATURE), BODY, NOW),
        Err(WebhookError::InvalidSignature)
    );
}

#[test]
fn timestamps_beyond_five_minutes_are_stale_both_ways() {
    // The vector's own signature, checked six minutes later and earlier.
    for now in [NOW + 6 * 60, NOW - 6 * 60] {
        let result = verifier().verify(Some(ID), Some(TIMESTAMP), Some(SIGNATURE), BODY, now);
        assert_eq!(result, Err(WebhookError::StaleTimestamp), "now = {now}");
    }
}

#[test]
fn timestamps_within_five_minutes_pass() {
    for now in [NOW + 5 * 60, NOW - 5 * 60] {
        assert_eq!(verifier().verify(Some(ID), Some(TIMESTAMP), Some(SIGNATURE), BODY, now), Ok(()));
    }
}

#[test]
fn future_timestamp_signed_correctly_is_still_refused() {
    let future = (NOW + 10 * 60).to_string();
    let signature = sign(ID, &future, BODY);
    let result = verifier().verify(Some(ID), Some(&future), Some(&signature), BODY, NOW);
    assert_eq!(result, Err(WebhookError::StaleTimestamp));
}

#[test]
fn each_missing_header_is_named() {
    let verifier = verifier();
    assert_eq!(
        verifier.verify(None, Some(TIMESTAMP), Some(SIGNATURE), BODY, NOW),
        Err(WebhookError::MissingHeader("webhook-id"))
    );
    assert_eq!(
        verifier.verify(Some(ID), None, Some(SIGNATURE), BODY, NOW),
        Err(WebhookError::MissingHeader("webhook-timestamp"))
    );
    assert_eq!(
        verifier.verify(Some(ID), Some(TIMESTAMP), None, BODY, NOW),
        Err(WebhookError::MissingHeader("webhook-signature"))
    );
    assert_eq!(
        verifier.verify(Some(""), Some(TIMESTAMP), Some(SIGNATURE), BODY, NOW),
        Err(WebhookError::MissingHeader("webhook-id"))
    );
}

#[test]
fn any_valid_entry_among_several_passes() {
    let header = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {SIGNATURE}");
    assert_eq!(verify_signature(&header), Ok(()));
    let with_other_version = format!("v1a,AAAA {SIGNATURE}");
    assert_eq!(verify_signature(&with_other_version), Ok(()));
}

#[test]
fn other_versions_alone_never_pass() {
    let v2_with_a_valid_mac = SIGNATURE.replacen("v1,", "v2,", 1);
    assert_eq!(verify_signature(&v2_with_a_valid_mac), Err(WebhookError::InvalidSignature));
    let no_version = SIGNATURE.trim_start_matches("v1,");
    assert_eq!(verify_signature(no_version), Err(WebhookError::InvalidSignature));
}

#[test]
fn garbage_base64_fails() {
    for header in ["v1,***not-base64***", "v1,====", "v1", ",", "garbage"] {
        assert_eq!(verify_signature(header), Err(WebhookError::InvalidSignature), "{header}");
    }
}

#[test]
fn non_numeric_timestamps_are_invalid() {
    for timestamp in ["abc", "1614265330.5", "+1614265330", "-1614265330", "1e9", "99999999999999999999999"] {
        let result = verifier().verify(Some(ID), Some(timestamp), Some(SIGNATURE), BODY, NOW);
        assert_eq!(result, Err(WebhookError::InvalidTimestamp), "{timestamp}");
    }
}

#[test]
fn oversized_headers_are_refused_before_any_work() {
    let long_id = "m".repeat(MAX_ID_LEN + 1);
    let result = verifier().verify(Some(&long_id), Some(TIMESTAMP), Some(SIGNATURE), BODY, NOW);
    assert_eq!(result, Err(WebhookError::InvalidSignature));

    let many_entries = format!("{} {SIGNATURE}", "v1,AAAA ".repeat(MAX_SIGNATURE_HEADER_LEN / 8));
    assert_eq!(verify_signature(&many_entries), Err(WebhookError::InvalidSignature));
}

#[test]
fn misconfigured_verifier_rejects_everything() {
    let result = WebhookVerifier::rejecting_all().verify(Some(ID), Some(TIMESTAMP), Some(SIGNATURE), BODY, NOW);
    assert_eq!(result, Err(WebhookError::InvalidSecret));
}

#[test]
fn debug_does_not_show_the_key() {
    assert!(!format!("{:?}", verifier()).contains("MfKQ"));
}

#[test]
fn a_job_token_matches_its_own_job_only() {
    let verifier = WebhookVerifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let job_a = "0b6a2b1e-8d67-4a7e-9d6b-6f7f0f0c8a11";
    let job_b = "7c1d5e0a-3b2f-4c9e-8a7d-1e2f3a4b5c6d";
    let token = verifier.job_token(job_a).unwrap();
    assert_eq!(token.len(), 32);
    assert!(verifier.job_token_matches(job_a, &token));
    assert!(!verifier.job_token_matches(job_b, &token), "another job's token");
    assert!(!verifier.job_token_matches(job_a, &token[..30]), "truncated");
    let mut altered = token.clone();
    altered.replace_range(0..1, if token.starts_with('0') { "1" } else { "0" });
    assert!(!verifier.job_token_matches(job_a, &altered), "altered");
    assert!(!verifier.job_token_matches(job_a, ""), "empty");
    assert!(!verifier.job_token_matches(job_a, "zz"), "not hex");
    let other_secret = WebhookVerifier::new("whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=").unwrap();
    assert!(!other_secret.job_token_matches(job_a, &token), "another secret");
    assert!(!WebhookVerifier::rejecting_all().job_token_matches(job_a, &token));
}
