//! A [`KeyStore`] on [sled](https://docs.rs/sled/0.34.7), the embedded pure-Rust database.
//!
//! ```
//! use std::sync::Arc;
//! use ak_core::{CreateKey, KeyManager};
//! use ak_sled::SledKeyStore;
//!
//! // A temporary store is deleted when it is dropped; use `SledKeyStore::open(dir)` for real.
//! let store = SledKeyStore::temporary()?;
//! let manager = KeyManager::builder(Arc::new(store)).build()?;
//!
//! let created = manager.create(CreateKey::named("deploy bot"))?;
//! let loaded = manager.load(&created.key.id)?;
//! assert_eq!(loaded.name, "deploy bot");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Opening
//!
//! * [`SledKeyStore::open`]: a directory, created if missing. New stores compress their data
//!   with zstd ([`COMPRESS_NEW_STORES`]); an existing store keeps the setting it was created with.
//! * [`SledKeyStore::temporary`]: a fresh store in a temporary directory, deleted on drop (tests).
//! * [`SledKeyStore::from_db`]: a [`sled::Db`] the caller opened from a directory (with its own
//!   cache size or mode); the store keeps to trees whose names start with `ak/`. To open a
//!   directory that [`SledKeyStore::open`] created, set `use_compression(true)` (sled refuses
//!   another setting). [`SledKeyStore::from_temporary_db`] takes a temporary one.
//!
//! # What sled guarantees, and what ak adds
//!
//! sled gives ordered byte-keyed trees, atomic serializable transactions over several trees of one
//! database, crash recovery of its log, and an exclusive file lock on the database directory. It
//! does **not** make a write durable when it returns: by default it writes its log to disk in the
//! background every 500 ms, so a crash can lose the last half second of acknowledged writes.
//!
//! ak adds on top:
//!
//! * **A flush and an fsync per write.** [`insert`](KeyStore::insert), [`update`](KeyStore::update),
//!   [`set_status`](KeyStore::set_status) and [`delete`](KeyStore::delete) call
//!   [`flush`](sled::Tree::flush) on the [`sled::Db`] and then `fsync` sled's data file (and any
//!   blob files) before they return `Ok`: sled's flush alone is `sync_file_range`, which a power
//!   loss can undo ([`disk_sync`] explains). So an acknowledged change, above all a revocation,
//!   survives a crash of the process or the machine (the crash test SIGKILLs a writer; a syscall
//!   trace checks the `fsync` comes before the call returns). That fsync is the main cost of a
//!   write; the ak benches measure it. A write is visible to other threads a
//!   moment before its flush finishes; since sled's log is ordered, any later write that depended
//!   on it is flushed together with it. If the flush fails the call returns an error and the
//!   change may or may not survive a crash (as with a failed `fsync`).
//! * **Secondary indexes kept by transactions.** Every search filter with an index (tenant, bound
//!   user, created by, status, created time, name for name order, expiry time for
//!   `expiresBefore`, and last use for `notUsedSince`) is a separate tree, changed in the same
//!   sled transaction as the record (the last-used index: as the record, or as the use), so no
//!   crash can leave an index entry without its record or a record missing from an index. A
//!   search narrows its candidates with one index, then applies the full filter of
//!   [`SearchQuery`] to the records; a plain listing in created-time or name order reads only as
//!   many records as the page needs. A key's usage is deleted in the same transaction as the
//!   key. Searches and writes
//!   of one store exclude each other with a read-write lock, so a search sees one consistent state
//!   and reports an index entry without its record as [`StoreError::Corrupt`].
//! * **A versioned record encoding.** Records are stored as one format-version byte followed by
//!   the [postcard](https://docs.rs/postcard) encoding of the [`KeyRecord`]; an unknown version or damaged bytes are
//!   [`StoreError::Corrupt`], never a panic. The store marks its format in the tree `ak/meta` and
//!   refuses a store written by a newer format with [`BackendErrorKind::Incompatible`]; a store
//!   of an older format is upgraded when it is opened (format 2 added the expiry-time and
//!   last-used indexes).
//! * **Management keys** live in their own tree (`ak/management-keys`), written with
//!   compare-and-swap and flushed like every other write; no access-key read touches it.
//! * **The sealed signing-key set** is one value in the tree `ak/signing-keys`, replaced by
//!   compare-and-swap on the whole value (which carries its version) and made durable like every
//!   other write.
//! * **Webhooks** live in their own tree (`ak/webhooks`), one JSON value per webhook (its
//!   secret sealed by the facade), written with compare-and-swap and flushed and fsynced like
//!   every other write.
//! * **One process per directory.** sled locks the directory; a second opener (another process,
//!   or a second open in the same process) gets [`BackendErrorKind::InUse`] with the path as the
//!   detail. Share one [`SledKeyStore`] (it is `Send + Sync`, e.g. in an `Arc`) instead.
//!
//! sled 0.34 is a beta whose on-disk format may change between its versions; pin it, and use
//! `ak-sqlite` where a long-lived, widely readable file format matters.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ak_core::{BackendErrorKind, KeyRecord, KeyStatus, KeyStore, Page, SearchQuery, StoreError};
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError, Transactional,
    TransactionalTree,
};

