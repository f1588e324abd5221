//! Timestamps in answers: RFC 3339 in UTC, exactly as chrono's own `Serialize`
//! writes them (`2026-12-02T06:09:01.123456Z`: fractional seconds only when
//! not zero, as 3, 6 or 9 digits), but written straight into a small buffer.
//! chrono goes through `fmt::Write` one character at a time, and a gallery
//! page's 24 timestamps cost about a sixth of its handler's instructions that
//! way. Use with `#[serde(serialize_with = "...")]` on every answer's
//! timestamp field.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Serialize, Serializer};

pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0u8; 32];
    match write(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        // Years outside 0000-9999 need a sign: chrono's own way.
        None => at.serialize(serializer),
    }
}

pub fn rfc3339_opt<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

fn write<'b>(at: &DateTime<Utc>, buffer: &'b mut [u8; 32]) -> Option<&'b str> {
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let (mut second, mut nano) = (at.second(), at.nanosecond());
    // chrono keeps a leap second as nanoseconds past 1e9.
    if nano >= 1_000_000_000 {
        second += 1;
        nano -= 1_000_000_000;
    }
    let mut out = Out { buffer, len: 0 };
    out.digits(year, 4);
    out.byte(b'-');
    out.digits(at.month(), 2);
    out.byte(b'-');
    out.digits(at.day(), 2);
    out.byte(b'T');
    out.digits(at.hour(), 2);
    out.byte(b':');
    out.digits(at.minute(), 2);
    out.byte(b':');
    out.digits(second, 2);
    let fraction = match nano {
        0 => None,
        n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
        n if n % 1_000 == 0 => Some((n / 1_000, 6)),
        n => Some((n, 9)),
    };
    if let Some((value, digits)) = fraction {
        out.byte(b'.');
        out.digits(value, digits);
    }
    out.byte(b'Z');
    let len = out.len;
    std::str::from_utf8(&buffer[..len]).ok()
}

struct Out<'b> {
    buffer: &'b mut [u8; 32],
    len: usize,
}

impl Out<'_> {
    fn byte(&mut self, byte: u8) {
        self.buffer[self.len] = byte;
        self.len += 1;
    }

    /// `value` zero-padded to `count` digits.
    fn digits(&mut self, value: u32, count: u32) {
        for place in (0..count).rev() {
            self.byte(b'0' + (value / 10u32.pow(place) % 10) as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(Serialize)]
    struct Ours<'a>(#[serde(serialize_with = "rfc3339")] &'a DateTime<Utc>);

    fn ours(at: &DateTime<Utc>) -> String {
        serde_json::to_string(&Ours(at)).unwrap()
    }

    fn chronos(at: &DateTime<Utc>) -> String {
        serde_json::to_string(at).unwrap()
    }

    #[test]
    fn writes_what_chrono_writes_for_every_precision() {
        // A spread of instants from 1970 to 2100 with each kind of fraction.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let seconds = (state >> 11) as i64 % 4_102_444_800;
            let nanos = match state % 4 {
                0 => 0,
                1 => (state >> 7) as u32 % 1000 * 1_000_000,
                2 => (state >> 7) as u32 % 1_000_000 * 1_000,
                _ => (state >> 7) as u32 % 1_000_000_000,
            };
            let at = Utc.timestamp_opt(seconds, nanos).unwrap();
            assert_eq!(ours(&at), chronos(&at), "{seconds} s {nanos} ns");
        }
    }

    #[test]
    fn edges_match_chrono_too() {
        let instants = [
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 12, 0, 0).unwrap(),
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(),
        ];
        for at in instants {
            assert_eq!(ours(&at), chronos(&at));
        }
        let none: Option<DateTime<Utc>> = None;
        let mut json = serde_json::Serializer::new(Vec::new());
        rfc3339_opt(&none, &mut json).unwrap();
        assert_eq!(json.into_inner(), b"null");
    }
}
