//! Deterministic records for the cases.

use ak_core::{AccessKey, GraceSecret, KeyRecord, KeyStatus, KeyTenant};
use serde_json::{Map, Value, json};

/// A minimal record with this id, name and creation time.
pub fn record(id: &str, name: &str, created_time: i64) -> KeyRecord {
    KeyRecord {
        key: AccessKey {
            id: id.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            role_names: Vec::new(),
            key_tenants: Vec::new(),
            status: KeyStatus::Active,
            created_time,
            expire_time: None,
            created_by: String::new(),
            bound_user_id: None,
            custom_claims: Map::new(),
            custom_attributes: Map::new(),
            permitted_ips: Vec::new(),
            last_used_time: None,
            last_used_ip: None,
        },
        secret_hash: format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ${id}"),
        previous_secret: None,
        version: 1,
    }
}

/// A record with every field set, including non-ASCII text and nested JSON.
pub fn full_record(id: &str) -> KeyRecord {
    let mut record = record(id, "Ünïcødé — name ✓", 1_700_000_000);
    let key = &mut record.key;
    key.description = "multi\nline 'quoted' \"double\" description".into();
    key.key_tenants = vec![
        KeyTenant::new("tenant-a", ["admin", "viewer"]),
        KeyTenant::new("tenant-b", ["viewer"]),
    ];
    key.status = KeyStatus::Inactive;
    key.expire_time = Some(2_000_000_000);
    key.created_by = "admin@example.com".into();
    key.bound_user_id = Some("user-1".into());
    key.custom_claims = object(json!({"plan": "gold", "limits": {"rps": 10, "burst": [1, 2.5, null]}}));
    key.custom_attributes = object(json!({"team": "infra", "cost": 12, "tags": ["a", "b"]}));
    key.permitted_ips = vec!["10.0.0.0/8".into(), "2001:db8::/32".into(), "192.0.2.7".into()];
    record.previous_secret = Some(GraceSecret {
        secret_hash: "$argon2id$v=19$m=8,t=1,p=1$b2xkb2xk$previous".into(),
        valid_until: 42,
    });
    record.version = 7;
    record
}

/// The object inside a `json!` value (empty if it is not an object).
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A map exactly `depth` levels deep as serde_json counts them (the map itself is the first level,
/// `depth >= 1`), alternating objects and arrays, with a scalar at the bottom.
pub fn nested(depth: usize) -> Map<String, Value> {
    let mut value = Value::from(1);
    for level in (2..=depth).rev() {
        value = if level % 2 == 0 {
            Value::Array(vec![value])
        } else {
            let mut inner = Map::new();
            inner.insert("n".into(), value);
            Value::Object(inner)
        };
    }
    let mut map = Map::new();
    map.insert("n".into(), value);
    map
}
