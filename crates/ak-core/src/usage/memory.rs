//! [`KeyUsageStore`] for [`MemoryKeyStore`]: usage lives in the records themselves.

use super::store::{KeyUsage, KeyUsageStore};
use crate::memory::MemoryKeyStore;
use crate::store::StoreError;

impl KeyUsageStore for MemoryKeyStore {
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
        let mut records = self.write()?;
        for entry in usage {
            if let Some(record) = records.get_mut(&entry.key_id)
                && record
                    .key
                    .last_used_time
                    .is_none_or(|stored| entry.time >= stored)
            {
                record.key.last_used_time = Some(entry.time);
                record.key.last_used_ip.clone_from(&entry.ip);
            }
        }
        Ok(())
    }
}
