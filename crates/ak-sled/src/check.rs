//! A full consistency check of records against indexes, for tests and diagnostics.

use std::collections::BTreeSet;

use ak_core::StoreError;

use crate::layout::{self, INDEX_COUNT};
use crate::{SledKeyStore, record_codec};

impl SledKeyStore {
    /// Checks the whole store: every record decodes, every record is in every index it belongs
    /// in (the last-used index included), every index entry names a record that has the entry's
    /// value, and every usage value names a record. The first problem is returned as
    /// [`StoreError::Corrupt`].
    ///
    /// It reads everything and holds every index key in memory: a diagnostic for tests and
    /// tooling, not for a request path. Writes wait while it runs.
    #[doc(hidden)]
    pub fn check_consistency(&self) -> Result<(), StoreError> {
        let _reader = self.read_lock();
        let mut expected: [BTreeSet<Vec<u8>>; INDEX_COUNT + 1] = Default::default();
        for item in self.records.iter() {
            let (key, value) = item.map_err(|err| self.error("checking records", err))?;
            let id = std::str::from_utf8(&key).map_err(|err| StoreError::Corrupt {
                id: None,
                reason: format!("a record key is not UTF-8: {key:?}"),
                source: Some(Box::new(err)),
            })?;
            let record = self.with_usage(record_codec::decode(id, &value)?)?;
            for (set, keys) in expected.iter_mut().zip(layout::index_keys(&record)?) {
                set.extend(keys);
            }
            let _new =
                expected[layout::LAST_USED].insert(layout::last_used_key(record.key.last_used_time, id));
        }
        for item in self.usage.iter() {
            let (id, _) = item.map_err(|err| self.error("checking usage", err))?;
            if !self
                .records
                .contains_key(&id)
                .map_err(|err| self.error("checking usage", err))?
            {
                return Err(StoreError::corrupt(
                    std::str::from_utf8(&id).ok(),
                    "usage recorded for a key that does not exist",
                ));
            }
        }
        let trees = self.indexes.iter().chain([&self.last_used]);
        let names = layout::INDEXES.into_iter().chain([layout::LAST_USED_INDEX]);
        for ((tree, name), expected) in trees.zip(names).zip(&expected) {
            let mut actual = BTreeSet::new();
            for item in tree.iter() {
                let (key, value) = item.map_err(|err| self.error("checking indexes", err))?;
                if !value.is_empty() {
                    return Err(StoreError::corrupt(
                        None,
                        format!("entry {key:?} of {name} has a value"),
                    ));
                }
                let _new = actual.insert(key.to_vec());
            }
            if let Some(extra) = actual.difference(expected).next() {
                return Err(StoreError::corrupt(
                    None,
                    format!("entry {extra:?} of {name} names no record with that value"),
                ));
            }
            if let Some(missing) = expected.difference(&actual).next() {
                return Err(StoreError::corrupt(
                    None,
                    format!("a record is missing from {name}: no entry {missing:?}"),
                ));
            }
        }
        Ok(())
    }
}
