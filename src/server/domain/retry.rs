//! When an outgoing request that failed in a retryable way (429, 5xx, a timeout, a refused
//! connection) is tried again: the delivery schedule (by default immediately, 5 s, 5 min,
//! 30 min, 2 h, 5 h, 10 h, 10 h), each delay spread by up to ±20 % so retries of many
//! deliveries do not arrive together, and never sooner than a `Retry-After` the receiver sent.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The default schedule: the delay before each retry, in order.
pub const DEFAULT_SCHEDULE: &str = "0s, 5s, 5m, 30m, 2h, 5h, 10h, 10h";

/// Reads a schedule such as `0s, 5s, 5m, 30m, 2h`: whole numbers with s, m or h, comma
/// separated; at most 20 retries, none over 24 hours.
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let mut delays = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let unit = part.chars().last().unwrap_or('s');
        let number = &part[..part.len() - unit.len_utf8()];
        let n: u64 = number
            .trim()
            .parse()
            .map_err(|_| format!("\"{part}\" is not a delay such as 30s, 5m or 2h"))?;
        let seconds = match unit {
            's' => n,
            'm' => n.saturating_mul(60),
            'h' => n.saturating_mul(3600),
            _ => return Err(format!("\"{part}\" is not a delay such as 30s, 5m or 2h")),
        };
        if seconds > 86_400 {
            return Err(format!("\"{part}\" is longer than 24 hours"));
        }
        delays.push(Duration::from_secs(seconds));
    }
    if delays.len() > 20 {
        return Err("at most 20 retries".into());
    }
    Ok(delays)
}

/// A delay as a schedule writes it: the largest whole unit (`90s`, `5m`, `2h`).
pub fn delay_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A `Retry-After` value: delay-seconds, or an HTTP date (then the time until it, at least 0).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds.min(86_400)));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.to_utc();
    Some(
        (at - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(86_400)),
    )
}

/// The delay before retry number `retry` (0 for the first), or None when the schedule is
/// used up. `spread` (from 0 to 1, random in use) moves the delay by -20 % to +20 %; a
/// `Retry-After` is a lower bound.
pub fn next_delay(
    schedule: &[Duration],
    retry: usize,
    spread: f64,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let base = *schedule.get(retry)?;
    let factor = 0.8 + 0.4 * spread.clamp(0.0, 1.0);
    let jittered = base.mul_f64(factor);
    Some(match retry_after {
        Some(at_least) if at_least > jittered => at_least,
        _ => jittered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_written_back_as_a_schedule_reads_them() {
        let text = "0s, 90s, 5m, 120m, 25h";
        assert!(parse_schedule(text).is_err(), "over 24 hours");
        let delays = parse_schedule("0s, 90s, 5m, 120m").unwrap();
        let written: Vec<String> = delays.iter().map(|d| delay_text(*d)).collect();
        assert_eq!(written, ["0s", "90s", "5m", "2h"]);
        assert_eq!(parse_schedule(&written.join(", ")).unwrap(), delays);
    }

    #[test]
    fn schedules_parse_and_bad_ones_are_named() {
        let s = parse_schedule(DEFAULT_SCHEDULE).unwrap();
        assert_eq!(
            s.iter().map(Duration::as_secs).collect::<Vec<_>>(),
            vec![0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000]
        );
        assert_eq!(parse_schedule("").unwrap(), Vec::<Duration>::new());
        assert!(parse_schedule("5x").unwrap_err().contains("\"5x\""));
        assert!(parse_schedule("ten s").is_err());
        assert!(parse_schedule("5é").is_err());
        assert!(parse_schedule("h").is_err());
        assert!(parse_schedule("25h").unwrap_err().contains("24 hours"));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(
            retry_after("99999999", now),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn delays_follow_the_schedule_with_jitter_and_respect_retry_after() {
        let s = parse_schedule("0s, 10s, 5m").unwrap();
        assert_eq!(next_delay(&s, 0, 0.5, None), Some(Duration::ZERO));
        assert_eq!(next_delay(&s, 1, 0.0, None), Some(Duration::from_secs(8)));
        assert_eq!(next_delay(&s, 1, 1.0, None), Some(Duration::from_secs(12)));
        assert_eq!(next_delay(&s, 1, 0.5, None), Some(Duration::from_secs(10)));
        for spread in [0.0, 0.3, 0.7, 1.0] {
            let d = next_delay(&s, 2, spread, None).unwrap();
            assert!((240..=360).contains(&d.as_secs()), "{d:?}");
        }
        // Retry-After wins when it asks for longer, not when it asks for less.
        assert_eq!(
            next_delay(&s, 1, 0.5, Some(Duration::from_secs(90))),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            next_delay(&s, 1, 0.5, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            next_delay(&s, 3, 0.5, None),
            None,
            "the schedule is used up"
        );
    }
}
