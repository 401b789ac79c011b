//! [`ManagementKeyStore`] on PostgreSQL: the `management_keys` table.

use ak_core::management::{ManagementKeyRecord, ManagementKeyStore};
use ak_core::{BackendErrorKind, StoreError};

use crate::error::backend;
use crate::keys::storable;
use crate::store::PgStore;

impl ManagementKeyStore for PgStore {
    fn insert_management_key(&self, record: &ManagementKeyRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(record).map_err(|err| {
            backend(
                BackendErrorKind::Other,
                format!("management key {}: encoding the record", record.id()),
                Some(Box::new(err)),
            )
        })?;
        let sql = format!(
            "INSERT INTO {} (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            self.table("management_keys")
        );
        self.write("insert management key", |tx| {
            if tx.execute(&sql, &[&record.id(), &body])? == 0 {
                return Err(StoreError::AlreadyExists {
                    id: record.id().to_owned(),
                }
                .into());
            }
            Ok(())
        })
    }

    fn get_management_key(&self, id: &str) -> Result<Option<ManagementKeyRecord>, StoreError> {
        let sql = format!("SELECT body FROM {} WHERE id = $1", self.table("management_keys"));
        if !storable(id) {
            return Ok(None);
        }
        self.read("get management key", |db| {
            let row = db.query_opt(&sql, &[&id])?;
            Ok(row
                .map(|row| ManagementKeyRecord::from_stored_json(id, row.get::<_, &str>(0).as_bytes()))
                .transpose()?)
        })
    }

    fn list_management_keys(&self) -> Result<Vec<ManagementKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT id, body FROM {} ORDER BY id",
            self.table("management_keys")
        );
        self.read("list management keys", |db| {
            let rows = db.query(&sql, &[])?;
            Ok(rows
                .iter()
                .map(|row| {
                    ManagementKeyRecord::from_stored_json(row.get(0), row.get::<_, &str>(1).as_bytes())
                })
                .collect::<Result<_, _>>()?)
        })
    }

    fn delete_management_key(&self, id: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE id = $1", self.table("management_keys"));
        if !storable(id) {
            return Ok(false);
        }
        self.write("delete management key", |tx| Ok(tx.execute(&sql, &[&id])? > 0))
    }
}
