//! Text helpers shared by the pages: HTML escaping, the number formats the tables use (two
//! decimals), human durations for axes, and duration parsing (`500ms`, `2s`, `1m30s`).

use std::time::Duration;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table cell number: always two decimals (`123.46`). The tables print every latency (ms),
/// rate and percentage this way, so a test can find a value by formatting it the same way.
pub fn fixed(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        "-".into()
    }
}

/// A compact number for embedded data: rounded to two decimals, trailing zeros dropped.
pub fn compact(value: f64) -> String {
    if !value.is_finite() {
        return "null".into();
    }
    let rounded = (value * 100.0).round() / 100.0;
    let mut text = format!("{rounded:.2}");
    while text.ends_with('0') {
        text.pop();
    }
    if text.ends_with('.') {
        text.pop();
    }
    if text == "-0" {
        text = "0".into();
    }
    text
}

/// Milliseconds for people: `850 ms`, `1.25 s`, `0.12 ms`.
pub fn human_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "-".into();
    }
    if ms >= 1000.0 {
        format!("{} s", compact(ms / 1000.0))
    } else if ms >= 10.0 {
        format!("{} ms", compact(ms.round()))
    } else {
        format!("{} ms", compact(ms))
    }
}

/// Seconds for people: `42 s`, `2 m 5 s`.
pub fn human_s(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "-".into();
    }
    if seconds < 120.0 {
        return format!("{} s", compact(seconds));
    }
    let whole = seconds.round() as u64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    match h {
        0 => format!("{m} m {s} s"),
        h => format!("{h} h {m} m {s} s"),
    }
}

/// Bytes for people, binary units: `23.4 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", compact((value * 10.0).round() / 10.0), units[unit])
}

/// Parses `500ms`, `2s`, `1.5s`, `1m30s`, `250us`; a bare number is seconds.
///
/// # Errors
/// A message naming the text when it is not a duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    // Seconds beyond what a Duration holds (or a sum that overflows) are refused, not a panic.
    let too_long = || format!("{text:?} is too long a duration");
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds >= 0.0 && seconds.is_finite() {
            return Duration::try_from_secs_f64(seconds).map_err(|_| too_long());
        }
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{text:?} needs a unit (ms, s, m, h)"))?;
        let (number, tail) = rest.split_at(digits);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit.trim() {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => return Err(format!("{text:?}: unknown unit {other:?} (ms, s, m, h)")),
        };
        let part = Duration::try_from_secs_f64(value * scale).map_err(|_| too_long())?;
        total = total.checked_add(part).ok_or_else(too_long)?;
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_for_tables_and_data() {
        assert_eq!(fixed(123.456), "123.46");
        assert_eq!(fixed(2.0), "2.00");
        assert_eq!(compact(2.0), "2");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(compact(0.004), "0");
        assert_eq!(compact(-0.001), "0");
        assert_eq!(human_ms(850.4), "850 ms");
        assert_eq!(human_ms(1250.0), "1.25 s");
        assert_eq!(human_s(125.0), "2 m 5 s");
        assert_eq!(human_bytes(24 * 1024 * 1024 * 1024), "24 GiB");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn a_duration_too_long_to_hold_is_refused_not_a_panic() {
        for text in [
            "1e300",
            "99999999999999999999999h",
            "18446744073709551615s1s",
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("too long"), "{text}: {err}");
        }
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
