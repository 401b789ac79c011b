//! [`WebhookStore`] on SQLite: the `webhooks` table.

use ak_core::webhook::{WebhookRecord, WebhookStore};
use ak_core::{BackendErrorKind, StoreError};
use rusqlite::OptionalExtension;

use crate::error::backend;
use crate::store::SqliteKeyStore;

fn decode(id: &str, body: &str) -> Result<WebhookRecord, StoreError> {
    WebhookRecord::from_stored_json(id, body.as_bytes())
}

impl WebhookStore for SqliteKeyStore {
    fn insert_webhook(&self, record: &WebhookRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(record).map_err(|err| {
            backend(
                BackendErrorKind::Other,
                format!("webhook {}: encoding the record", record.id()),
                Some(Box::new(err)),
            )
        })?;
        self.write("insert webhook", |tx, fail| {
            let exists = tx
                .prepare_cached("SELECT 1 FROM webhooks WHERE id = ?1")
                .and_then(|mut stmt| stmt.query_row([record.id()], |_| Ok(())).optional())
                .map_err(fail)?;
            if exists.is_some() {
                return Err(StoreError::AlreadyExists {
                    id: record.id().to_owned(),
                });
            }
            tx.prepare_cached("INSERT INTO webhooks (id, body) VALUES (?1, ?2)")
                .and_then(|mut stmt| stmt.execute([record.id(), body.as_str()]))
                .map_err(fail)?;
            Ok(())
        })
    }

    fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        self.read("get webhook", |conn, fail| {
            let body = conn
                .prepare_cached("SELECT body FROM webhooks WHERE id = ?1")
                .and_then(|mut stmt| stmt.query_row([id], |row| row.get::<_, String>(0)).optional())
                .map_err(fail)?;
            body.map(|body| decode(id, &body)).transpose()
        })
    }

    fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        self.read("list webhooks", |conn, fail| {
            let mut stmt = conn
                .prepare_cached("SELECT id, body FROM webhooks ORDER BY id")
                .map_err(fail)?;
            let rows = stmt
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .map_err(fail)?;
            rows.map(|row| {
                let (id, body) = row.map_err(fail)?;
                decode(&id, &body)
            })
            .collect()
        })
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        self.write("delete webhook", |tx, fail| {
            let removed = tx
                .prepare_cached("DELETE FROM webhooks WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute([id]))
                .map_err(fail)?;
            Ok(removed > 0)
        })
    }
}
