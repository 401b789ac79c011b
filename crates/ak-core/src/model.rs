//! The access-key domain model, with Descope's JSON names (camelCase) and semantics.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::store::StoreError;

/// Whether a key may be used. New keys are [`KeyStatus::Active`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// The key authenticates (if also unexpired and permitted).
    #[default]
    Active,
    /// The key is revoked until activated again; it never yields a token.
    Inactive,
}

impl KeyStatus {
    /// The wire name: `"active"` or `"inactive"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }

    /// Parses the wire name; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

/// A tenant a key belongs to, with the key's roles in that tenant (Descope's `AssociatedTenant`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyTenant {
    /// The tenant's id.
    pub tenant_id: String,
    /// The key's role names within this tenant.
    #[serde(default, deserialize_with = "crate::wire::null_as_default")]
    pub role_names: Vec<String>,
}

impl KeyTenant {
    /// A tenant association with the given roles.
    pub fn new(
        tenant_id: impl Into<String>,
        role_names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            role_names: role_names.into_iter().map(Into::into).collect(),
        }
    }
}

/// An access key as it is shown to administrators (Descope's `AccessKeyResponse`).
///
/// It never holds the secret. Times are Unix seconds; `expireTime` is `0` on the wire when the key
/// never expires, and `boundUserId` is `""` when the key is not bound to a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    /// Public, unique, unguessable id; also the `sub` of the tokens it yields.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Free-text description (`""` when none).
    #[serde(default)]
    pub description: String,
    /// Project-level role names, used when the key has no tenants.
    #[serde(default)]
    pub role_names: Vec<String>,
    /// Tenants and the key's roles in each; mutually exclusive with `role_names`.
    #[serde(default)]
    pub key_tenants: Vec<KeyTenant>,
    /// Active or inactive.
    pub status: KeyStatus,
    /// When the key was created (Unix seconds).
    pub created_time: i64,
    /// When the key expires (Unix seconds); `None` means never (`0` on the wire).
    #[serde(default, with = "crate::wire::zero_is_none")]
    pub expire_time: Option<i64>,
    /// Who created the key (`""` when unknown).
    #[serde(default)]
    pub created_by: String,
    /// The user the key is bound to, if any (`""` on the wire when none).
    #[serde(default, with = "crate::wire::empty_is_none")]
    pub bound_user_id: Option<String>,
    /// Claims placed at the top level of every token this key yields.
    #[serde(default)]
    pub custom_claims: Map<String, Value>,
    /// The application's own attributes, searchable, never put in tokens.
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    /// IP addresses and CIDR ranges allowed to use the key; empty means any address.
    #[serde(default)]
    pub permitted_ips: Vec<String>,
    /// When the key was last exchanged (Unix seconds), to the tracker's granularity (see
    /// [`usage`](crate::usage)); absent when never used. Stores fill it in; create and update
    /// never set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_time: Option<i64>,
    /// The client address of the last exchange, when known; absent when never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ip: Option<String>,
}

impl AccessKey {
    /// True when the key has an expiry and `now` has reached it.
    pub fn is_expired_at(&self, now: i64) -> bool {
        self.expire_time.is_some_and(|expiry| now >= expiry)
    }

    /// The ids of the key's tenants, in the key's order.
    pub fn tenant_ids(&self) -> impl Iterator<Item = &str> {
        self.key_tenants.iter().map(|tenant| tenant.tenant_id.as_str())
    }
}

/// The previous secret of a rotated key, still accepted until `valid_until`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraceSecret {
    /// Argon2id PHC string of the previous secret.
    pub secret_hash: String,
    /// The previous secret is refused from this instant on (Unix seconds).
    pub valid_until: i64,
}