mod audit;
mod check;
pub mod disk_sync;
#[doc(hidden)]
pub mod layout;
mod management;
mod migrate;
mod plan;
#[doc(hidden)]
pub mod record_codec;
mod search;
mod signing;
mod usage;
mod webhook;

use disk_sync::DiskSync;
use layout::INDEX_COUNT;

/// An index entry: the position of its tree in [`layout::INDEXES`] and its key.
type IndexEntry = (usize, sled::IVec);

/// The name this backend reports in [`StoreError::Backend`].
const BACKEND: &str = "sled";

/// The store format marker this crate writes to the tree `ak/meta` and accepts.
///
/// Format 2 added the expiry-time and last-used indexes; a format-1 store is upgraded when it is
/// opened (see `migrate`).
pub const STORE_FORMAT_VERSION: u8 = 2;

/// An access-key store in a sled database. See the [crate documentation](crate).
pub struct SledKeyStore {
    db: sled::Db,
    records: sled::Tree,
    indexes: [sled::Tree; INDEX_COUNT],
    /// The last use of each key (see `usage`).
    usage: sled::Tree,
    /// The last-used index, derived from `usage` (see `layout::LAST_USED_INDEX`).
    last_used: sled::Tree,
    /// Writers take it exclusively, searches shared, so a search sees one consistent state.
    writers: RwLock<()>,
    location: String,
    /// The files to `fsync` after each flush; `None` for a temporary database (in memory).
    disk: Option<DiskSync>,
    /// Undecodable usage values replaced by a use (see `usage`).
    unreadable_usage_replaced: AtomicU64,
}

