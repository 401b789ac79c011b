//! Input validation: every check a create, update, search or batch runs before touching a store.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::limits::*;
use crate::model::KeyTenant;

/// Claim names a key's `customClaims` may not use: registered JWT claims, the claims ak and
/// Descope give meaning to, and a few that verifiers treat specially (`cnf` enables DPoP checks).
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "roles",
    "permissions",
    "tenants",
    "nsec",
    "dct",
    "drn",
    "amr",
    "dsub",
    "azp",
    "scope",
    "cnf",
    "rexp",
    "sid",
    "kid",
    "boundUserId",
];

/// Why an input was rejected. Nothing was changed when a call returns this.
///
/// Messages name the offending field and value (names, ids and role names are not secrets) but never
/// echo a presented access key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A required field was empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A field was longer than its limit.
    #[error("{field} is too long: {actual} > {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
        /// The length given.
        actual: usize,
    },
    /// A JSON value was nested deeper than [`MAX_JSON_DEPTH`].
    #[error("{field} is nested too deeply: more than {max} levels")]
    TooDeep {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
    },
    /// A list had more entries than its limit.
    #[error("{field} has too many entries: {actual} > {max}")]
    TooMany {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
        /// The count given.
        actual: usize,
    },
    /// A field contained a control character.
    #[error("{field} must not contain control characters")]
    ControlCharacter {
        /// The field.
        field: &'static str,
    },
    /// A list held the same value twice.
    #[error("{field} lists {value:?} more than once")]
    Duplicate {
        /// The field.
        field: &'static str,
        /// The repeated value.
        value: String,
    },
    /// Both `roleNames` and `keyTenants` were given; a key has one or the other.
    #[error("roleNames and keyTenants are mutually exclusive")]
    RolesAndTenants,
    /// `expireTime` was not in the future, or past [`MAX_EXPIRE_TIME`].
    #[error("expireTime {expire_time} must be in the future and at most {MAX_EXPIRE_TIME}")]
    BadExpireTime {
        /// The time given (Unix seconds).
        expire_time: i64,
    },
    /// A custom claim used a reserved name.
    #[error("custom claim {name:?} is reserved")]
    ReservedClaim {
        /// The claim name.
        name: String,
    },
    /// A custom claim had an empty name.
    #[error("custom claim names must not be empty")]
    EmptyClaimName,
    /// A permitted IP entry was neither an IP address nor a CIDR range.
    #[error("{value:?} is not an IP address or CIDR range")]
    InvalidIp {
        /// The entry given.
        value: String,
    },
    /// A role name is not in the configured role catalog.
    #[error("unknown role {role:?}")]
    UnknownRole {
        /// The role name.
        role: String,
    },
    /// A bound user id is not known to the configured user directory.
    #[error("unknown user {user_id:?}")]
    UnknownUser {
        /// The user id.
        user_id: String,
    },
    /// A search cursor was not produced by this query's sort order.
    #[error("invalid search cursor")]
    InvalidCursor,
    /// A search limit was zero or larger than [`MAX_PAGE_SIZE`].
    #[error("search limit must be within 1..={MAX_PAGE_SIZE}, got {limit}")]
    BadLimit {
        /// The limit given.
        limit: u32,
    },
    /// A rotation grace period was longer than [`MAX_ROTATION_GRACE_SECS`].
    #[error("rotation grace period must be at most {MAX_ROTATION_GRACE_SECS} s, got {secs} s")]
    GraceTooLong {
        /// The grace period given, in seconds.
        secs: u64,
    },
    /// An application tried to record an event in ak's reserved action namespace.
    #[error("audit action {action} is reserved for ak")]
    ReservedAction {
        /// The action given.
        action: String,
    },
    /// The cleartext prefix was empty, too long, or not lowercase ASCII letters and digits.
    #[error("key prefix must be 1..={MAX_PREFIX_CHARS} lowercase ASCII letters or digits")]
    BadPrefix,
    /// A webhook URL was not an absolute `http` or `https` URL with a host and without
    /// credentials, or was longer than [`MAX_WEBHOOK_URL_CHARS`]. The message never repeats the
    /// URL: some services put a credential in it.
    #[error("invalid webhook URL: {reason}")]
    BadWebhookUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A webhook action filter entry was neither an action name nor a prefix ending in `.*`.
    #[error(
        "invalid webhook action filter {action:?}: use an action name (accesskey.create) or a prefix ending in .* (accesskey.*)"
    )]
    BadWebhookAction {
        /// The entry given.
        action: String,
    },
}

