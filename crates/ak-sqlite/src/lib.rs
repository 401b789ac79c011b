//! A [`KeyStore`](ak_core::KeyStore) on SQLite.
//!
//! ```
//! use std::sync::Arc;
//! use ak_core::{CreateKey, KeyManager};
//! use ak_sqlite::SqliteKeyStore;
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteKeyStore::open(dir.path().join("keys.db"))?;
//! let manager = KeyManager::builder(Arc::new(store)).build()?;
//! let created = manager.create(CreateKey::named("deploy bot"))?;
//! assert_eq!(manager.load(&created.key.id)?.name, "deploy bot");
//!
//! // Everything acknowledged is in the file: re-open it and the key is there.
//! drop(manager);
//! let manager = KeyManager::builder(Arc::new(SqliteKeyStore::open(dir.path().join("keys.db"))?)).build()?;
//! assert_eq!(manager.load(&created.key.id)?, created.key);
//!
//! // Or keep everything in memory, for tests.
//! let _scratch = SqliteKeyStore::open_in_memory()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Durability
//!
//! Every write (`insert`, `update`, `set_status`, `delete`, and the management-key, signing-key and
//! webhook writes) is one `BEGIN IMMEDIATE` transaction,
//! so a compare-and-swap check and its write are atomic, a batch is all-or-nothing, and a record
//! and its tenant rows are written together: a crash leaves neither a partial record nor an
//! orphaned index row. The database runs in WAL mode with `synchronous = FULL`: the WAL is
//! fsynced at every commit, so a write that returned `Ok` survives a crash of the process *and*
//! of the machine (power loss), provided the disk honours fsync. The cost is one fsync per write
//! (typically 0.1 to a few ms on an SSD); `NORMAL` would skip it but could lose the last writes,
//! including a revocation, on power loss, which this store does not accept.
//!
//! # Concurrency
//!
//! A file store has one writer connection behind a mutex and a bounded pool of read-only reader
//! connections ([`SqliteOptions::max_readers`], opened on first use). In WAL mode readers do not
//! block the writer nor each other, and each read sees the last committed state. Several processes
//! may use one file at once (an application and the CLI): writers take turns through SQLite's
//! locks and wait up to the busy timeout ([`SqliteOptions::busy_timeout`], 5 s by default)
//! before failing with [`BackendErrorKind::Locked`](ak_core::BackendErrorKind::Locked). Do not
//! put the file on a network file system (WAL needs shared memory on one host).
//!
//! An in-memory store ([`SqliteKeyStore::open_in_memory`]) is a uniquely named shared-cache
//! memory database, so its connections see the same data; it has table locks instead of WAL, so a
//! read waits (retrying) while a write transaction is open. A store made with
//! [`SqliteKeyStore::from_connection`] uses the caller's connection for everything.
//!
//! # Errors
//!
//! SQLite failures become [`StoreError::Backend`](ak_core::StoreError::Backend) with backend
//! `"sqlite"`, the path and the operation in `detail`, the SQLite error as source, and a kind:
//! `SQLITE_READONLY` → `ReadOnly`, `SQLITE_FULL` → `StorageFull`, `SQLITE_BUSY`/`SQLITE_LOCKED`
//! → `Locked`, `SQLITE_NOTADB` → `Incompatible`, `SQLITE_CANTOPEN`/`SQLITE_IOERR` → `Io`. A
//! row that does not decode is [`StoreError::Corrupt`](ak_core::StoreError::Corrupt).
//!
//! Opening checks an existing file before writing anything to it: an empty file, a non-SQLite
//! file, another application's database (`PRAGMA application_id` is not [`APPLICATION_ID`]) and
//! an ak database from a newer ak (`PRAGMA user_version` above [`SCHEMA_VERSION`]) are refused
//! with kind `Incompatible` and left byte-for-byte as they were. Only a path where no file exists
//! is created; the new database is built under a temporary name and linked into place, so the
//! path never holds a half-initialised database.
//!
//! # Schema
//!
//! Version 5 (`PRAGMA user_version`; migrations run in one transaction on open, so a version 1
//! database gains the `management_keys` table, a version 2 one the `signing_keys` table, and a
//! version 3 one the `webhooks` table, and a version 4 one the usage columns and the audit
//! tables, the first time a version 5 ak opens it):
//!
//! * `keys(id PRIMARY KEY, name, status, created_time, expire_time, created_by, bound_user_id,
//!   version, body)`: one row per key, the whole [`KeyRecord`](ak_core::KeyRecord) as JSON in
//!   `body` (roles, permitted IPs, custom claims and attributes live there) and scalar copies of
//!   the searchable fields, each indexed together with the sort order: `(created_time, id)`,
//!   `(name, id)`, `(status, created_time, id)`, `(bound_user_id, created_time, id)`,
//!   `(created_by, created_time, id)`.
//! * `key_tenants(tenant_id, key_id)`, `WITHOUT ROWID`, primary key `(tenant_id, key_id)` plus an
//!   index on `key_id`: a tenant search is an index lookup, never JSON parsing of every row.
//!
//! * `management_keys(id PRIMARY KEY, body)`: one row per management key, the whole
//!   [`ManagementKeyRecord`](ak_core::management::ManagementKeyRecord) as JSON; no access-key
//!   query touches it.
//! * `signing_keys(id PRIMARY KEY CHECK (id = 1), version, sealed)`: at most one row, the sealed
//!   signing-key set ([`SigningKeyStore`](ak_core::SigningKeyStore)); a replace is one
//!   `UPDATE ... WHERE version = ?` (or the first `INSERT`) in a `BEGIN IMMEDIATE` transaction.
//! * `webhooks(id PRIMARY KEY, body)`: one row per webhook, the whole
//!   [`WebhookRecord`](ak_core::webhook::WebhookRecord) as JSON (its secret sealed by the facade,
//!   base64); no other query touches it.
//!
//! * `keys.last_used_time`, `keys.last_used_ip`: the last use
//!   ([`KeyUsageStore`](ak_core::usage::KeyUsageStore)), written by their own `UPDATE` that never
//!   touches `version` or `body` (the body never holds usage); indexed as `(last_used_time, id)`,
//!   and `(expire_time, id)` for the expiry filter.
//! * `audit_events(id PRIMARY KEY, occurred, action, actor, body)`: one row per
//!   [`AuditEvent`](ak_core::audit::AuditEvent), the event as JSON in `body`, indexed by
//!   `(occurred, id)` and `(action, occurred, id)`; `audit_event_keys(key_id, occurred, event_id)`,
//!   `WITHOUT ROWID`, one row per key of an event, so a key's trail is a reverse walk of its
//!   primary key. An append is one transaction (`INSERT OR IGNORE`: idempotent by id); pruning
//!   deletes by `occurred` (and by the `(occurred, id)` of the oldest kept event for the count).
//!
//! A point load is a primary-key lookup. A search narrows by tenant, status, bound user and
//! creator in SQL, walks the sort order with a keyset condition from the cursor, and re-checks
//! every filter on the decoded records, stopping after one row more than the page.

mod audit;
mod error;
mod json_table;
mod management;
mod pool;
mod schema;
mod search;
mod signing;
mod store;
mod usage;
mod webhook;

pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::{DEFAULT_BUSY_TIMEOUT, DEFAULT_MAX_READERS, SqliteKeyStore, SqliteOptions};