impl std::fmt::Debug for SledKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `sled::Db`'s own Debug prints every tree's contents.
        f.debug_struct("SledKeyStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// The file that marks a directory as an ak-sled store; written before sled creates anything.
pub const MARKER_FILE: &str = "AK_SLED_STORE";

/// Whether stores this crate creates compress sled's log and pages (zstd).
///
/// Index entries are small and sled stores each in log fragments and whole-node rewrites, so an
/// uncompressed store takes about 2.3 KiB of disk per key; compressed, about 1.3 KiB (measured
/// by the ak benches at 100k keys). Hot reads come from sled's cache of decompressed pages and
/// do not pay for it; each write compresses its log entries.
pub const COMPRESS_NEW_STORES: bool = true;

/// Whether to open the sled database in `path` with compression.
///
/// sled refuses to open a database with a setting other than the one recorded in its `conf`
/// file, so a store created before [`COMPRESS_NEW_STORES`] keeps its own. Without a readable
/// setting sled would take the database for a new one and read its data with whatever it is
/// given (and panic on a mismatch), so a store with data but no readable `conf` is refused.
fn compression_for(path: &Path, location: &str) -> Result<bool, StoreError> {
    if let Some(recorded) = recorded_compression(path) {
        return Ok(recorded);
    }
    let has_data = std::fs::metadata(path.join("db")).is_ok_and(|meta| meta.len() > 0);
    if has_data {
        return Err(incompatible(
            location,
            "sled's conf file is missing or damaged, so it is unknown whether the data is compressed; nothing was opened (restore conf from a backup)",
        ));
    }
    Ok(COMPRESS_NEW_STORES)
}

/// The compression setting recorded in the `conf` file of the sled database in `path`, if any.
fn recorded_compression(path: &Path) -> Option<bool> {
    let conf = std::fs::read(path.join("conf")).ok()?;
    conf.split(|&byte| byte == b'\n').find_map(|line| match line {
        b"use_compression: true" => Some(true),
        b"use_compression: false" => Some(false),
        _ => None,
    })
}

/// Makes sure `path` is an ak-sled store directory, or a new or empty one that becomes one.
fn claim_directory(path: &Path, location: &str) -> Result<(), StoreError> {
    let io =
        |what: &str, err: std::io::Error| backend_error(format!("{what} {location}"), sled::Error::Io(err));
    match std::fs::read_dir(path) {
        Ok(mut entries) => {
            if path.join(MARKER_FILE).is_file() {
                return Ok(());
            }
            if entries.next().is_some() {
                return Err(incompatible(
                    location,
                    &format!(
                        "not an ak-sled store (the directory is not empty and has no {MARKER_FILE} file); nothing was written"
                    ),
                ));
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(path).map_err(|err| io("creating", err))?;
        }
        Err(_) if path.exists() => return Err(incompatible(location, "not a directory")),
        Err(err) => return Err(io("reading", err)),
    }
    let marker = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path.join(MARKER_FILE));
    match marker {
        Ok(mut file) => {
            use std::io::Write as _;
            file.write_all(format!("ak-sled store, format {STORE_FORMAT_VERSION}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|err| io("marking", err))?;
            std::fs::File::open(path)
                .and_then(|dir| dir.sync_all())
                .map_err(|err| io("syncing", err))
        }
        // Another opener marked it first.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(io("marking", err)),
    }
}

impl SledKeyStore {
    /// Opens (or creates) the store in directory `path`, creating the directory if missing.
    ///
    /// Fails with [`BackendErrorKind::InUse`] when another process (or another open handle in
    /// this process) has the directory open, and with [`BackendErrorKind::Incompatible`] when the
    /// directory holds a newer ak-sled store or sled database format, or is not an ak-sled store
    /// at all: an existing directory is used only if it is empty or carries the
    /// [`MARKER_FILE`] that ak writes into every store it creates, so pointing ak at the wrong
    /// directory never writes into it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let location = path.display().to_string();
        claim_directory(path, &location)?;
        let db = sled::Config::new()
            .path(path)
            .use_compression(compression_for(path, &location)?)
            .open()
            .map_err(|err| backend_error(format!("opening {location}"), err))?;
        Self::with_db(db, location, Some(path))
    }

    /// A new, empty store in a temporary directory that is deleted when the store is dropped.
    pub fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .use_compression(COMPRESS_NEW_STORES)
            .open()
            .map_err(|err| backend_error("opening a temporary store".into(), err))?;
        Self::with_db(db, "temporary store".into(), None)
    }

    /// A store in a database the caller opened from directory `dir`. Only trees named `ak/...`
    /// are used.
    ///
    /// The caller picks sled's settings; a directory made by [`open`](Self::open) must be opened
    /// with `use_compression(`[`COMPRESS_NEW_STORES`]`)`, or sled refuses it. `dir` must be the
    /// database's directory: every write `fsync`s the files in it (see [`disk_sync`]), and a
    /// `dir` without sled's data file is refused with [`BackendErrorKind::Incompatible`].
    pub fn from_db(db: sled::Db, dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        Self::with_db(db, format!("{} (caller's sled::Db)", dir.display()), Some(dir))
    }

    /// A store in a temporary database the caller opened (`sled::Config::temporary(true)`),
    /// which lives in memory: nothing survives the process, so nothing is synced.
    pub fn from_temporary_db(db: sled::Db) -> Result<Self, StoreError> {
        Self::with_db(db, "caller's temporary sled::Db".into(), None)
    }

    fn with_db(db: sled::Db, location: String, dir: Option<&Path>) -> Result<Self, StoreError> {
        let disk = match dir {
            None => None,
            Some(dir) => Some(DiskSync::open(dir).map_err(|err| match err.kind() {
                std::io::ErrorKind::NotFound => {
                    incompatible(&location, "no sled data file `db` in the directory")
                }
                _ => backend_error(format!("opening {location} for syncing"), sled::Error::Io(err)),
            })?),
        };
        let open_tree = |name: &str| {
            db.open_tree(name)
                .map_err(|err| backend_error(format!("opening tree {name} in {location}"), err))
        };
        let meta = open_tree(layout::META)?;
        let records = open_tree(layout::RECORDS)?;
        let mut indexes = Vec::with_capacity(INDEX_COUNT);
        for name in layout::INDEXES {
            indexes.push(open_tree(name)?);
        }
        let indexes: [sled::Tree; INDEX_COUNT] = indexes
            .try_into()
            .unwrap_or_else(|_| unreachable!("one tree per name of layout::INDEXES"));
        let usage = open_tree(layout::USAGE)?;
        let last_used = open_tree(layout::LAST_USED_INDEX)?;
        let store = Self {
            db,
            records,
            indexes,
            usage,
            last_used,
            writers: RwLock::new(()),
            location,
            disk,
            unreadable_usage_replaced: AtomicU64::new(0),
        };
        store.check_format(&meta)?;
        Ok(store)
    }

    /// Writes the format marker into a new store, or checks the one an existing store has,
    /// upgrading a format-1 store.
    fn check_format(&self, meta: &sled::Tree) -> Result<(), StoreError> {
        let marker = [STORE_FORMAT_VERSION];
        let swapped = meta
            .compare_and_swap(layout::FORMAT_KEY, None::<&[u8]>, Some(&marker[..]))
            .map_err(|err| self.error("writing the format marker", err))?;
        match swapped {
            Ok(()) => self.make_durable("writing the format marker"),
            Err(existing) => match existing.current.as_deref() {
                Some([version]) if *version == STORE_FORMAT_VERSION => Ok(()),
                Some([1]) => self.upgrade_if_still_format_1(meta),
                other => Err(incompatible(
                    &self.location,
                    &format!("store format {other:?}, this ak-sled reads format [{STORE_FORMAT_VERSION}]"),
                )),
            },
        }
    }

    /// The underlying database, for statistics such as [`sled::Db::size_on_disk`].
    ///
    /// Writing to the `ak/` trees directly bypasses the index maintenance and can corrupt the
    /// store.
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Where the store is: its path, or a description for temporary and caller-given databases.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn error(&self, op: &str, err: sled::Error) -> StoreError {
        backend_error(format!("{op} in {}", self.location), err)
    }

    fn read_lock(&self) -> RwLockReadGuard<'_, ()> {
        // The lock guards no data, so a panic while it was held leaves nothing inconsistent.
        self.writers.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_lock(&self) -> RwLockWriteGuard<'_, ()> {
        self.writers.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// For each of `ids` whose stored record cannot be decoded, every index entry that names it
    /// (a scan of every index: damage is rare, and a corrupt record's entries cannot be derived).
    ///
    /// Safe outside the transaction: no write can add an entry for an undecodable record, since
    /// every write of an existing record decodes it first.
    fn entries_of_unreadable<'a>(
        &self,
        ids: &'a [String],
    ) -> Result<HashMap<&'a str, Vec<IndexEntry>>, StoreError> {
        let mut unreadable = HashMap::new();
        for id in ids {
            let stored = self
                .records
                .get(id.as_bytes())
                .map_err(|err| self.error("delete", err))?;
            if let Some(bytes) = stored
                && record_codec::decode(id, &bytes).is_err()
            {
                unreadable.insert(id.as_str(), Vec::new());
            }
        }
        if unreadable.is_empty() {
            return Ok(unreadable);
        }
        for (index, tree) in self.indexes.iter().enumerate() {
            for item in tree.iter() {
                let (key, _) = item.map_err(|err| self.error("delete", err))?;
                let named = layout::id_of(index, &key).and_then(|id| std::str::from_utf8(id).ok());
                if let Some(entries) = named.and_then(|id| unreadable.get_mut(id)) {
                    entries.push((index, key));
                }
            }
        }
        Ok(unreadable)
    }

    /// Runs `body` as one sled transaction over the records, every index, the usage and the
    /// last-used index, then flushes.
    fn write<A>(
        &self,
        op: &str,
        body: impl Fn(&Tx<'_>) -> ConflictableTransactionResult<A, StoreError>,
    ) -> Result<A, StoreError> {
        let trees: Vec<&sled::Tree> = std::iter::once(&self.records)
            .chain(&self.indexes)
            .chain([&self.usage, &self.last_used])
            .collect();
        let outcome = {
            let _writer = self.write_lock();
            trees.as_slice().transaction(|view| body(&Tx::of(view)))
        };
        let value = outcome.map_err(|err| match err {
            TransactionError::Abort(err) => err,
            TransactionError::Storage(err) => self.error(op, err),
        })?;
        self.make_durable(op)?;
        Ok(value)
    }

    /// The durability promise: nothing is acknowledged before sled's log is on disk, past the
    /// drive's cache ([`disk_sync`] says why sled's flush alone is not enough).
    fn make_durable(&self, op: &str) -> Result<(), StoreError> {
        self.db
            .flush()
            .map_err(|err| self.error(&format!("{op} (flush)"), err))?;
        if let Some(disk) = &self.disk {
            disk.sync()
                .map_err(|err| self.error(&format!("{op} (fsync)"), sled::Error::Io(err)))?;
        }
        Ok(())
    }
}