/// Checks a key name: 1..=[`MAX_NAME_CHARS`] characters, no control characters.
pub fn name(value: &str) -> Result<(), ValidationError> {
    text("name", value, MAX_NAME_CHARS)?;
    no_controls("name", value)
}

/// Checks a description: at most [`MAX_DESCRIPTION_CHARS`] characters (may be empty).
pub fn description(value: &str) -> Result<(), ValidationError> {
    max_chars("description", value, MAX_DESCRIPTION_CHARS)
}

/// Checks an identifier (key id, user id, tenant id, role name, `createdBy`):
/// 1..=[`MAX_ID_CHARS`] characters, no control characters.
pub fn id(field: &'static str, value: &str) -> Result<(), ValidationError> {
    text(field, value, MAX_ID_CHARS)?;
    no_controls(field, value)
}

/// Checks a list of identifiers: each valid, at most `max` of them, no duplicates.
pub fn id_list(field: &'static str, values: &[String], max: usize) -> Result<(), ValidationError> {
    count(field, values.len(), max)?;
    let mut seen = HashSet::with_capacity(values.len());
    for value in values {
        id(field, value)?;
        if !seen.insert(value.as_str()) {
            return Err(ValidationError::Duplicate {
                field,
                value: value.clone(),
            });
        }
    }
    Ok(())
}

/// Checks project roles and tenants together: each list valid and not both non-empty.
pub fn roles_and_tenants(role_names: &[String], tenants: &[KeyTenant]) -> Result<(), ValidationError> {
    id_list("roleNames", role_names, MAX_ROLES)?;
    count("keyTenants", tenants.len(), MAX_TENANTS)?;
    let mut seen = HashSet::with_capacity(tenants.len());
    for tenant in tenants {
        id("tenantId", &tenant.tenant_id)?;
        if !seen.insert(tenant.tenant_id.as_str()) {
            return Err(ValidationError::Duplicate {
                field: "keyTenants",
                value: tenant.tenant_id.clone(),
            });
        }
        id_list("roleNames", &tenant.role_names, MAX_ROLES)?;
    }
    if !role_names.is_empty() && !tenants.is_empty() {
        return Err(ValidationError::RolesAndTenants);
    }
    Ok(())
}

/// Checks an expiry for a new key: after `now` and at most [`MAX_EXPIRE_TIME`].
pub fn expire_time(expire_time: i64, now: i64) -> Result<(), ValidationError> {
    if expire_time <= now || expire_time > MAX_EXPIRE_TIME {
        return Err(ValidationError::BadExpireTime { expire_time });
    }
    Ok(())
}

/// Checks custom claims: at most [`MAX_JSON_DEPTH`] deep and [`MAX_CUSTOM_CLAIMS_BYTES`] of JSON,
/// no empty or [reserved](RESERVED_CLAIMS) names.
pub fn custom_claims(claims: &Map<String, Value>) -> Result<(), ValidationError> {
    json_map("customClaims", claims, MAX_CUSTOM_CLAIMS_BYTES)?;
    for name in claims.keys() {
        if name.is_empty() {
            return Err(ValidationError::EmptyClaimName);
        }
        if RESERVED_CLAIMS.contains(&name.as_str()) {
            return Err(ValidationError::ReservedClaim { name: name.clone() });
        }
    }
    Ok(())
}

/// Checks the custom claims given at exchange (placed under `nsec`, so any names are allowed):
/// at most [`MAX_JSON_DEPTH`] deep and [`MAX_EXCHANGE_CLAIMS_BYTES`] of JSON.
pub fn exchange_claims(claims: &Map<String, Value>) -> Result<(), ValidationError> {
    json_map("loginOptions.customClaims", claims, MAX_EXCHANGE_CLAIMS_BYTES)
}

