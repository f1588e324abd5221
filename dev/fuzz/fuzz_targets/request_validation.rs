//! What a client sends to `POST /generations` and to the listing endpoints:
//! the JSON body through the same `SubmitRequest::from_request` the handler uses, then
//! `validate`; a query string through `query_param` into `PageRequest`; an
//! input path on its own.
//!
//! Input: one letter, then what it names: `J` a JSON body sent as
//! `application/json`, `B` a body without a content type, `Q` a query string,
//! `P` an input path. Readable, so the seeds are plain files.
//!
//! Properties: nothing panics; a valid submission holds only the caller's
//! own inputs, a bounded prompt, and builds a prompt that keeps its
//! guardrails; a query parameter decodes as the URL standard says; an accepted
//! input path is the owner's and in canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::flows::submit::{validate, SubmitRequest};
use shared::http::{query_param, Body, Request};
use shared::prompt::{build_prompt, EXCLUSIONS, MAX_PROMPT_CHARS, MAX_USER_TEXT_CHARS};
use shared::repositories::pagination::{PageRequest, MAX_LIMIT};
use shared::storage::InputPath;
use uuid::Uuid;

/// The caller; the seeds name inputs under this id so that the fuzzer starts
/// from accepted paths.
const OWNER: Uuid = Uuid::from_u128(0x6f1c1d2e_8d0e_4d3b_9a57_2a3b4c5d6e7f);

fn check_submit(body: &[u8], content_type: Option<&'static str>) {
    let mut request = Request::new(Body::Binary(body.to_vec()));
    if let Some(content_type) = content_type {
        request.headers_mut().insert("content-type", content_type.parse().expect("a valid header value"));
    }
    let Ok(submit) = SubmitRequest::from_request(&request) else { return };
    let Ok(valid) = validate(&submit, OWNER) else { return };
    assert!(valid.inputs.iter().all(|input| input.owner == OWNER));
    assert!(valid.prompt.as_ref().is_none_or(|prompt| prompt.chars().count() <= MAX_USER_TEXT_CHARS));
    let prompt = build_prompt(valid.mode, valid.room_type, valid.style, valid.prompt.as_deref());
    assert!(prompt.ends_with(EXCLUSIONS));
    assert!(prompt.chars().count() <= MAX_PROMPT_CHARS);
}

fn check_query(query: &str) {
    let mut request = Request::new(Body::Empty);
    let Ok(uri) = format!("/api/v1/renders?{query}").parse() else { return };
    *request.uri_mut() = uri;
    let limit = query_param(&request, "limit");
    let cursor = query_param(&request, "cursor");
    let expected_limit = request.uri().query().and_then(|query| {
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == "limit").then(|| reference_percent_decode(value))
        })
    });
    assert_eq!(limit, expected_limit, "query {query:?}");
    if let Ok(page) = PageRequest::parse(limit.as_deref(), cursor.as_deref()) {
        assert!((1..=MAX_LIMIT).contains(&page.limit));
    }
}

/// Form decoding as the URL standard has it, written here independently of
/// the code under test: `+` is a space, `%` and two hex digits a byte, any
/// other `%` stays as it is.
fn reference_percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex_pair = bytes.get(index + 1..index + 3).filter(|pair| pair.iter().all(u8::is_ascii_hexdigit));
        match (bytes[index], hex_pair) {
            (b'%', Some(pair)) => {
                let digits = std::str::from_utf8(pair).expect("hex digits are ASCII");
                decoded.push(u8::from_str_radix(digits, 16).expect("two hex digits"));
                index += 3;
            }
            (b'+', _) => {
                decoded.push(b' ');
                index += 1;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn check_path(path: &str) {
    if let Ok(input) = InputPath::parse_owned(path, OWNER) {
        assert_eq!(input.owner, OWNER);
        assert_eq!(input.db_path(), path);
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&kind, rest)) = input.split_first() else { return };
    match kind {
        b'J' => check_submit(rest, Some("application/json")),
        b'B' => check_submit(rest, None),
        b'Q' => std::str::from_utf8(rest).into_iter().for_each(check_query),
        b'P' => std::str::from_utf8(rest).into_iter().for_each(check_path),
        _ => {}
    }
});
