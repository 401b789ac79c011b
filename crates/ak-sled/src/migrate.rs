//! Upgrading a format-1 store to format 2 when it is opened.
//!
//! Format 2 added two index trees, the expiry-time index and the last-used index; records and
//! usage values are unchanged. The upgrade builds both trees from the records and the usage,
//! removes usage left behind by a deleted key (a format-1 delete removed usage after its record
//! transaction, so a crash between the two could leave some), and only then writes the format-2
//! marker. It is idempotent: it first clears both trees, so a crash part way leaves a format-1
//! store that the next open upgrades again from the start.
//!
//! Openers of clones of one [`sled::Db`] could meet a format-1 store at once, and one's clear
//! would wipe what another built (or what a store that finished first had written since). So
//! every upgrade runs under [`UPGRADES`], a process-wide lock, and re-reads the marker under it:
//! the first opener upgrades, the others then find format 2. Process-wide is enough, since sled
//! lets one process at a time open a database directory (and a temporary one lives in its
//! process), and the lock is taken only while a format-1 store is being upgraded. No store
//! returned by an open writes meanwhile: each opener returns only after the upgrade is done.

use std::sync::{Mutex, PoisonError};

use ak_core::StoreError;

use crate::{STORE_FORMAT_VERSION, SledKeyStore, layout, record_codec, usage};

/// Entries written per sled batch, to bound the memory of a large upgrade.
const BATCH: usize = 4096;

/// Held by every upgrade in this process (see the module documentation).
static UPGRADES: Mutex<()> = Mutex::new(());

impl SledKeyStore {
    /// Upgrades a store found at format 1, unless another opener of the same database upgraded
    /// it while this one waited for [`UPGRADES`].
    pub(crate) fn upgrade_if_still_format_1(&self, meta: &sled::Tree) -> Result<(), StoreError> {
        // An upgrade that panicked left a format-1 store, which this one upgrades from the start.
        let _upgrading = UPGRADES.lock().unwrap_or_else(PoisonError::into_inner);
        let op = "upgrading the store from format 1";
        let marker = meta.get(layout::FORMAT_KEY).map_err(|err| self.error(op, err))?;
        match marker.as_deref() {
            Some([version]) if *version == STORE_FORMAT_VERSION => Ok(()),
            Some([1]) => self.upgrade_from_format_1(meta),
            other => Err(StoreError::Backend {
                backend: crate::BACKEND,
                kind: ak_core::BackendErrorKind::Incompatible,
                detail: format!(
                    "{}: store format {other:?} appeared while upgrading from format 1",
                    self.location
                ),
                source: None,
            }),
        }
    }

    /// Builds the format-2 indexes of a format-1 store, then marks it format 2.
    pub(crate) fn upgrade_from_format_1(&self, meta: &sled::Tree) -> Result<(), StoreError> {
        let op = "upgrading the store from format 1";
        let err = |err| self.error(op, err);
        let expiry = &self.indexes[layout::EXPIRY];
        expiry.clear().map_err(err)?;
        self.last_used.clear().map_err(err)?;

        let mut expiry_batch = Batched::new(expiry);
        let mut last_used_batch = Batched::new(&self.last_used);
        for item in self.records.iter() {
            let (key, value) = item.map_err(err)?;
            let Ok(id) = std::str::from_utf8(&key) else {
                continue;
            };
            // An undecodable record gets no expiry entry (its expiry is unknown), as it would
            // have none in any other index that a damaged record lost; deleting it still works.
            if let Ok(record) = record_codec::decode(id, &value)
                && let Some(expires) = record.key.expire_time
            {
                expiry_batch
                    .insert(layout::expiry_key(expires, id))
                    .map_err(err)?;
            }
            let last_used = match self.usage.get(key.as_ref()).map_err(err)? {
                None => Some(None),
                Some(bytes) => usage::decode(id, &bytes).ok().map(|(time, _)| Some(time)),
            };
            // An undecodable usage value gets no entry: the time it would carry is lost.
            if let Some(last_used) = last_used {
                last_used_batch
                    .insert(layout::last_used_key(last_used, id))
                    .map_err(err)?;
            }
        }
        expiry_batch.finish().map_err(err)?;
        last_used_batch.finish().map_err(err)?;

        for item in self.usage.iter() {
            let (id, _) = item.map_err(err)?;
            if !self.records.contains_key(&id).map_err(err)? {
                self.usage.remove(&id).map_err(err)?;
            }
        }
        // The marker last: until it is on disk, the next open upgrades again.
        self.make_durable(op)?;
        meta.insert(layout::FORMAT_KEY, &[STORE_FORMAT_VERSION])
            .map_err(err)?;
        self.make_durable(op)
    }
}

/// Inserts of empty-valued keys into one tree, applied in batches of [`BATCH`].
struct Batched<'a> {
    tree: &'a sled::Tree,
    batch: sled::Batch,
    len: usize,
}

impl<'a> Batched<'a> {
    fn new(tree: &'a sled::Tree) -> Self {
        Self {
            tree,
            batch: sled::Batch::default(),
            len: 0,
        }
    }

    fn insert(&mut self, key: Vec<u8>) -> sled::Result<()> {
        self.batch.insert(key, &[] as &[u8]);
        self.len += 1;
        if self.len == BATCH {
            self.finish()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> sled::Result<()> {
        self.len = 0;
        self.tree.apply_batch(std::mem::take(&mut self.batch))
    }
}
