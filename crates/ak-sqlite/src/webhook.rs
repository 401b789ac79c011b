//! [`WebhookStore`] on SQLite: the `webhooks` table.

use ak_core::StoreError;
use ak_core::webhook::{WebhookRecord, WebhookStore};

use crate::json_table::JsonTable;
use crate::store::SqliteKeyStore;

const TABLE: JsonTable = JsonTable {
    table: "webhooks",
    kind: "webhook",
};

fn decode(id: &str, body: &str) -> Result<WebhookRecord, StoreError> {
    WebhookRecord::from_stored_json(id, body.as_bytes())
}

impl WebhookStore for SqliteKeyStore {
    fn insert_webhook(&self, record: &WebhookRecord) -> Result<(), StoreError> {
        TABLE.insert(self, record.id(), record)
    }

    fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        TABLE.get(self, id, decode)
    }

    fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        TABLE.list(self, decode)
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        TABLE.delete(self, id)
    }
}
