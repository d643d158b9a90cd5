//! Durations in configuration, written as `"500ms"`, `"30s"`, `"5m"` or `"1h"`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A configured duration; deserialises from `"250ms"`, `"30s"`, `"5m"`, `"2h"` or `"0"`.
///
/// Fractions and compound forms (`"1m30s"`) are refused so every value has one spelling, the same
/// grammar the gateway's own configuration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    /// Builds a duration from whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// Builds a duration from milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// The standard-library duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl From<Duration> for ConfigDuration {
    fn from(value: Duration) -> Self {
        Self(value)
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis == 0 {
            f.write_str("0")
        } else if millis.is_multiple_of(3_600_000) {
            write!(f, "{}h", millis / 3_600_000)
        } else if millis.is_multiple_of(60_000) {
            write!(f, "{}m", millis / 60_000)
        } else if millis.is_multiple_of(1_000) {
            write!(f, "{}s", millis / 1_000)
        } else {
            write!(f, "{millis}ms")
        }
    }
}

/// Parses a duration such as `"500ms"`, `"30s"`, `"5m"`, `"2h"`; a bare `"0"` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const HINT: &str = "write it like \"500ms\", \"30s\", \"5m\" or \"1h\"";
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("\"{text}\" has no unit; {HINT}"))?;
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration; {HINT}"))?;
    let millis = match unit {
        "ms" => Some(value),
        "s" => value.checked_mul(1_000),
        "m" => value.checked_mul(60_000),
        "h" => value.checked_mul(3_600_000),
        _ => {
            return Err(format!(
                "\"{text}\" has an unknown unit \"{unit}\"; use ms, s, m or h"
            ));
        }
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("\"{text}\" is too large"))
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_ambiguous_or_huge_values() {
        for bad in [
            "30",
            "1.5s",
            "5d",
            "s",
            "",
            "-1s",
            "1m30s",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        assert_eq!(ConfigDuration::from_millis(1500).to_string(), "1500ms");
        assert_eq!(ConfigDuration::from_secs(90).to_string(), "90s");
        assert_eq!(ConfigDuration::from_secs(300).to_string(), "5m");
    }
}