/// [`BackendErrorKind::Incompatible`]: the store at `location` is not one this crate may open.
fn incompatible(location: &str, why: &str) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        kind: BackendErrorKind::Incompatible,
        detail: format!("{location}: {why}"),
        source: None,
    }
}

/// Maps a sled error to a [`StoreError`], with `detail` saying what was being done where.
fn backend_error(detail: String, err: sled::Error) -> StoreError {
    let kind = match &err {
        sled::Error::Io(io) => io_kind(io),
        sled::Error::Unsupported(_) => BackendErrorKind::Incompatible,
        sled::Error::Corruption { .. } => {
            return StoreError::Corrupt {
                id: None,
                reason: format!("sled found corrupt data while {detail}"),
                source: Some(Box::new(err)),
            };
        }
        _ => BackendErrorKind::Other,
    };
    StoreError::Backend {
        backend: BACKEND,
        kind,
        detail,
        source: Some(Box::new(err)),
    }
}

fn io_kind(io: &std::io::Error) -> BackendErrorKind {
    use std::io::ErrorKind;
    // sled 0.34 reports a held directory lock as `io::Error::new(Other, "could not acquire lock on
    // ...: <the WouldBlock error from flock>")`.
    if io.kind() == ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock") {
        return BackendErrorKind::InUse;
    }
    match io.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => BackendErrorKind::ReadOnly,
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => BackendErrorKind::StorageFull,
        _ => BackendErrorKind::Io,
    }
}

