//! The persistence contract for the sealed signing-key set.

use std::sync::Arc;

use crate::store::StoreError;

/// The id a [`StoreError::VersionConflict`] from
/// [`replace_signing_keys`](SigningKeyStore::replace_signing_keys) names.
pub const SIGNING_KEYS_RECORD_ID: &str = "signing-keys";

/// The sealed signing-key set as stored: opaque bytes and a version that increments on every
/// replace.
///
/// `Debug` shows only the version and the length of the sealed bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSigningKeys {
    /// The version: 1 after the first replace, incremented by every later one.
    pub version: u64,
    /// The sealed set, exactly as the last successful replace gave it.
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for StoredSigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSigningKeys")
            .field("version", &self.version)
            .field("sealed_len", &self.sealed.len())
            .finish()
    }
}

/// Persistence for the one sealed signing-key set of a store.
///
/// A backend implements it beside [`KeyStore`](crate::KeyStore) on the same storage, so every
/// process on one store signs and verifies with the same keys. The store never interprets the
/// bytes: sealing, the key-set format and rotation policy live in the `ak` facade.
/// `ak_testkit::signing_key_conformance!` checks every clause.
///
/// # Contract
///
/// * **Absent is `Ok(None)`.** [`load_signing_keys`](Self::load_signing_keys) returns `Ok(None)`
///   until the first successful replace; errors are for failures only.
/// * **Replace is compare-and-swap.** [`replace_signing_keys`](Self::replace_signing_keys) stores
///   `sealed` if and only if the stored version equals `expected` (`None`: nothing was ever
///   stored), and returns the new version: `1` for the first, the previous version plus one after
///   that. Otherwise it fails with [`StoreError::VersionConflict`] (`id` is
///   [`SIGNING_KEYS_RECORD_ID`], `expected` is the caller's `expected`, `0` for `None`) and
///   nothing changes.
/// * **Bytes round-trip exactly**, any length from empty to at least 1 MiB, any byte values.
/// * **Apart from every other record.** No access-key or management-key call reads or changes
///   the set, and no call here touches them.
/// * **Durability.** When a replace returns `Ok`, it survives a crash of the process and, for
///   on-disk stores, of the machine (the backend has synced it before returning); every later
///   load in any process on the store sees it (or a newer version).
/// * **Atomicity.** A replace that fails or is interrupted leaves the previous set and version
///   whole: a load never sees a torn set or a version without its bytes.
/// * **Concurrency.** Both methods take `&self` and may be called from many threads and
///   processes at once; each call is linearizable. Of racing replaces with one `expected`,
///   exactly one succeeds.
pub trait SigningKeyStore: std::fmt::Debug + Send + Sync {
    /// The stored set, or `Ok(None)` if none was ever stored.
    fn load_signing_keys(&self) -> Result<Option<StoredSigningKeys>, StoreError>;

    /// Compare-and-swap: stores `sealed` iff the stored version equals `expected` (`None` =
    /// nothing stored yet) and returns the new version (1 for the first); otherwise
    /// [`StoreError::VersionConflict`], and nothing changes.
    fn replace_signing_keys(&self, expected: Option<u64>, sealed: &[u8]) -> Result<u64, StoreError>;
}

macro_rules! forward_signing_key_store {
    ($($pointer:ty),*) => {$(
        impl<S: SigningKeyStore + ?Sized> SigningKeyStore for $pointer {
            fn load_signing_keys(&self) -> Result<Option<StoredSigningKeys>, StoreError> {
                (**self).load_signing_keys()
            }
            fn replace_signing_keys(&self, expected: Option<u64>, sealed: &[u8]) -> Result<u64, StoreError> {
                (**self).replace_signing_keys(expected, sealed)
            }
        }
    )*};
}
forward_signing_key_store!(Arc<S>, Box<S>, &S);

/// The [`StoreError::VersionConflict`] a replace returns when the stored version is not
/// `expected`.
pub fn signing_keys_conflict(expected: Option<u64>) -> StoreError {
    StoreError::VersionConflict {
        id: SIGNING_KEYS_RECORD_ID.to_owned(),
        expected: expected.unwrap_or(0),
    }
}
