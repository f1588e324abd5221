//! The `Cancel-After` header: Go-style durations (`30s`, `10m`, `1h30m`,
//! `1.5h`, `250ms`), a bare number meaning seconds. Replicate enforces a
//! minimum of a few seconds; the simulator does not, so tests can reach a
//! deadline in milliseconds.

use std::time::Duration;

pub(crate) fn parse(text: &str) -> Result<Duration, String> {
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
    if !total.is_finite() || total > 7.0 * 24.0 * 3600.0 {
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
    fn rejects_garbage() {
        for bad in ["", "soon", "10x", "m", "1h30", "-5s", "1..2s"] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
