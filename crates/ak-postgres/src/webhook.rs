//! [`WebhookStore`] on PostgreSQL: the `webhooks` table.

use ak_core::webhook::{WebhookRecord, WebhookStore};
use ak_core::{BackendErrorKind, StoreError};

use crate::error::backend;
use crate::keys::storable;
use crate::store::PgStore;

impl WebhookStore for PgStore {
    fn insert_webhook(&self, record: &WebhookRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(record).map_err(|err| {
            backend(
                BackendErrorKind::Other,
                format!("webhook {}: encoding the record", record.id()),
                Some(Box::new(err)),
            )
        })?;
        let sql = format!(
            "INSERT INTO {} (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            self.table("webhooks")
        );
        self.write("insert webhook", |tx| {
            if tx.execute(&sql, &[&record.id(), &body])? == 0 {
                return Err(StoreError::AlreadyExists {
                    id: record.id().to_owned(),
                }
                .into());
            }
            Ok(())
        })
    }

    fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let sql = format!("SELECT body FROM {} WHERE id = $1", self.table("webhooks"));
        if !storable(id) {
            return Ok(None);
        }
        self.read("get webhook", |db| {
            let row = db.query_opt(&sql, &[&id])?;
            Ok(row
                .map(|row| WebhookRecord::from_stored_json(id, row.get::<_, &str>(0).as_bytes()))
                .transpose()?)
        })
    }

    fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        let sql = format!("SELECT id, body FROM {} ORDER BY id", self.table("webhooks"));
        self.read("list webhooks", |db| {
            let rows = db.query(&sql, &[])?;
            Ok(rows
                .iter()
                .map(|row| WebhookRecord::from_stored_json(row.get(0), row.get::<_, &str>(1).as_bytes()))
                .collect::<Result<_, _>>()?)
        })
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE id = $1", self.table("webhooks"));
        if !storable(id) {
            return Ok(false);
        }
        self.write("delete webhook", |tx| Ok(tx.execute(&sql, &[&id])? > 0))
    }
}
