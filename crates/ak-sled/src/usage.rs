//! [`KeyUsageStore`] on sled: the tree `ak/usage`, id → `[1] ++ time(last used) ++ ip`, apart
//! from the records so that recording a use never rewrites (or re-versions) a record.
//!
//! The last-used index (`ak/index/last-used`, see [`layout::LAST_USED_INDEX`]) has one entry per
//! record: `[0] ++ id` until the key is first used, then `[1] ++ time(last used) ++ id`. It is
//! changed in the same transaction as the usage value (a use), or as the record (an insert
//! writes the never-used entry; a delete removes the usage value and whichever entry it has), so
//! no crash can leave the two apart.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use ak_core::usage::{KeyUsage, KeyUsageStore};
use ak_core::{KeyRecord, StoreError};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, ConflictableTransactionResult, TransactionError};

use crate::{SledKeyStore, Tx, layout};

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
pub(crate) fn decode(id: &str, bytes: &[u8]) -> Result<(i64, Option<String>), StoreError> {
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
    /// `record` with its recorded usage (none when never used).
    pub(crate) fn with_usage(&self, mut record: KeyRecord) -> Result<KeyRecord, StoreError> {
        let stored = self
            .usage
            .get(record.id().as_bytes())
            .map_err(|err| self.error("loading usage", err))?;
        if let Some(bytes) = stored {
            let (time, ip) = decode(record.id(), &bytes)?;
            record.key.last_used_time = Some(time);
            record.key.last_used_ip = ip;
        }
        Ok(record)
    }

    /// For each of `ids` whose usage value cannot be decoded, the last-used index entries that
    /// name it (a scan of the index: its key holds a time the damaged value no longer tells).
    ///
    /// Safe outside the transaction: a use rewrites a value it cannot decode only in the same
    /// transaction as it removes every entry this scan finds (under the writer lock), so a
    /// caller's transaction that then finds the value decodable takes the decoded path.
    pub(crate) fn last_used_entries_of_unreadable<'a>(
        &self,
        ids: &'a [String],
    ) -> Result<HashMap<&'a str, Vec<sled::IVec>>, StoreError> {
        let mut unreadable = HashMap::new();
        for id in ids {
            let stored = self
                .usage
                .get(id.as_bytes())
                .map_err(|err| self.error("delete", err))?;
            if stored.is_some_and(|bytes| decode(id, &bytes).is_err()) {
                unreadable.insert(id.as_str(), Vec::new());
            }
        }
        if unreadable.is_empty() {
            return Ok(unreadable);
        }
        for item in self.last_used.iter() {
            let (key, _) = item.map_err(|err| self.error("delete", err))?;
            let named = layout::id_of(layout::LAST_USED, &key).and_then(|id| std::str::from_utf8(id).ok());
            if let Some(entries) = named.and_then(|id| unreadable.get_mut(id)) {
                entries.push(key);
            }
        }
        Ok(unreadable)
    }
}

/// Removes the usage of `id` and its last-used index entry inside a write transaction.
/// `unreadable` are the entries naming `id` when its usage value cannot be decoded (see
/// [`SledKeyStore::last_used_entries_of_unreadable`]).
pub(crate) fn forget(
    tx: &Tx<'_>,
    id: &str,
    unreadable: &[sled::IVec],
) -> ConflictableTransactionResult<(), StoreError> {
    tx.last_used.remove(layout::never_used_key(id))?;
    if let Some(bytes) = tx.usage.remove(id.as_bytes())? {
        match decode(id, &bytes) {
            Ok((time, _)) => {
                tx.last_used.remove(layout::used_key(time, id))?;
            }
            Err(_) => {
                for key in unreadable {
                    tx.last_used.remove(key)?;
                }
            }
        }
    }
    Ok(())
}

impl KeyUsageStore for SledKeyStore {
    /// A stored usage value that cannot be decoded is replaced by the new use (with its
    /// last-used index entries, found by a scan of the index): the value tells nothing, the new
    /// use is the latest use the store knows of, and the contract says `get` shows it after `Ok`.
    /// Passing the entry over instead would keep the key's `get` failing with
    /// [`StoreError::Corrupt`] and, since a failed batch is retried whole, would stop last-use
    /// tracking of every key. Each replacement is counted
    /// ([`SledKeyStore::unreadable_usage_replaced`]) and logged with the key id only.
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
        if usage.is_empty() {
            return Ok(());
        }
        // A use moves a key in the last-used index; searches must not see it half done. Held
        // across the scan too, so no other write of the store changes usage in between.
        let _writer = self.write_lock();
        let ids: Vec<String> = usage.iter().map(|entry| entry.key_id.clone()).collect();
        // The last-used entries of the listed keys whose usage value cannot be decoded: found
        // only once a transaction met one (damage is rare, the scan reads the whole index).
        let mut unreadable: Option<HashMap<&str, Vec<sled::IVec>>> = None;
        let replaced = loop {
            let outcome =
                (&self.records, &self.usage, &self.last_used).transaction(|(records, tree, last_used)| {
                    let mut replaced = Vec::new();
                    for entry in usage {
                        let id = entry.key_id.as_str();
                        if records.get(id.as_bytes())?.is_none() {
                            continue;
                        }
                        let previous = match tree.get(id.as_bytes())? {
                            None => None,
                            Some(bytes) => match decode(id, &bytes) {
                                Ok((time, _)) => Some(time),
                                Err(err) => {
                                    let Some(entries) = unreadable.as_ref().and_then(|found| found.get(id))
                                    else {
                                        return Err(ConflictableTransactionError::Abort(err));
                                    };
                                    for key in entries {
                                        last_used.remove(key)?;
                                    }
                                    last_used.insert(layout::used_key(entry.time, id), &[] as &[u8])?;
                                    tree.insert(id.as_bytes(), encode(entry.time, entry.ip.as_deref()))?;
                                    replaced.push(id);
                                    continue;
                                }
                            },
                        };
                        if previous.is_none_or(|time| time <= entry.time) {
                            last_used.remove(layout::last_used_key(previous, id))?;
                            last_used.insert(layout::used_key(entry.time, id), &[] as &[u8])?;
                            tree.insert(id.as_bytes(), encode(entry.time, entry.ip.as_deref()))?;
                        }
                    }
                    Ok(replaced)
                });
            match outcome {
                Ok(replaced) => break replaced,
                Err(TransactionError::Abort(StoreError::Corrupt { .. })) if unreadable.is_none() => {
                    unreadable = Some(self.last_used_entries_of_unreadable(&ids)?);
                }
                Err(TransactionError::Abort(err)) => return Err(err),
                Err(TransactionError::Storage(err)) => return Err(self.error("record key usage", err)),
            }
        };
        for id in &replaced {
            tracing::warn!(key_id = %id, location = %self.location, "replaced an undecodable last-use value with a new use");
        }
        self.unreadable_usage_replaced.fetch_add(
            u64::try_from(replaced.len()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.make_durable("record key usage")
    }
}

impl SledKeyStore {
    /// How many stored last-use values that could not be decoded a recorded use has replaced
    /// since the store was opened (see [`KeyUsageStore::record_key_usage`]): a sign of damage.
    pub fn unreadable_usage_replaced(&self) -> u64 {
        self.unreadable_usage_replaced.load(Ordering::Relaxed)
    }
}
