//! Keyset pagination cursors and the `limit` parameter, as clients send them.
//!
//! Input: the `cursor` parameter, then optionally a newline and the `limit`
//! parameter. The same bytes, read as a position (microseconds and an id),
//! drive the round trip.
//!
//! Properties: decoding any text never panics; what decodes re-encodes to a
//! cursor that decodes to the same position; every representable position
//! round-trips; an accepted limit is within bounds.
#![no_main]

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use shared::repositories::pagination::{Cursor, PageRequest, MAX_LIMIT};
use uuid::Uuid;

fuzz_target!(|input: &[u8]| {
    if let Ok(text) = std::str::from_utf8(input) {
        let (cursor, limit) = match text.split_once('\n') {
            Some((cursor, limit)) => (cursor, Some(limit)),
            None => (text, None),
        };
        if let Ok(decoded) = Cursor::decode(cursor) {
            assert_eq!(Cursor::decode(&decoded.encode()), Ok(decoded));
        }
        if let Ok(page) = PageRequest::parse(limit, Some(cursor)) {
            assert!((1..=MAX_LIMIT).contains(&page.limit));
            assert_eq!(page.after, Cursor::decode(cursor).ok());
        }
    }

    if let (Some(micros), Some(id)) = (input.get(..8), input.get(8..24)) {
        let micros = i64::from_le_bytes(micros.try_into().expect("eight bytes"));
        let id = Uuid::from_slice(id).expect("sixteen bytes");
        if let Some(created_at) = DateTime::from_timestamp_micros(micros) {
            let cursor = Cursor { created_at, id };
            assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }
    }
});
