//! One audit event: what happened, to which keys, by whom, from where, and how it ended.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::limits::{MAX_AUDIT_ACTION_CHARS, MAX_AUDIT_DATA_BYTES, MAX_AUDIT_KEY_IDS, MAX_ID_CHARS};
use crate::store::{BackendErrorKind, StoreError};
use crate::validate::{self, ValidationError};

/// The action names ak records. Applications may record their own (any other name up to
/// [`MAX_AUDIT_ACTION_CHARS`]); names starting with one of ak's prefixes (`accesskey.`,
/// `managementkey.`, `signingkey.`, `webhook.`) are reserved for ak.
pub mod actions {
    /// An access key was created.
    pub const ACCESS_KEY_CREATE: &str = "accesskey.create";
    /// An access key was updated.
    pub const ACCESS_KEY_UPDATE: &str = "accesskey.update";
    /// Access keys were activated (one event per call, listing every id of the batch).
    pub const ACCESS_KEY_ACTIVATE: &str = "accesskey.activate";
    /// Access keys were deactivated (one event per call, listing every id of the batch).
    pub const ACCESS_KEY_DEACTIVATE: &str = "accesskey.deactivate";
    /// Access keys were deleted (one event per call, listing every id of the batch).
    pub const ACCESS_KEY_DELETE: &str = "accesskey.delete";
    /// An access key's secret was rotated.
    pub const ACCESS_KEY_ROTATE: &str = "accesskey.rotate";
    /// An access key was exchanged for a token.
    pub const ACCESS_KEY_EXCHANGE: &str = "accesskey.exchange";
    /// An exchange was refused; the event's reason says why (see [`reasons`](super::reasons)).
    pub const ACCESS_KEY_EXCHANGE_FAILED: &str = "accesskey.exchange.failed";
    /// A management key was created.
    pub const MANAGEMENT_KEY_CREATE: &str = "managementkey.create";
    /// A management key was deleted.
    pub const MANAGEMENT_KEY_DELETE: &str = "managementkey.delete";
    /// The signing keys were rotated (a new key staged or made current).
    pub const SIGNING_KEY_ROTATE: &str = "signingkey.rotate";
    /// A signing key was retired.
    pub const SIGNING_KEY_RETIRE: &str = "signingkey.retire";
    /// A signing key was imported.
    pub const SIGNING_KEY_IMPORT: &str = "signingkey.import";
    /// An access key entered the expiry warning window (recorded once per key and expiry time;
    /// `data.expireTime` is the key's expiry, Unix seconds).
    pub const ACCESS_KEY_EXPIRING: &str = "accesskey.expiring";
    /// A webhook was added (the webhook id is in `data.webhookId`; never its secret or URL).
    pub const WEBHOOK_CREATE: &str = "webhook.create";
    /// A webhook was deleted (`data.webhookId`).
    pub const WEBHOOK_DELETE: &str = "webhook.delete";
    /// A webhook delivery failed for good, after its retries (`data`: `webhookId`, `eventId`,
    /// `eventAction`, `attempts`, and the last HTTP `status` or an `error` class).
    pub const WEBHOOK_DELIVERY_FAILED: &str = "webhook.delivery.failed";
    /// Action-name prefixes reserved for ak's own events.
    pub const RESERVED_PREFIXES: &[&str] = &["accesskey.", "managementkey.", "signingkey.", "webhook."];
}

/// Why an operation failed, as recorded in [`AuditEvent::reason`].
pub mod reasons {
    /// The presented key is malformed, unknown, or its secret is wrong (one answer for all three).
    pub const INVALID: &str = "invalid";
    /// The key is deactivated.
    pub const INACTIVE: &str = "inactive";
    /// The key has expired.
    pub const EXPIRED: &str = "expired";
    /// The client address is outside the key's permitted IPs.
    pub const IP_DENIED: &str = "ip-denied";
    /// The user the key is bound to is missing or inactive.
    pub const USER_INACTIVE: &str = "user-inactive";
    /// The caller was rate limited.
    pub const RATE_LIMITED: &str = "rate-limited";
    /// The operation failed for another reason (a store error, for example).
    pub const ERROR: &str = "error";
}

/// How the recorded operation ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It succeeded.
    #[default]
    Success,
    /// It failed; [`AuditEvent::reason`] says why.
    Failure,
}

impl Outcome {
    /// The wire name: `"success"` or `"failure"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    /// Parses the wire name; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// One audit event. Never holds a secret, a token or a hash: the recording code only ever puts
/// ids, names, addresses and reasons in it.
///
/// JSON field names are camelCase; absent optional fields are left out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Unique id of the event, assigned when it is made ([`AuditEvent::new`]); it breaks ties of
    /// `occurred` in the search order and makes appends idempotent.
    pub id: String,
    /// When it happened, in Unix **milliseconds**.
    pub occurred: i64,
    /// What happened: one of [`actions`] or an application's own name.
    pub action: String,
    /// The access keys (or management keys, for `managementkey.*`) it concerns; may be empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_ids: Vec<String>,
    /// Who did it: a management key id, `cli:$USER`, an actor the library caller named, or for an
    /// exchange the key itself.
    #[serde(default)]
    pub actor: String,
    /// The client's address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
    /// Success or failure.
    #[serde(default)]
    pub outcome: Outcome,
    /// Why it failed (one of [`reasons`] for ak's events); `None` on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Tenants it concerns, when the recorder names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Free-form details (never secrets).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
}

