//! The management-key model.

use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// A management key as administrators see it. It never holds the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementKey {
    /// Public, unique, unguessable id.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// A read-only key may only read access keys (load and search).
    pub read_only: bool,
    /// When the key was created (Unix seconds).
    pub created_time: i64,
    /// Who created it (`""` when unknown).
    #[serde(default)]
    pub created_by: String,
}

/// What a [`ManagementKeyStore`](super::ManagementKeyStore) persists for one management key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementKeyRecord {
    /// The key.
    pub key: ManagementKey,
    /// Argon2id PHC string of its secret.
    pub secret_hash: String,
}

impl ManagementKeyRecord {
    /// The record's key id.
    pub fn id(&self) -> &str {
        &self.key.id
    }

    /// Decodes a record stored as JSON under `id`: [`StoreError::Corrupt`] naming `id` when the
    /// bytes are not a record, or are the record of another id. Every store that keeps
    /// management keys as JSON reads them through this.
    pub fn from_stored_json(id: &str, json: &[u8]) -> Result<Self, StoreError> {
        StoreError::decode_stored_json(
            id,
            json,
            ("management key record", "management key"),
            |record: &Self| &record.key.id,
        )
    }
}

impl std::fmt::Debug for ManagementKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagementKeyRecord")
            .field("key", &self.key)
            .field("secret_hash", &"[argon2id]")
            .finish()
    }
}