/// The trees of one write transaction (see [`SledKeyStore::write`]).
struct Tx<'a> {
    records: &'a TransactionalTree,
    indexes: [&'a TransactionalTree; INDEX_COUNT],
    usage: &'a TransactionalTree,
    last_used: &'a TransactionalTree,
}

impl<'a> Tx<'a> {
    /// The view of the trees in `write`'s order: records, the indexes, usage, last used.
    fn of(view: &'a [TransactionalTree]) -> Self {
        Self {
            records: &view[0],
            indexes: std::array::from_fn(|index| &view[1 + index]),
            usage: &view[1 + INDEX_COUNT],
            last_used: &view[2 + INDEX_COUNT],
        }
    }
}

/// The stored record `id`, decoded, inside a transaction; `Ok(None)` when absent.
fn load(
    records: &TransactionalTree,
    id: &str,
) -> ConflictableTransactionResult<Option<KeyRecord>, StoreError> {
    match records.get(id.as_bytes())? {
        None => Ok(None),
        Some(bytes) => record_codec::decode(id, &bytes)
            .map(Some)
            .map_err(ConflictableTransactionError::Abort),
    }
}

/// Stores `record` and its index entries, replacing `old`'s entries, inside a transaction.
fn store(
    tx: &Tx<'_>,
    old: Option<&KeyRecord>,
    record: &KeyRecord,
    encoded: &[u8],
) -> ConflictableTransactionResult<(), StoreError> {
    let new_keys = layout::index_keys(record).map_err(ConflictableTransactionError::Abort)?;
    if let Some(old) = old {
        remove_entries(tx.indexes, old)?;
    }
    for (tree, keys) in tx.indexes.iter().zip(&new_keys) {
        for key in keys {
            tree.insert(key.as_slice(), &[] as &[u8])?;
        }
    }
    tx.records.insert(record.id().as_bytes(), encoded)?;
    Ok(())
}

fn remove_entries(
    indexes: [&TransactionalTree; INDEX_COUNT],
    record: &KeyRecord,
) -> ConflictableTransactionResult<(), StoreError> {
    let keys = layout::index_keys(record).map_err(ConflictableTransactionError::Abort)?;
    for (tree, keys) in indexes.iter().zip(&keys) {
        for key in keys {
            tree.remove(key.as_slice())?;
        }
    }
    Ok(())
}

fn abort<A>(err: StoreError) -> ConflictableTransactionResult<A, StoreError> {
    Err(ConflictableTransactionError::Abort(err))
}

