//! Parsers for option values; each error is one line clap prints as a usage error.

use std::time::Duration;

use ak::KeyTenant;
use serde_json::Value;

use crate::store_url::StoreUrl;

/// `sqlite:<path>`, `sled:<directory>` or `postgres://user@host/database`.
pub(crate) fn store_url(text: &str) -> Result<StoreUrl, String> {
    StoreUrl::parse(text)
}

/// `<n><unit>` with unit `s`, `m`, `h`, `d` or `w`, e.g. `30d`.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}: use a number and a unit s, m, h, d or w, e.g. 30d");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    number
        .checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

/// RFC 3339 (`2030-01-01T00:00:00Z`) or Unix seconds.
pub(crate) fn timestamp(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(time::OffsetDateTime::unix_timestamp)
        .map_err(|_| format!("invalid time {text:?}: use RFC 3339 (2030-01-01T00:00:00Z) or Unix seconds"))
}

/// `T` or `T:R1,R2`.
pub(crate) fn tenant(text: &str) -> Result<KeyTenant, String> {
    let (id, roles) = text.split_once(':').unwrap_or((text, ""));
    if id.is_empty() {
        return Err(format!("invalid tenant {text:?}: use T or T:ROLE1,ROLE2"));
    }
    Ok(KeyTenant::new(
        id,
        roles.split(',').filter(|role| !role.is_empty()),
    ))
}

/// `K=JSON`, e.g. `plan="gold"` or `limits={"rps":10}`.
pub(crate) fn json_pair(text: &str) -> Result<(String, Value), String> {
    let (name, json) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid {text:?}: use NAME=JSON, e.g. plan='\"gold\"'"))?;
    let value = serde_json::from_str(json).map_err(|error| {
        format!("invalid JSON for {name:?}: {error} (strings need quotes: {name}='\"…\"')")
    })?;
    Ok((name.to_owned(), value))
}

/// An IP address or CIDR range, checked as the library checks it.
pub(crate) fn ip_rule(text: &str) -> Result<String, String> {
    ak::crates::core::ip::parse_rule(text)
        .map(|_| text.to_owned())
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        for bad in ["", "d", "10", "10x", "-1d", "1.5h", "99999999999999999999w"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp("2000000000"), Ok(2_000_000_000));
        assert_eq!(timestamp("2030-01-01T00:00:00Z"), Ok(1_893_456_000));
        assert!(timestamp("tomorrow").is_err());
    }

    #[test]
    fn tenants_and_pairs() {
        assert_eq!(tenant("acme"), Ok(KeyTenant::new("acme", Vec::<String>::new())));
        assert_eq!(tenant("acme:a,b"), Ok(KeyTenant::new("acme", ["a", "b"])));
        assert!(tenant(":a").is_err());
        assert_eq!(
            json_pair("k={\"a\":1}"),
            Ok(("k".into(), serde_json::json!({"a": 1})))
        );
        assert!(json_pair("k=gold").is_err());
        assert!(json_pair("novalue").is_err());
    }
}
