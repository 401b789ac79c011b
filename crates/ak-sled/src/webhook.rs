//! [`WebhookStore`] on sled: the tree `ak/webhooks`, one value per webhook.

use ak_core::StoreError;
use ak_core::webhook::{WebhookRecord, WebhookStore};

use crate::{BACKEND, SledKeyStore, layout};

/// The format byte in front of every management-key value.
const WEBHOOK_FORMAT: u8 = 1;

fn encode(record: &WebhookRecord) -> Result<Vec<u8>, StoreError> {
    let mut bytes = vec![WEBHOOK_FORMAT];
    serde_json::to_writer(&mut bytes, record).map_err(|err| StoreError::Backend {
        backend: BACKEND,
        kind: ak_core::BackendErrorKind::Other,
        detail: format!("webhook {}: encoding the record", record.id()),
        source: Some(Box::new(err)),
    })?;
    Ok(bytes)
}

fn decode(id: &str, bytes: &[u8]) -> Result<WebhookRecord, StoreError> {
    let Some((&WEBHOOK_FORMAT, body)) = bytes.split_first() else {
        return Err(StoreError::corrupt(
            Some(id),
            format!("unknown webhook format {:?}", bytes.first()),
        ));
    };
    WebhookRecord::from_stored_json(id, body)
}

impl SledKeyStore {
    fn webhook_tree(&self) -> Result<sled::Tree, StoreError> {
        self.db
            .open_tree(layout::WEBHOOKS)
            .map_err(|err| self.error("opening the webhooks", err))
    }

    /// The same durability as every other write: flush, then `fsync` (see [`crate::disk_sync`]).
    fn flush_webhooks(&self, op: &str) -> Result<(), StoreError> {
        self.make_durable(op)
    }
}

impl WebhookStore for SledKeyStore {
    fn insert_webhook(&self, record: &WebhookRecord) -> Result<(), StoreError> {
        let encoded = encode(record)?;
        let swapped = self
            .webhook_tree()?
            .compare_and_swap(record.id().as_bytes(), None::<&[u8]>, Some(encoded))
            .map_err(|err| self.error("inserting a webhook", err))?;
        if swapped.is_err() {
            return Err(StoreError::AlreadyExists {
                id: record.id().to_owned(),
            });
        }
        self.flush_webhooks("inserting a webhook")
    }

    fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        match self.webhook_tree()?.get(id.as_bytes()) {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => decode(id, &bytes).map(Some),
            Err(err) => Err(self.error("reading a webhook", err)),
        }
    }

    fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        let tree = self.webhook_tree()?;
        let mut records = Vec::new();
        for item in tree.iter() {
            let (key, value) = item.map_err(|err| self.error("listing webhooks", err))?;
            let id = std::str::from_utf8(&key)
                .map_err(|_| StoreError::corrupt(None, format!("a webhook id is not UTF-8: {key:?}")))?;
            records.push(decode(id, &value)?);
        }
        Ok(records)
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let removed = self
            .webhook_tree()?
            .remove(id.as_bytes())
            .map_err(|err| self.error("deleting a webhook", err))?;
        if removed.is_some() {
            self.flush_webhooks("deleting a webhook")?;
        }
        Ok(removed.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_values_are_corrupt_not_panics() {
        for bytes in [&b""[..], b"\x02{}", b"\x01not json", b"\x01{\"webhook\":1}"] {
            assert!(
                matches!(decode("k", bytes), Err(StoreError::Corrupt { .. })),
                "{bytes:?}"
            );
        }
    }
}
