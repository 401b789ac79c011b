//! An in-memory [`KeyStore`], for tests and for applications that keep keys elsewhere.

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::audit::memory::AuditLog;
use crate::management::ManagementKeyRecord;
use crate::model::{KeyRecord, KeyStatus};
use crate::query::{Page, SearchQuery};
use crate::signing::StoredSigningKeys;
use crate::store::{BackendErrorKind, KeyStore, StoreError};
use crate::webhook::WebhookRecord;

/// A [`KeyStore`] in a `BTreeMap` behind a read-write lock. Nothing survives the process; it is
/// "durable" only in the sense that a returned write is visible to every later call.
///
/// ```
/// use ak_core::{KeyStore, MemoryKeyStore, SearchQuery};
/// let store = MemoryKeyStore::new();
/// assert!(store.get("nope").unwrap().is_none());
/// assert!(store.search(&SearchQuery::default()).unwrap().items.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    records: RwLock<BTreeMap<String, KeyRecord>>,
    /// Management keys, apart from access keys (see [`crate::management`]).
    pub(crate) management: RwLock<BTreeMap<String, ManagementKeyRecord>>,
    /// Webhooks (see [`crate::webhook`]).
    pub(crate) webhooks: RwLock<BTreeMap<String, WebhookRecord>>,
    /// The sealed signing-key set (see [`crate::signing`]).
    pub(crate) signing: RwLock<Option<StoredSigningKeys>>,
    /// The audit trail (see [`crate::audit`]).
    pub(crate) audit: RwLock<AuditLog>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, BTreeMap<String, KeyRecord>>, StoreError> {
        self.records.read().map_err(|_| poisoned())
    }

    pub(crate) fn write(&self) -> Result<RwLockWriteGuard<'_, BTreeMap<String, KeyRecord>>, StoreError> {
        self.records.write().map_err(|_| poisoned())
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend {
        backend: "memory",
        kind: BackendErrorKind::Other,
        detail: "a thread panicked while holding the store lock".into(),
        source: None,
    }
}

/// The ids in `ids` that `records` does not hold, in order; `Err(NotFound)` if there are any.
fn require_all(records: &BTreeMap<String, KeyRecord>, ids: &[String]) -> Result<(), StoreError> {
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !records.contains_key(*id))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::NotFound { ids: missing })
    }
}

impl KeyStore for MemoryKeyStore {
    fn insert(&self, record: &KeyRecord) -> Result<(), StoreError> {
        let mut records = self.write()?;
        if records.contains_key(record.id()) {
            return Err(StoreError::AlreadyExists {
                id: record.id().to_owned(),
            });
        }
        let mut stored = record.clone();
        // Usage is written only through `KeyUsageStore`.
        stored.key.last_used_time = None;
        stored.key.last_used_ip = None;
        records.insert(record.id().to_owned(), stored);
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        Ok(self.read()?.get(id).cloned())
    }

    fn update(&self, record: &KeyRecord) -> Result<u64, StoreError> {
        let mut records = self.write()?;
        let Some(stored) = records.get_mut(record.id()) else {
            return Err(StoreError::NotFound {
                ids: vec![record.id().to_owned()],
            });
        };
        if stored.version != record.version {
            return Err(StoreError::VersionConflict {
                id: record.id().to_owned(),
                expected: record.version,
            });
        }
        let (last_used_time, last_used_ip) = (stored.key.last_used_time, stored.key.last_used_ip.take());
        *stored = record.clone();
        stored.version = record.version + 1;
        stored.key.last_used_time = last_used_time;
        stored.key.last_used_ip = last_used_ip;
        Ok(stored.version)
    }

    fn set_status(&self, ids: &[String], status: KeyStatus) -> Result<(), StoreError> {
        let mut records = self.write()?;
        require_all(&records, ids)?;
        for id in ids {
            if let Some(record) = records.get_mut(id) {
                record.key.status = status;
                record.version += 1;
            }
        }
        Ok(())
    }

    fn delete(&self, ids: &[String]) -> Result<(), StoreError> {
        let mut records = self.write()?;
        require_all(&records, ids)?;
        for id in ids {
            records.remove(id);
        }
        Ok(())
    }

    fn search(&self, query: &SearchQuery) -> Result<Page<KeyRecord>, StoreError> {
        let records = self.read()?;
        query.page_from_unsorted(records.values().cloned().map(Ok))
    }
}