/// What a [`KeyStore`](crate::KeyStore) persists for one key: the public key, the hash of its
/// secret, and the record version used for compare-and-swap updates.
///
/// The hashes are argon2id PHC strings of 256-bit random secrets: not secret themselves, but they
/// are still left out of `Debug` output to keep logs small and boring.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    /// The key as administrators see it.
    pub key: AccessKey,
    /// Argon2id PHC string of the current secret.
    pub secret_hash: String,
    /// The previous secret during a rotation grace period.
    #[serde(default)]
    pub previous_secret: Option<GraceSecret>,
    /// Record version; every successful write increments it.
    pub version: u64,
}

impl KeyRecord {
    /// The record's key id.
    pub fn id(&self) -> &str {
        &self.key.id
    }

    /// Decodes a record body stored as JSON under `id`: [`StoreError::Corrupt`] naming `id` when
    /// the bytes are not a record, or are the record of another id. The version and last-used
    /// fields are as the body has them; stores that keep those apart set them afterwards.
    pub fn from_stored_json(id: &str, json: &[u8]) -> Result<Self, StoreError> {
        StoreError::decode_stored_json(id, json, RECORD_LABELS, |record: &Self| &record.key.id)
    }

    /// [`from_stored_json`](Self::from_stored_json) of a body the store already holds as text
    /// (a SQLite or PostgreSQL `TEXT` column, checked as UTF-8 by the driver): the same record or
    /// the same error, without serde_json checking every string of it for UTF-8 again. The read
    /// of every authentication decodes one body, so this is on the exchange path.
    pub fn from_stored_str(id: &str, json: &str) -> Result<Self, StoreError> {
        StoreError::decode_stored_json_str(id, json, RECORD_LABELS, |record: &Self| &record.key.id)
    }
}

/// What [`KeyRecord::from_stored_json`] calls a record body in its errors.
const RECORD_LABELS: (&str, &str) = ("record body", "body");

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("key", &self.key)
            .field("secret_hash", &"[argon2id]")
            .field(
                "previous_secret",
                &self.previous_secret.as_ref().map(|grace| grace.valid_until),
            )
            .field("version", &self.version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(id: &str) -> String {
        serde_json::json!({
            "key": {
                "id": id, "name": "n", "roleNames": ["r"], "status": "active", "createdTime": 5,
                "customClaims": {"plan": "gold", "note": "é\u{1F600}\\\"", "n": [1, {"a": null}]},
                "unknownField": ["kept out", "ignored"],
            },
            "secretHash": "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA",
            "version": 3,
        })
        .to_string()
    }

    /// `from_stored_str` is `from_stored_json` of the same text: the same record, and for a body
    /// of another id or an undecodable one, the same `Corrupt` error.
    #[test]
    fn stored_str_decodes_as_stored_json_does() {
        let cases = [
            ("k1", body("k1")),
            ("k2", body("k1")),
            ("k1", "{\"key\":1}".to_owned()),
            ("k1", String::new()),
            ("k1", format!("{} trailing", body("k1"))),
        ];
        for (id, text) in &cases {
            let from_str = KeyRecord::from_stored_str(id, text);
            let from_bytes = KeyRecord::from_stored_json(id, text.as_bytes());
            match (&from_str, &from_bytes) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (
                    Err(StoreError::Corrupt {
                        id: a_id,
                        reason: a,
                        source: a_source,
                    }),
                    Err(StoreError::Corrupt {
                        id: b_id,
                        reason: b,
                        source: b_source,
                    }),
                ) => {
                    assert_eq!((a_id, a), (b_id, b), "{text}");
                    assert_eq!(
                        a_source.as_ref().map(ToString::to_string),
                        b_source.as_ref().map(ToString::to_string),
                        "{text}"
                    );
                }
                _ => panic!("{text}: from_stored_str {from_str:?}, from_stored_json {from_bytes:?}"),
            }
        }
        let record = KeyRecord::from_stored_str("k1", &body("k1")).unwrap();
        assert_eq!(record.key.custom_claims["note"], "é\u{1F600}\\\"");
        assert_eq!(record.version, 3);
    }
}
