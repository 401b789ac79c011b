//! The persistence contract every backend implements.

use std::sync::Arc;

use crate::decoy::DecoyRecord;
use crate::model::{KeyRecord, KeyStatus};
use crate::query::{Page, SearchQuery};

/// A boxed error kept as the source of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Persistence for access-key records.
///
/// # Contract
///
/// Every implementation upholds all of the following; `ak_testkit::keystore_conformance!` checks
/// each clause, and `ak_testkit::model` runs random operation sequences against a `BTreeMap` model.
///
/// * **Absent is `Ok(None)`.** [`get`](Self::get) of an unknown id is `Ok(None)`; errors are for
///   conflicts and failures only.
/// * **Insert is create-only.** [`insert`](Self::insert) stores the record exactly as given
///   (including its `version`) or fails with [`StoreError::AlreadyExists`] and changes nothing.
/// * **Update is compare-and-swap.** [`update`](Self::update) replaces the record with the same id
///   only if the stored version equals `record.version`; the stored copy then has version
///   `record.version + 1`, which is returned. Otherwise [`StoreError::VersionConflict`] (or
///   [`StoreError::NotFound`] when there is no such record) and nothing changes.
/// * **Batches are atomic.** [`set_status`](Self::set_status) and [`delete`](Self::delete) act on
///   every id or on none: if any id is unknown they fail with [`StoreError::NotFound`] listing
///   every unknown id (in the order given) and change nothing. `set_status` increments the version
///   of every record it touches, even one already in the requested status, so a concurrent update
///   that read the old status fails its compare-and-swap instead of undoing a revocation.
/// * **Search is a stable, paged scan.** [`search`](Self::search) returns the records for which
///   [`SearchQuery::matches`] holds, in [`SearchQuery::compare`] order (ties broken by id), starting
///   after the query's cursor, at most `limit` of them, and a next cursor exactly when more remain.
///   Indexes may narrow the candidates, but the result must equal the filter applied to every record.
/// * **A damaged record never hides the others.** A stored record (or index entry) that cannot be
///   decoded is passed over by [`search`](Self::search) and listed in [`Page::skipped`] (with its
///   id when known); it is never a result, and the search of every other record still succeeds.
///   [`get`](Self::get) of it fails with [`StoreError::Corrupt`] naming the id, writes that must
///   read it ([`update`](Self::update), [`set_status`](Self::set_status)) fail the same way and
///   change nothing, and [`delete`](Self::delete) removes it with every index entry that names it.
/// * **Durability.** When a write returns `Ok`, it survives a crash of the process and, for
///   on-disk stores, a crash or power loss of the machine: the backend has `fsync`ed (or
///   `fdatasync`ed) what it wrote before it returns. A revocation is durable when the call
///   returns: a deactivate or delete that returned `Ok` is never undone.
/// * **Atomicity.** A write that fails, or is interrupted by a crash, leaves no partial record and
///   no index entry without its record.
/// * **Concurrency.** All methods take `&self` and may be called from many threads at once; each
///   call is linearizable. Two racing inserts of one id: exactly one succeeds. Two racing updates
///   of one version: exactly one succeeds.
///
/// Stores hold no policy: expiry, status checks, hashing and validation live in
/// [`KeyManager`](crate::KeyManager). Ids reaching a store are untrusted input and must be bound as
/// parameters, never spliced into queries.
pub trait KeyStore: std::fmt::Debug + Send + Sync {
    /// Stores a new record; [`StoreError::AlreadyExists`] if its id is taken.
    fn insert(&self, record: &KeyRecord) -> Result<(), StoreError>;

    /// Loads the record with this id, or `Ok(None)`.
    fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError>;

    /// Replaces the record whose stored version equals `record.version`; returns the new version.
    fn update(&self, record: &KeyRecord) -> Result<u64, StoreError>;

    /// Sets the status of every listed key, atomically.
    fn set_status(&self, ids: &[String], status: KeyStatus) -> Result<(), StoreError>;

    /// Deletes every listed key, atomically.
    fn delete(&self, ids: &[String]) -> Result<(), StoreError>;

    /// One page of the records matching `query`.
    fn search(&self, query: &SearchQuery) -> Result<Page<KeyRecord>, StoreError>;

    /// Does on `decoy` the work a [`get`](Self::get) that finds a record does beyond one that
    /// finds nothing (decoding the record), and throws the result away. The key manager calls it
    /// when a presented key's id is unknown, so that an unknown id costs what a wrong secret does
    /// and the time of a failure does not tell which ids exist (see [`DecoyRecord`]). The default
    /// does nothing: right for a store whose lookups cost the same found or not.
    fn decode_decoy(&self, decoy: &DecoyRecord) {
        let _ = decoy;
    }
}

macro_rules! forward_key_store {
    ($($pointer:ty),*) => {$(
        impl<S: KeyStore + ?Sized> KeyStore for $pointer {
            fn insert(&self, record: &KeyRecord) -> Result<(), StoreError> { (**self).insert(record) }
            fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> { (**self).get(id) }
            fn update(&self, record: &KeyRecord) -> Result<u64, StoreError> { (**self).update(record) }
            fn set_status(&self, ids: &[String], status: KeyStatus) -> Result<(), StoreError> {
                (**self).set_status(ids, status)
            }
            fn delete(&self, ids: &[String]) -> Result<(), StoreError> { (**self).delete(ids) }
            fn search(&self, query: &SearchQuery) -> Result<Page<KeyRecord>, StoreError> { (**self).search(query) }
            fn decode_decoy(&self, decoy: &DecoyRecord) { (**self).decode_decoy(decoy) }
        }
    )*};
}
forward_key_store!(Arc<S>, Box<S>, &S);

