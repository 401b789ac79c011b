//! A [`KeyStore`](ak_core::KeyStore) on PostgreSQL: one store shared by every node of an
//! application (or every `ak serve`) behind a load balancer.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ak_core::{CreateKey, KeyManager};
//! use ak_postgres::{PgConfig, PgStore};
//!
//! let config = PgConfig::from_url("postgres://ak@db.internal/keys?sslmode=require")?.schema("ak");
//! let store = PgStore::open(&config)?;
//! let manager = KeyManager::builder(Arc::new(store.clone())).build()?;
//! let created = manager.create(CreateKey::named("deploy bot"))?;
//!
//! // Another node opening the same database and schema sees the key at once.
//! let other = KeyManager::builder(Arc::new(PgStore::open(&config)?)).build()?;
//! assert_eq!(other.load(&created.key.id)?, created.key);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Connections
//!
//! [`PgStore`] keeps a pool of at most [`PgConfig::pool_size`] connections of the synchronous
//! `postgres` client, opened on demand; a call waits up to [`PgConfig::checkout_timeout`] for a
//! free one, then fails with [`BackendErrorKind::PoolExhausted`](ak_core::BackendErrorKind).
//! `sslmode=require` connects through rustls and verifies the server (see [`PgConfig`]).
//!
//! # Durability and consistency
//!
//! Every write is one transaction: a compare-and-swap check and its write (`UPDATE ... WHERE id
//! = $1 AND version = $2`), a batch (`set_status`, `delete`, which lock their rows in id order),
//! a record and its indexed columns are committed together or not at all. Every session runs
//! with `synchronous_commit = on` (set in its startup options, overriding server, role and
//! database defaults), so a write is acknowledged only once the server has flushed it to its
//! WAL; opening refuses a server with `fsync = off`. Reads see the last committed write of any
//! node: a revocation on one node is refused by every other node's very next call.
//!
//! A serialization failure or deadlock (SQLSTATE `40001`, `40P01`), and a connection lost
//! before `COMMIT` was sent, are retried, up to [`MAX_ATTEMPTS`] runs in all; then the call fails
//! with a typed [`StoreError`](ak_core::StoreError). A connection lost *during* `COMMIT` is not
//! retried (the write may have been applied): the error is
//! [`BackendErrorKind::Unavailable`](ak_core::BackendErrorKind) and says so. A lost connection
//! is closed and the pool's idle connections with it, so after a server restart the next call
//! reconnects; the store never has to be reopened.
//!
//! # Errors
//!
//! Failures are [`StoreError::Backend`](ak_core::StoreError::Backend) with backend `"postgres"`,
//! a detail naming `host:port/database`, the schema and the operation (never the password), the
//! client's error as source, and a kind: connection refused or lost, server shutting down, too
//! many connections → `Unavailable`; authentication failed, unknown role or database, missing
//! privilege → `Denied`; `53100` → `StorageFull`; `25006` (a read-only standby) → `ReadOnly`;
//! lock timeouts and persistent serialization failures → `Locked`. A row that does not decode is
//! [`StoreError::Corrupt`](ak_core::StoreError::Corrupt).
//!
//! # Schema
//!
//! Everything lives in one schema ([`PgConfig::schema`], default `ak`), version
//! [`SCHEMA_VERSION`], marked by the row `('ak', version)` of its `schema_meta` table.
//! Opening reads before it writes: a schema that holds tables but no ak marker (another
//! application's) and an ak schema newer than this code are refused with kind `Incompatible`
//! and left exactly as they were. Otherwise the migrations run in one transaction holding
//! `pg_advisory_xact_lock(`[`MIGRATION_LOCK`]`, hashtext(schema))`, re-checking under the lock,
//! so nodes starting at once migrate exactly once. Version 3 alters the GIN indexes (an `ACCESS
//! EXCLUSIVE` lock on each, held to the commit) only where `fastupdate` is not off already, and
//! waits at most [`MIGRATION_LOCK_TIMEOUT`] for each such lock: a node migrating behind another
//! node's long transaction fails to open with kind `Locked` and changes nothing, instead of
//! stalling every node's queries; opening it again retries.
//!
//! * `keys(id PRIMARY KEY, name, status, created_time, expire_time, created_by, bound_user_id,
//!   tenant_ids text[], attributes jsonb, version, body)`: the whole
//!   [`KeyRecord`](ak_core::KeyRecord) as JSON in `body` (the same encoding as the SQLite store)
//!   and a copy of every searchable field, kept in sync by every write. B-tree indexes
//!   `(created_time, id)`, `(name, id)`, `(status, created_time, id)`, `(status, name, id)`,
//!   `(bound_user_id, created_time, id)`, `(created_by, created_time, id)`; GIN indexes on
//!   `tenant_ids` and on `attributes` (`jsonb_path_ops`, for `@>`). Text compares byte-wise
//!   (`COLLATE "C"`), the order searches promise.
//!   Version 2 added `last_used_time` and `last_used_ip` (the [`KeyUsageStore`](ak_core::usage::KeyUsageStore)
//!   columns, written without touching `version` or `body`), indexed with `(last_used_time, id)`,
//!   and `(expire_time, id)`. Version 3 turned `fastupdate` off on the GIN indexes, so that no
//!   search reads a pending list of entries that only a vacuum would merge.
//! * `management_keys(id PRIMARY KEY, body)`, `signing_keys(id = 1, version, sealed bytea)`,
//!   `webhooks(id PRIMARY KEY, body)`.
//! * `audit_events(id PRIMARY KEY, occurred, action, actor, key_ids text[], body)`, indexed by
//!   `(occurred, id)`, `(action, occurred, id)`, `(actor, occurred, id)` and a GIN index on
//!   `key_ids`; appends are idempotent by id (`ON CONFLICT DO NOTHING`).
//!
//! A point load is one primary-key lookup. A search narrows by every indexed filter in SQL,
//! walks the sort order from the cursor with a keyset condition and a `LIMIT`, and re-checks
//! every filter on the decoded records ([`PgStore::explain_search`] shows the plan). With a
//! tenant or custom-attribute filter (or a bound user or creator when sorting by name), whose
//! index cannot give the order, it first reads at most 2,001 matches through that index and
//! sorts them, and walks the sort order only for a larger selection: a small tenant costs the
//! same in a large table, also before `ANALYZE` has gathered statistics. An upper bound on the
//! expiry time (`expires_before`, or expired at a time) with none of those filters, nor a status,
//! is read the same way through `keys_by_expire_time`, in expiry order.

mod audit;
mod config;
mod error;
mod keys;
mod management;
mod pool;
mod schema;
mod search;
mod signing;
mod store;
mod tls;
mod usage;
mod webhook;

pub use config::{
    DEFAULT_CHECKOUT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_SIZE, DEFAULT_SCHEMA, PgConfig,
};
pub use schema::{APPLICATION, MIGRATION_LOCK, MIGRATION_LOCK_TIMEOUT, SCHEMA_VERSION, valid_schema_name};
pub use store::{MAX_ATTEMPTS, PgStore};

/// Compile-time proof that a [`PgStore`] can be shared across threads and nodes' components.
const _: fn() = || {
    fn shareable<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    shareable::<PgStore>();
    shareable::<PgConfig>();
};
