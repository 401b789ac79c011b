//! [`KeyUsageStore`] on PostgreSQL: the `last_used_time` and `last_used_ip` columns of `keys`.

use ak_core::StoreError;
use ak_core::usage::{KeyUsage, KeyUsageStore};

use crate::keys::storable;
use crate::store::PgStore;

impl KeyUsageStore for PgStore {
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
        if usage.is_empty() {
            return Ok(());
        }
        // Only the usage columns: the record's version, body and indexes stay as they are, so an
        // administrator's compare-and-swap never fails because the key was used.
        let sql = format!(
            "UPDATE {} SET last_used_time = $2, last_used_ip = $3
             WHERE id = $1 AND (last_used_time IS NULL OR last_used_time <= $2)",
            self.table("keys")
        );
        self.write("record key usage", |tx| {
            for entry in usage {
                if !storable(&entry.key_id) || entry.ip.as_deref().is_some_and(|ip| !storable(ip)) {
                    continue;
                }
                tx.execute(&sql, &[&entry.key_id, &entry.time, &entry.ip])?;
            }
            Ok(())
        })
    }
}
