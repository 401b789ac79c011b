//! [`KeyUsageStore`] on sled: the tree `ak/usage`, id → `[1] ++ time(last used) ++ ip`, apart
//! from the records so that recording a use never rewrites (or re-versions) a record.

use ak_core::usage::{KeyUsage, KeyUsageStore};
use ak_core::{KeyRecord, StoreError};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::{SledKeyStore, layout};

const USAGE_FORMAT: u8 = 1;

fn encode(time: i64, ip: Option<&str>) -> Vec<u8> {
    let ip = ip.unwrap_or("");
    let mut bytes = Vec::with_capacity(1 + layout::TIME_LEN + ip.len());
    bytes.push(USAGE_FORMAT);
    bytes.extend_from_slice(&layout::time_bytes(time));
    bytes.extend_from_slice(ip.as_bytes());
    bytes
}

/// The time and ip of a stored usage value.
fn decode(id: &str, bytes: &[u8]) -> Result<(i64, Option<String>), StoreError> {
    let corrupt = |why: &str| StoreError::corrupt(Some(id), why.to_owned());
    let Some((&USAGE_FORMAT, rest)) = bytes.split_first() else {
        return Err(corrupt("unknown usage value format"));
    };
    let (time, ip) = rest
        .split_first_chunk::<{ layout::TIME_LEN }>()
        .ok_or_else(|| corrupt("truncated usage value"))?;
    let time = i64::from_be_bytes(*time) ^ i64::MIN;
    let ip = std::str::from_utf8(ip).map_err(|_| corrupt("usage ip is not UTF-8"))?;
    Ok((time, (!ip.is_empty()).then(|| ip.to_owned())))
}

impl SledKeyStore {
    pub(crate) fn usage_tree(&self) -> Result<sled::Tree, StoreError> {
        self.db
            .open_tree(layout::USAGE)
            .map_err(|err| self.error("opening the usage tree", err))
    }

    /// `record` with its recorded usage (none when never used).
    pub(crate) fn with_usage(&self, mut record: KeyRecord) -> Result<KeyRecord, StoreError> {
        let stored = self
            .usage_tree()?
            .get(record.id().as_bytes())
            .map_err(|err| self.error("loading usage", err))?;
        if let Some(bytes) = stored {
            let (time, ip) = decode(record.id(), &bytes)?;
            record.key.last_used_time = Some(time);
            record.key.last_used_ip = ip;
        }
        Ok(record)
    }

    /// Forgets the usage of deleted (or newly inserted) ids.
    pub(crate) fn forget_usage(&self, ids: &[String]) -> Result<(), StoreError> {
        let tree = self.usage_tree()?;
        for id in ids {
            tree.remove(id.as_bytes())
                .map_err(|err| self.error("removing usage", err))?;
        }
        Ok(())
    }
}

impl KeyUsageStore for SledKeyStore {
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
        if usage.is_empty() {
            return Ok(());
        }
        let tree = self.usage_tree()?;
        let outcome = (&self.records, &tree).transaction(|(records, tree)| {
            for entry in usage {
                if records.get(entry.key_id.as_bytes())?.is_none() {
                    continue;
                }
                let newer = match tree.get(entry.key_id.as_bytes())? {
                    None => true,
                    Some(bytes) => {
                        decode(&entry.key_id, &bytes)
                            .map_err(ConflictableTransactionError::Abort)?
                            .0
                            <= entry.time
                    }
                };
                if newer {
                    tree.insert(entry.key_id.as_bytes(), encode(entry.time, entry.ip.as_deref()))?;
                }
            }
            Ok(())
        });
        outcome.map_err(|err| match err {
            TransactionError::Abort(err) => err,
            TransactionError::Storage(err) => self.error("record key usage", err),
        })?;
        self.make_durable("record key usage")
    }
}
