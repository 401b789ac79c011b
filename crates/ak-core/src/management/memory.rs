//! [`ManagementKeyStore`] for [`MemoryKeyStore`].

use std::sync::PoisonError;

use super::model::ManagementKeyRecord;
use super::store::ManagementKeyStore;
use crate::memory::MemoryKeyStore;
use crate::store::StoreError;

impl ManagementKeyStore for MemoryKeyStore {
    fn insert_management_key(&self, record: &ManagementKeyRecord) -> Result<(), StoreError> {
        let mut records = self.management.write().unwrap_or_else(PoisonError::into_inner);
        if records.contains_key(record.id()) {
            return Err(StoreError::AlreadyExists {
                id: record.id().to_owned(),
            });
        }
        records.insert(record.id().to_owned(), record.clone());
        Ok(())
    }

    fn get_management_key(&self, id: &str) -> Result<Option<ManagementKeyRecord>, StoreError> {
        let records = self.management.read().unwrap_or_else(PoisonError::into_inner);
        Ok(records.get(id).cloned())
    }

    fn list_management_keys(&self) -> Result<Vec<ManagementKeyRecord>, StoreError> {
        let records = self.management.read().unwrap_or_else(PoisonError::into_inner);
        Ok(records.values().cloned().collect())
    }

    fn delete_management_key(&self, id: &str) -> Result<bool, StoreError> {
        let mut records = self.management.write().unwrap_or_else(PoisonError::into_inner);
        Ok(records.remove(id).is_some())
    }
}
