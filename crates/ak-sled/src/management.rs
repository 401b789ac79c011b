//! [`ManagementKeyStore`] on sled: the tree `ak/management-keys`, one value per key.

use ak_core::StoreError;
use ak_core::management::{ManagementKeyRecord, ManagementKeyStore};

use crate::{BACKEND, SledKeyStore, layout};

/// The format byte in front of every management-key value.
const MANAGEMENT_FORMAT: u8 = 1;

fn encode(record: &ManagementKeyRecord) -> Result<Vec<u8>, StoreError> {
    let mut bytes = vec![MANAGEMENT_FORMAT];
    serde_json::to_writer(&mut bytes, record).map_err(|err| StoreError::Backend {
        backend: BACKEND,
        kind: ak_core::BackendErrorKind::Other,
        detail: format!("management key {}: encoding the record", record.id()),
        source: Some(Box::new(err)),
    })?;
    Ok(bytes)
}

fn decode(id: &str, bytes: &[u8]) -> Result<ManagementKeyRecord, StoreError> {
    let Some((&MANAGEMENT_FORMAT, body)) = bytes.split_first() else {
        return Err(StoreError::corrupt(
            Some(id),
            format!("unknown management key format {:?}", bytes.first()),
        ));
    };
    ManagementKeyRecord::from_stored_json(id, body)
}

impl SledKeyStore {
    fn management_tree(&self) -> Result<sled::Tree, StoreError> {
        self.db
            .open_tree(layout::MANAGEMENT_KEYS)
            .map_err(|err| self.error("opening the management keys", err))
    }

    /// The same durability as every other write: flush, then `fsync` (see [`crate::disk_sync`]).
    fn flush_management(&self, op: &str) -> Result<(), StoreError> {
        self.make_durable(op)
    }
}

impl ManagementKeyStore for SledKeyStore {
    fn insert_management_key(&self, record: &ManagementKeyRecord) -> Result<(), StoreError> {
        let encoded = encode(record)?;
        let swapped = self
            .management_tree()?
            .compare_and_swap(record.id().as_bytes(), None::<&[u8]>, Some(encoded))
            .map_err(|err| self.error("inserting a management key", err))?;
        if swapped.is_err() {
            return Err(StoreError::AlreadyExists {
                id: record.id().to_owned(),
            });
        }
        self.flush_management("inserting a management key")
    }

    fn get_management_key(&self, id: &str) -> Result<Option<ManagementKeyRecord>, StoreError> {
        match self.management_tree()?.get(id.as_bytes()) {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => decode(id, &bytes).map(Some),
            Err(err) => Err(self.error("reading a management key", err)),
        }
    }

    fn list_management_keys(&self) -> Result<Vec<ManagementKeyRecord>, StoreError> {
        let tree = self.management_tree()?;
        let mut records = Vec::new();
        for item in tree.iter() {
            let (key, value) = item.map_err(|err| self.error("listing management keys", err))?;
            let id = std::str::from_utf8(&key).map_err(|_| {
                StoreError::corrupt(None, format!("a management key id is not UTF-8: {key:?}"))
            })?;
            records.push(decode(id, &value)?);
        }
        Ok(records)
    }

    fn delete_management_key(&self, id: &str) -> Result<bool, StoreError> {
        let removed = self
            .management_tree()?
            .remove(id.as_bytes())
            .map_err(|err| self.error("deleting a management key", err))?;
        if removed.is_some() {
            self.flush_management("deleting a management key")?;
        }
        Ok(removed.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_values_are_corrupt_not_panics() {
        for bytes in [&b""[..], b"\x02{}", b"\x01not json", b"\x01{\"key\":1}"] {
            assert!(
                matches!(decode("k", bytes), Err(StoreError::Corrupt { .. })),
                "{bytes:?}"
            );
        }
    }
}
