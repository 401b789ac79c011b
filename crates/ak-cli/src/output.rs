//! Human-readable rendering of keys; `--json` output is the Descope-shaped JSON instead.

use std::fmt::Write as _;

use ak::AccessKey;

pub(crate) fn time(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}

fn list(values: &[String]) -> String {
    if values.is_empty() {
        "-".to_owned()
    } else {
        values.join(", ")
    }
}

/// Every field of one key, one per line.
pub(crate) fn key_details(key: &AccessKey) -> String {
    let mut out = String::new();
    let tenants: Vec<String> = key
        .key_tenants
        .iter()
        .map(|t| {
            if t.role_names.is_empty() {
                t.tenant_id.clone()
            } else {
                format!("{} ({})", t.tenant_id, t.role_names.join(", "))
            }
        })
        .collect();
    let json = |map: &serde_json::Map<String, serde_json::Value>| {
        if map.is_empty() {
            "-".to_owned()
        } else {
            serde_json::Value::Object(map.clone()).to_string()
        }
    };
    let rows = [
        ("id", key.id.clone()),
        ("name", key.name.clone()),
        (
            "description",
            if key.description.is_empty() {
                "-".into()
            } else {
                key.description.clone()
            },
        ),
        ("status", key.status.as_str().to_owned()),
        ("created", time(key.created_time)),
        (
            "expires",
            key.expire_time.map_or_else(|| "never".to_owned(), time),
        ),
        (
            "created by",
            if key.created_by.is_empty() {
                "-".into()
            } else {
                key.created_by.clone()
            },
        ),
        (
            "bound user",
            key.bound_user_id.clone().unwrap_or_else(|| "-".into()),
        ),
        ("roles", list(&key.role_names)),
        ("tenants", list(&tenants)),
        ("custom claims", json(&key.custom_claims)),
        ("custom attributes", json(&key.custom_attributes)),
        ("permitted IPs", list(&key.permitted_ips)),
        ("last used", last_used(key)),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "{label:<18} {value}");
    }
    out
}

/// When and from where a key was last used, or `never`.
pub(crate) fn last_used(key: &AccessKey) -> String {
    match (key.last_used_time, &key.last_used_ip) {
        (None, _) => "never".to_owned(),
        (Some(at), None) => time(at),
        (Some(at), Some(ip)) => format!("{} from {ip}", time(at)),
    }
}

/// A table of audit events, one per line, newest first.
pub(crate) fn audit_table(events: &[ak::crates::core::audit::AuditEvent]) -> String {
    let mut out = format!(
        "{:<24}  {:<26}  {:<8}  {:<14}  {:<28}  {:<16}  {}\n",
        "TIME", "ACTION", "OUTCOME", "REASON", "KEYS", "CLIENT", "ACTOR"
    );
    for event in events {
        let seconds = event.occurred.div_euclid(1000);
        let millis = event.occurred.rem_euclid(1000);
        let _ = writeln!(
            out,
            "{:<24}  {:<26}  {:<8}  {:<14}  {:<28}  {:<16}  {}",
            format!("{}.{millis:03}", time(seconds)),
            event.action,
            event.outcome.as_str(),
            event.reason.as_deref().unwrap_or("-"),
            if event.key_ids.is_empty() {
                "-".to_owned()
            } else {
                event.key_ids.join(",")
            },
            event.client_address.as_deref().unwrap_or("-"),
            if event.actor.is_empty() {
                "-"
            } else {
                event.actor.as_str()
            },
        );
    }
    let _ = write!(out, "{} event(s)", events.len());
    out
}

/// A table of keys, one per line.
pub(crate) fn key_table(keys: &[AccessKey]) -> String {
    let mut out = format!(
        "{:<26}  {:<8}  {:<20}  {:<20}  {:<20}  {}\n",
        "ID", "STATUS", "CREATED", "EXPIRES", "LAST USED", "NAME"
    );
    for key in keys {
        let _ = writeln!(
            out,
            "{:<26}  {:<8}  {:<20}  {:<20}  {:<20}  {}",
            key.id,
            key.status.as_str(),
            time(key.created_time),
            key.expire_time.map_or_else(|| "never".to_owned(), time),
            key.last_used_time.map_or_else(|| "never".to_owned(), time),
            key.name
        );
    }
    let _ = write!(out, "{} key(s)", keys.len());
    out
}
