//! [`WebhookStore`] for [`MemoryKeyStore`].

use std::sync::PoisonError;

use super::model::WebhookRecord;
use super::store::WebhookStore;
use crate::memory::MemoryKeyStore;
use crate::store::StoreError;

impl WebhookStore for MemoryKeyStore {
    fn insert_webhook(&self, record: &WebhookRecord) -> Result<(), StoreError> {
        let mut records = self.webhooks.write().unwrap_or_else(PoisonError::into_inner);
        if records.contains_key(record.id()) {
            return Err(StoreError::AlreadyExists {
                id: record.id().to_owned(),
            });
        }
        records.insert(record.id().to_owned(), record.clone());
        Ok(())
    }

    fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let records = self.webhooks.read().unwrap_or_else(PoisonError::into_inner);
        Ok(records.get(id).cloned())
    }

    fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        let records = self.webhooks.read().unwrap_or_else(PoisonError::into_inner);
        Ok(records.values().cloned().collect())
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let mut records = self.webhooks.write().unwrap_or_else(PoisonError::into_inner);
        Ok(records.remove(id).is_some())
    }
}
