//! [`KeyUsageStore`] on SQLite: the `last_used_time` and `last_used_ip` columns of `keys`.

use ak_core::StoreError;
use ak_core::usage::{KeyUsage, KeyUsageStore};

use crate::store::SqliteKeyStore;

impl KeyUsageStore for SqliteKeyStore {
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
        if usage.is_empty() {
            return Ok(());
        }
        self.write("record key usage", |tx, fail| {
            // Only the usage columns: the record's version, body and indexes stay as they are.
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE keys SET last_used_time = ?2, last_used_ip = ?3
                     WHERE id = ?1 AND (last_used_time IS NULL OR last_used_time <= ?2)",
                )
                .map_err(fail)?;
            for entry in usage {
                stmt.execute(rusqlite::params![entry.key_id, entry.time, entry.ip])
                    .map_err(fail)?;
            }
            Ok(())
        })
    }
}