/// Checks custom attributes: at most [`MAX_JSON_DEPTH`] deep and [`MAX_CUSTOM_ATTRIBUTES_BYTES`]
/// of JSON.
pub fn custom_attributes(attributes: &Map<String, Value>) -> Result<(), ValidationError> {
    json_map("customAttributes", attributes, MAX_CUSTOM_ATTRIBUTES_BYTES)
}

/// Checks permitted IPs: at most [`MAX_PERMITTED_IPS`], each an address or CIDR range, no duplicates.
pub fn permitted_ips(entries: &[String]) -> Result<(), ValidationError> {
    count("permittedIps", entries.len(), MAX_PERMITTED_IPS)?;
    let mut seen = HashSet::with_capacity(entries.len());
    for entry in entries {
        crate::ip::parse_rule(entry)?;
        if !seen.insert(entry.as_str()) {
            return Err(ValidationError::Duplicate {
                field: "permittedIps",
                value: entry.clone(),
            });
        }
    }
    Ok(())
}

/// Checks a batch of key ids: 1..=[`MAX_BATCH_IDS`], each valid, no duplicates.
pub fn batch(ids: &[String]) -> Result<(), ValidationError> {
    if ids.is_empty() {
        return Err(ValidationError::Empty { field: "ids" });
    }
    id_list("ids", ids, MAX_BATCH_IDS)
}

pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    max_chars(field, value, max)
}

pub(crate) fn max_chars(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    // Cheap upper bound first: a string of at most `max` bytes has at most `max` characters.
    if value.len() > max {
        let actual = value.chars().count();
        if actual > max {
            return Err(ValidationError::TooLong { field, max, actual });
        }
    }
    Ok(())
}

pub(crate) fn no_controls(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        return Err(ValidationError::ControlCharacter { field });
    }
    Ok(())
}

pub(crate) fn count(field: &'static str, actual: usize, max: usize) -> Result<(), ValidationError> {
    if actual > max {
        return Err(ValidationError::TooMany { field, max, actual });
    }
    Ok(())
}

/// Depth first, without recursion: a map built in code may nest deeper than any stack, and
/// serializing it to measure its size recurses once per level.
pub(crate) fn json_map(
    field: &'static str,
    map: &Map<String, Value>,
    max_bytes: usize,
) -> Result<(), ValidationError> {
    if depth_exceeds(map, MAX_JSON_DEPTH) {
        return Err(ValidationError::TooDeep {
            field,
            max: MAX_JSON_DEPTH,
        });
    }
    let actual = serialized_len(map);
    if actual > max_bytes {
        return Err(ValidationError::TooLong {
            field,
            max: max_bytes,
            actual,
        });
    }
    Ok(())
}

/// Whether `map` (one level itself) holds objects or arrays nested more than `max` levels deep.
/// Stops at the first level past `max`, so the work is bounded by the part it has to look at.
fn depth_exceeds(map: &Map<String, Value>, max: usize) -> bool {
    if max == 0 {
        return true;
    }
    // (children still to visit, depth of the container they are in)
    let mut stack: Vec<(Box<dyn Iterator<Item = &Value> + '_>, usize)> = vec![(Box::new(map.values()), 1)];
    while let Some((children, depth)) = stack.last_mut() {
        let depth = *depth;
        match children.next() {
            None => {
                stack.pop();
            }
            Some(Value::Object(_) | Value::Array(_)) if depth >= max => return true,
            Some(Value::Object(inner)) => stack.push((Box::new(inner.values()), depth + 1)),
            Some(Value::Array(inner)) => stack.push((Box::new(inner.iter()), depth + 1)),
            Some(_) => {}
        }
    }
    false
}

/// Length of the compact JSON encoding of `map`, without building the string.
fn serialized_len(map: &Map<String, Value>) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Map` into an in-memory counter cannot fail: keys are strings and values are JSON.
    let _ = serde_json::to_writer(&mut counter, map);
    counter.0
}