impl AuditEvent {
    /// A successful event with a fresh unique id, at `occurred` (Unix ms), by `actor`.
    pub fn new(action: impl Into<String>, actor: impl Into<String>, occurred: i64) -> Self {
        Self {
            id: next_event_id(),
            occurred,
            action: action.into(),
            key_ids: Vec::new(),
            actor: actor.into(),
            client_address: None,
            outcome: Outcome::Success,
            reason: None,
            tenants: Vec::new(),
            data: Map::new(),
        }
    }

    /// The same event about these keys.
    pub fn with_keys(mut self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.key_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The same event from this client address.
    pub fn with_client(mut self, address: Option<String>) -> Self {
        self.client_address = address;
        self
    }

    /// The same event as a failure for `reason`.
    pub fn failed(mut self, reason: impl Into<String>) -> Self {
        self.outcome = Outcome::Failure;
        self.reason = Some(reason.into());
        self
    }

    /// The same event with one more `data` entry.
    pub fn with_data(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.data.insert(name.into(), value.into());
        self
    }

    /// Checks an event an application asks to record: action 1..=[`MAX_AUDIT_ACTION_CHARS`]
    /// without control characters and not in ak's [reserved](actions::RESERVED_PREFIXES)
    /// namespace, actor and ids valid identifiers, at most [`MAX_AUDIT_KEY_IDS`] key ids and
    /// tenants, `data` at most [`MAX_AUDIT_DATA_BYTES`] of JSON.
    pub fn validate_application_event(&self) -> Result<(), ValidationError> {
        validate::text("action", &self.action, MAX_AUDIT_ACTION_CHARS)?;
        validate::no_controls("action", &self.action)?;
        if actions::RESERVED_PREFIXES
            .iter()
            .any(|prefix| self.action.starts_with(prefix))
        {
            return Err(ValidationError::ReservedAction {
                action: self.action.clone(),
            });
        }
        validate::id("actorId", &self.actor)?;
        validate::id_list("userIds", &self.key_ids, MAX_AUDIT_KEY_IDS)?;
        validate::id_list("tenants", &self.tenants, MAX_AUDIT_KEY_IDS)?;
        if let Some(address) = &self.client_address {
            validate::max_chars("remoteAddress", address, MAX_ID_CHARS)?;
        }
        validate::json_map("data", &self.data, MAX_AUDIT_DATA_BYTES)
    }

    /// The event as the JSON a store keeps for it; an encoding failure is a
    /// [`StoreError::Backend`] of `backend` (the store's name, `"sqlite"`, ...). Every store that
    /// keeps audit events as JSON writes them through this and reads them back with
    /// [`AuditEvent::from_stored_json`].
    pub fn to_stored_json(&self, backend: &'static str) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|err| StoreError::Backend {
            backend,
            kind: BackendErrorKind::Other,
            detail: format!("audit event {}: encoding", self.id),
            source: Some(Box::new(err)),
        })
    }

    /// Decodes an event stored as JSON under `id`: [`StoreError::Corrupt`] naming `id` when the
    /// bytes are not an event, or are the event of another id.
    pub fn from_stored_json(id: &str, json: &[u8]) -> Result<Self, StoreError> {
        StoreError::decode_stored_json(id, json, ("audit event", "audit event"), |event: &Self| &event.id)
    }
}

/// A process-unique, practically globally unique event id: 64 random bits drawn once per process,
/// then a counter, as 32 hex digits. Cheap enough for the exchange path (no system call).
pub fn next_event_id() -> String {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let process = *PROCESS.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // On a failing OS generator, fall back to time and pid: ids only need to be unique.
        if crate::random::RandomSource::fill_bytes(&crate::random::OsRandom, &mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos());
            let low = u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(0);
            bytes = (u64::from(std::process::id()) ^ low).to_be_bytes();
        }
        u64::from_be_bytes(bytes)
    });
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{process:016x}{count:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_json_round_trips_and_damage_is_corrupt() {
        let event = AuditEvent::new(actions::ACCESS_KEY_CREATE, "cli:alice", 5)
            .with_keys(["K1"])
            .with_data("n", 1);
        let json = event.to_stored_json("test").unwrap();
        assert_eq!(
            AuditEvent::from_stored_json(&event.id, json.as_bytes()).unwrap(),
            event
        );
        let other = AuditEvent::from_stored_json("other", json.as_bytes());
        assert!(
            matches!(&other, Err(StoreError::Corrupt { id: Some(id), source: None, .. }) if id == "other"),
            "{other:?}"
        );
        let undecodable = AuditEvent::from_stored_json("e1", b"{\"id\":1}");
        assert!(
            matches!(&undecodable, Err(StoreError::Corrupt { id: Some(id), source: Some(_), .. }) if id == "e1"),
            "{undecodable:?}"
        );
    }
}