/// Every id of `ids` without a record, in order; a `NotFound` abort if there are any.
fn require_all(records: &TransactionalTree, ids: &[String]) -> ConflictableTransactionResult<(), StoreError> {
    let mut missing = Vec::new();
    for id in ids {
        if records.get(id.as_bytes())?.is_none() {
            missing.push(id.clone());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        abort(StoreError::NotFound { ids: missing })
    }
}

fn next_version(record: &KeyRecord) -> Result<u64, StoreError> {
    record.version.checked_add(1).ok_or_else(|| StoreError::Backend {
        backend: BACKEND,
        kind: BackendErrorKind::Other,
        detail: format!(
            "the version of access key {} cannot grow past u64::MAX",
            record.id()
        ),
        source: None,
    })
}

impl KeyStore for SledKeyStore {
    fn insert(&self, record: &KeyRecord) -> Result<(), StoreError> {
        let encoded = record_codec::encode(record)?;
        self.write("insert", |tx| {
            if tx.records.get(record.id().as_bytes())?.is_some() {
                return abort(StoreError::AlreadyExists {
                    id: record.id().to_owned(),
                });
            }
            // Usage of an absent key is never recorded and a delete removes it with the record,
            // so there is none here unless the store was damaged; if there is, it is not the new
            // key's.
            usage::forget(tx, record.id(), &[])?;
            tx.last_used
                .insert(layout::never_used_key(record.id()), &[] as &[u8])?;
            store(tx, None, record, &encoded)
        })
    }

    fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        match self.records.get(id.as_bytes()) {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => self.with_usage(record_codec::decode(id, &bytes)?).map(Some),
            Err(err) => Err(self.error("get", err)),
        }
    }

    fn update(&self, record: &KeyRecord) -> Result<u64, StoreError> {
        let mut next = record.clone();
        next.version = next_version(record)?;
        let encoded = record_codec::encode(&next)?;
        self.write("update", |tx| {
            let Some(old) = load(tx.records, record.id())? else {
                return abort(StoreError::NotFound {
                    ids: vec![record.id().to_owned()],
                });
            };
            if old.version != record.version {
                return abort(StoreError::VersionConflict {
                    id: record.id().to_owned(),
                    expected: record.version,
                });
            }
            store(tx, Some(&old), &next, &encoded)?;
            Ok(next.version)
        })
    }

    fn set_status(&self, ids: &[String], status: KeyStatus) -> Result<(), StoreError> {
        self.write("set_status", |tx| {
            require_all(tx.records, ids)?;
            // Reads inside the transaction see its own writes, so a repeated id is bumped twice,
            // as every other store does.
            for id in ids {
                let Some(old) = load(tx.records, id)? else {
                    continue;
                };
                let mut next = old.clone();
                next.key.status = status;
                next.version = next_version(&old).map_err(ConflictableTransactionError::Abort)?;
                let encoded = record_codec::encode(&next).map_err(ConflictableTransactionError::Abort)?;
                store(tx, Some(&old), &next, &encoded)?;
            }
            Ok(())
        })
    }

    fn delete(&self, ids: &[String]) -> Result<(), StoreError> {
        let unreadable = self.entries_of_unreadable(ids)?;
        let unreadable_usage = self.last_used_entries_of_unreadable(ids)?;
        self.write("delete", |tx| {
            require_all(tx.records, ids)?;
            for id in ids {
                // A repeated id is already gone the second time.
                let Some(bytes) = tx.records.get(id.as_bytes())? else {
                    continue;
                };
                match (record_codec::decode(id, &bytes), unreadable.get(id.as_str())) {
                    (Ok(old), _) => remove_entries(tx.indexes, &old)?,
                    // A record that cannot be decoded is still deleted, with every index entry
                    // that names it, so damage never leaves a key that cannot be removed.
                    (Err(StoreError::Corrupt { .. }), Some(entries)) => {
                        for (index, key) in entries {
                            tx.indexes[*index].remove(key)?;
                        }
                    }
                    (Err(err), _) => return abort(err),
                }
                // The usage goes with the record, so a later key of the same id was never used.
                let found = unreadable_usage.get(id.as_str()).map_or(&[][..], Vec::as_slice);
                usage::forget(tx, id, found)?;
                tx.records.remove(id.as_bytes())?;
            }
            Ok(())
        })
    }

    fn search(&self, query: &SearchQuery) -> Result<Page<KeyRecord>, StoreError> {
        self.search_records(query)
    }
}