/// What kind of backend failure a [`StoreError::Backend`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The storage is read-only (file permissions, read-only mount).
    ReadOnly,
    /// The disk or database is full.
    StorageFull,
    /// Another connection holds a lock for longer than the busy timeout.
    Locked,
    /// Another process has the store open and the backend allows only one.
    InUse,
    /// The storage is not an ak store, is from a newer ak, or is not this backend's format.
    Incompatible,
    /// An I/O error.
    Io,
    /// The storage server cannot be reached, is shutting down, or dropped the connection; a later
    /// call may succeed (a network store reconnects on its own).
    Unavailable,
    /// Every connection of the store's pool stayed in use for longer than the checkout timeout.
    PoolExhausted,
    /// The storage server refused access: authentication failed, an unknown role or database, or
    /// a missing privilege.
    Denied,
    /// Anything else the backend reported.
    Other,
}

impl std::fmt::Display for BackendErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ReadOnly => "storage is read-only",
            Self::StorageFull => "storage is full",
            Self::Locked => "storage is locked",
            Self::InUse => "store in use by another process",
            Self::Incompatible => "not a compatible ak store",
            Self::Io => "I/O error",
            Self::Unavailable => "storage server unavailable",
            Self::PoolExhausted => "connection pool exhausted",
            Self::Denied => "access denied by the storage server",
            Self::Other => "backend error",
        })
    }
}

/// The one error type every [`KeyStore`] returns. Sources are kept, never flattened to strings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record with this id already exists.
    #[error("access key {id} already exists")]
    AlreadyExists {
        /// The id.
        id: String,
    },
    /// No record has these ids.
    #[error("access key not found: {}", ids.join(", "))]
    NotFound {
        /// Every unknown id, in the order given.
        ids: Vec<String>,
    },
    /// The stored version was not the expected one: someone else wrote first.
    #[error("access key {id} changed concurrently (expected version {expected})")]
    VersionConflict {
        /// The id.
        id: String,
        /// The version the caller read.
        expected: u64,
    },
    /// A stored record or index entry could not be decoded or is inconsistent.
    #[error("corrupt record{}: {reason}", id.as_ref().map(|id| format!(" {id}")).unwrap_or_default())]
    Corrupt {
        /// The record's id, when known.
        id: Option<String>,
        /// What is wrong.
        reason: String,
        /// The decoding error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The backend failed.
    #[error("{backend} store: {kind}: {detail}")]
    Backend {
        /// Which backend (`"sqlite"`, `"sled"`, ...).
        backend: &'static str,
        /// The kind of failure.
        kind: BackendErrorKind,
        /// Context, such as the path of the store.
        detail: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// A [`StoreError::Corrupt`] without a source.
    pub fn corrupt(id: Option<&str>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            id: id.map(str::to_owned),
            reason: reason.into(),
            source: None,
        }
    }

    /// Decodes a record stored as JSON under `id`: [`StoreError::Corrupt`] naming `id` when the
    /// bytes are not one (`"undecodable {what}"`), or are the record of another id, as
    /// `stored_id` reads it (`"the stored {kind} is for id ..."`). The `from_stored_json` of
    /// every record kind a store keeps as JSON is this.
    pub(crate) fn decode_stored_json<T: serde::de::DeserializeOwned>(
        id: &str,
        json: &[u8],
        labels: (&str, &str),
        stored_id: impl FnOnce(&T) -> &str,
    ) -> Result<T, Self> {
        Self::check_stored(id, serde_json::from_slice(json), labels, stored_id)
    }

    /// [`decode_stored_json`](Self::decode_stored_json) of a body that is already a `str`: the
    /// same record or the same error, without checking again, string by string, that the text
    /// is UTF-8 (`from_slice` must; `from_str` knows it is).
    pub(crate) fn decode_stored_json_str<T: serde::de::DeserializeOwned>(
        id: &str,
        json: &str,
        labels: (&str, &str),
        stored_id: impl FnOnce(&T) -> &str,
    ) -> Result<T, Self> {
        Self::check_stored(id, serde_json::from_str(json), labels, stored_id)
    }

    fn check_stored<T>(
        id: &str,
        parsed: serde_json::Result<T>,
        (what, kind): (&str, &str),
        stored_id: impl FnOnce(&T) -> &str,
    ) -> Result<T, Self> {
        let record: T = parsed.map_err(|err| Self::Corrupt {
            id: Some(id.to_owned()),
            reason: format!("undecodable {what}"),
            source: Some(Box::new(err)),
        })?;
        let stored = stored_id(&record);
        if stored != id {
            return Err(Self::corrupt(
                Some(id),
                format!("the stored {kind} is for id {stored:?}"),
            ));
        }
        Ok(record)
    }

    /// The backend failure kind, if this is a [`StoreError::Backend`].
    pub fn backend_kind(&self) -> Option<BackendErrorKind> {
        match self {
            Self::Backend { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
