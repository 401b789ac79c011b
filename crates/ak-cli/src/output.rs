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
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "{label:<18} {value}");
    }
    out
}

/// A table of keys, one per line.
pub(crate) fn key_table(keys: &[AccessKey]) -> String {
    let mut out = format!(
        "{:<26}  {:<8}  {:<20}  {:<20}  {}\n",
        "ID", "STATUS", "CREATED", "EXPIRES", "NAME"
    );
    for key in keys {
        let _ = writeln!(
            out,
            "{:<26}  {:<8}  {:<20}  {:<20}  {}",
            key.id,
            key.status.as_str(),
            time(key.created_time),
            key.expire_time.map_or_else(|| "never".to_owned(), time),
            key.name
        );
    }
    let _ = write!(out, "{} key(s)", keys.len());
    out
}
