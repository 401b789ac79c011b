//! A table that holds one kind of record by id, the whole record as JSON in `body`
//! (`management_keys`, `webhooks`): the same four statements for each kind.

use ak_core::{BackendErrorKind, StoreError};
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::error::backend;
use crate::store::SqliteKeyStore;

/// One `(id PRIMARY KEY, body)` table.
pub(crate) struct JsonTable {
    /// The table's name (a constant of this crate, never input).
    pub(crate) table: &'static str,
    /// What a row is, for error details: "management key", "webhook".
    pub(crate) kind: &'static str,
}

impl JsonTable {
    /// Inserts `record` under `id`; [`StoreError::AlreadyExists`] (and nothing written) if the id
    /// is taken.
    pub(crate) fn insert(
        &self,
        store: &SqliteKeyStore,
        id: &str,
        record: &impl Serialize,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(record).map_err(|err| {
            backend(
                BackendErrorKind::Other,
                format!("{} {id}: encoding the record", self.kind),
                Some(Box::new(err)),
            )
        })?;
        let (exists, insert) = (
            format!("SELECT 1 FROM {} WHERE id = ?1", self.table),
            format!("INSERT INTO {} (id, body) VALUES (?1, ?2)", self.table),
        );
        store.write(&format!("insert {}", self.kind), |tx, fail| {
            let taken = tx
                .prepare_cached(&exists)
                .and_then(|mut stmt| stmt.query_row([id], |_| Ok(())).optional())
                .map_err(fail)?;
            if taken.is_some() {
                return Err(StoreError::AlreadyExists { id: id.to_owned() });
            }
            tx.prepare_cached(&insert)
                .and_then(|mut stmt| stmt.execute([id, body.as_str()]))
                .map_err(fail)?;
            Ok(())
        })
    }

    /// The record under `id`, decoded by `decode(id, body)`, or `None`.
    pub(crate) fn get<T>(
        &self,
        store: &SqliteKeyStore,
        id: &str,
        decode: impl Fn(&str, &str) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let select = format!("SELECT body FROM {} WHERE id = ?1", self.table);
        store.read(&format!("get {}", self.kind), |conn, fail| {
            let body = conn
                .prepare_cached(&select)
                .and_then(|mut stmt| stmt.query_row([id], |row| row.get::<_, String>(0)).optional())
                .map_err(fail)?;
            body.map(|body| decode(id, &body)).transpose()
        })
    }

    /// Every record, in id order.
    pub(crate) fn list<T>(
        &self,
        store: &SqliteKeyStore,
        decode: impl Fn(&str, &str) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let select = format!("SELECT id, body FROM {} ORDER BY id", self.table);
        store.read(&format!("list {}s", self.kind), |conn, fail| {
            let mut stmt = conn.prepare_cached(&select).map_err(fail)?;
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

    /// Deletes the record under `id`; whether there was one.
    pub(crate) fn delete(&self, store: &SqliteKeyStore, id: &str) -> Result<bool, StoreError> {
        let delete = format!("DELETE FROM {} WHERE id = ?1", self.table);
        store.write(&format!("delete {}", self.kind), |tx, fail| {
            let removed = tx
                .prepare_cached(&delete)
                .and_then(|mut stmt| stmt.execute([id]))
                .map_err(fail)?;
            Ok(removed > 0)
        })
    }
}
