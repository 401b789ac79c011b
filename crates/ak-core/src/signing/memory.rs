//! [`SigningKeyStore`] for [`MemoryKeyStore`].

use std::sync::PoisonError;

use super::store::{SigningKeyStore, StoredSigningKeys, signing_keys_conflict};
use crate::memory::MemoryKeyStore;
use crate::store::StoreError;

impl SigningKeyStore for MemoryKeyStore {
    fn load_signing_keys(&self) -> Result<Option<StoredSigningKeys>, StoreError> {
        Ok(self
            .signing
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn replace_signing_keys(&self, expected: Option<u64>, sealed: &[u8]) -> Result<u64, StoreError> {
        let mut stored = self.signing.write().unwrap_or_else(PoisonError::into_inner);
        let current = stored.as_ref().map(|keys| keys.version);
        if current != expected {
            return Err(signing_keys_conflict(expected));
        }
        let version = current.map_or(1, |version| version + 1);
        *stored = Some(StoredSigningKeys {
            version,
            sealed: sealed.to_vec(),
        });
        Ok(version)
    }
}
