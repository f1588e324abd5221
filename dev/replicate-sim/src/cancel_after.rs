//! The `Cancel-After` header: Go-style durations (`30s`, `10m`, `1h30m`,
//! `1.5h`, `250ms`), a bare number meaning seconds, from 5 s to 24 h as
//! Replicate takes it. The minimum is a setting so that a test of deadlines
//! can reach one in milliseconds.

use std::time::Duration;

/// Replicate refuses deadlines shorter than this.
pub(crate) const REPLICATE_MINIMUM: Duration = Duration::from_secs(5);
/// ... and longer than this.
pub(crate) const REPLICATE_MAXIMUM: Duration = Duration::from_secs(24 * 3600);

/// A deadline within `minimum ..= 24 h`.
pub(crate) fn parse_within(text: &str, minimum: Duration) -> Result<Duration, String> {
    let after = parse(text)?;
    if after < minimum || after > REPLICATE_MAXIMUM {
        return Err(format!("{text:?} is outside the allowed range ({} s to 24 h)", minimum.as_secs_f64()));
    }
    Ok(after)
}

fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".to_owned());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in {text:?}"))?;
        let value: f64 = rest[..number_len].parse().map_err(|_| format!("bad number in {text:?}"))?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("unknown unit {unit:?} in {text:?}")),
        };
        rest = &rest[unit_len..];
        total += value * seconds_per_unit;
    }
    if !total.is_finite() || total > 365.0 * 24.0 * 3600.0 {
        return Err(format!("duration {text:?} out of range"));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_replicate_documents() {
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("45").unwrap(), Duration::from_secs(45));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
    }

    #[test]
    fn holds_deadlines_to_replicates_range() {
        assert_eq!(parse_within("5s", REPLICATE_MINIMUM).unwrap(), Duration::from_secs(5));
        assert_eq!(parse_within("24h", REPLICATE_MINIMUM).unwrap(), REPLICATE_MAXIMUM);
        for outside in ["4s", "4999ms", "0", "24h1s", "48h"] {
            assert!(parse_within(outside, REPLICATE_MINIMUM).is_err(), "{outside:?} should be refused");
        }
        assert_eq!(parse_within("250ms", Duration::ZERO).unwrap(), Duration::from_millis(250));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "soon", "10x", "m", "1h30", "-5s", "1..2s"] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
