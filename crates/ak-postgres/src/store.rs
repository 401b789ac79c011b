//! [`PgStore`]: the connection pool, the schema, and how every call runs (transactions, bounded
//! retries of serialization failures and lost connections).

use std::sync::Arc;
use std::time::Duration;

use ak_core::{BackendErrorKind, StoreError};
use postgres::Transaction;

use postgres::types::ToSql;

use crate::config::PgConfig;
use crate::error::{Fail, backend, is_connection_lost, is_retryable, pg};
use crate::pool::{Conn, Pool};
use crate::schema;

/// How many times a call runs at most when the server rolled it back (serialization failure,
/// deadlock) or the connection was lost before anything could have committed.
pub const MAX_ATTEMPTS: u32 = 5;

/// A [`KeyStore`](ak_core::KeyStore), [`ManagementKeyStore`](ak_core::management::ManagementKeyStore)
/// and [`SigningKeyStore`](ak_core::SigningKeyStore) on PostgreSQL, shared by every node that
/// opens the same database and schema.
///
/// Cloning is cheap and shares the pool. See the [crate documentation](crate).
///
/// **Blocking: never call it on an async runtime thread.** The store uses the synchronous
/// `postgres` client, which runs its own runtime inside every call: calling a `PgStore` (or
/// dropping the last handle, which closes its connections) from a thread that drives a tokio
/// runtime panics. From async code, call it through `tokio::task::spawn_blocking` (or a thread
/// of your own).
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    schema: String,
    /// `"schema"`, for splicing into statements (the name was validated).
    pub(crate) quoted: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("server", &self.inner.pool.label())
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects, checks the server and the schema, and migrates it.
    ///
    /// Refused, with nothing created or changed: an invalid schema name
    /// ([`BackendErrorKind::Incompatible`]); a server that cannot be reached
    /// ([`BackendErrorKind::Unavailable`]) or refuses the login ([`BackendErrorKind::Denied`]);
    /// a server with `fsync` off or sessions with `synchronous_commit` off; a schema holding
    /// tables without ak's marker (another application's); an ak schema newer than
    /// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION) (all [`BackendErrorKind::Incompatible`]).
    ///
    /// A migration that waits longer than [`MIGRATION_LOCK_TIMEOUT`](crate::MIGRATION_LOCK_TIMEOUT)
    /// for a lock another session holds fails with [`BackendErrorKind::Locked`], the schema
    /// rolled back to its version; opening again retries.
    pub fn open(config: &PgConfig) -> Result<Self, StoreError> {
        if !schema::valid_schema_name(&config.schema) {
            return Err(backend(
                BackendErrorKind::Incompatible,
                format!(
                    "{}: invalid schema name {:?} (expected ^[a-z_][a-z0-9_]{{0,62}}$, not pg_*)",
                    config.label(),
                    config.schema
                ),
                None,
            ));
        }
        let store = Self {
            inner: Arc::new(Inner {
                pool: Pool::new(config)?,
                schema: config.schema.clone(),
                quoted: format!("\"{}\"", config.schema),
            }),
        };
        store.run("opening the store", |conn| {
            schema::check_durability(&mut conn.client, store.label())?;
            schema::migrate(&mut conn.client, store.label(), &store.inner.schema)
        })?;
        Ok(store)
    }

    /// `host:port/database`, as errors name the server.
    pub fn label(&self) -> &str {
        self.inner.pool.label()
    }

    /// The schema the store's tables live in.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// `"schema".table`.
    pub(crate) fn table(&self, table: &str) -> String {
        format!("{}.{table}", self.inner.quoted)
    }

    fn error(&self, err: postgres::Error, operation: &str, outcome_unknown: bool) -> StoreError {
        let mut detail = format!("{} (schema {}): {operation}", self.label(), self.inner.schema);
        if outcome_unknown {
            detail.push_str(
                " (the connection was lost while committing: the write may or may not have been applied)",
            );
        }
        if is_retryable(&err) {
            detail.push_str(&format!(" (still conflicting after {MAX_ATTEMPTS} attempts)"));
        }
        pg(err, detail)
    }

    /// Runs `op` on a pooled connection, at most [`MAX_ATTEMPTS`] times: again after a
    /// serialization failure or deadlock (the server rolled it back), and after a lost connection
    /// unless it was lost while committing ([`Fail::Commit`]: the outcome is unknown, so the
    /// caller is told instead of the write being repeated).
    ///
    /// A lost connection is closed, not returned to the pool, and the pool's idle connections
    /// are closed too (a server restart took them all): the next call connects afresh.
    fn run<T>(
        &self,
        operation: &str,
        mut op: impl FnMut(&mut Conn) -> Result<T, Fail>,
    ) -> Result<T, StoreError> {
        let mut attempt = 1;
        loop {
            let mut pooled = self.inner.pool.get()?;
            let (err, committing) = match op(pooled.conn()) {
                Ok(value) => return Ok(value),
                Err(Fail::Store(err)) => return Err(err),
                Err(Fail::Pg(err)) => (err, false),
                Err(Fail::Commit(err)) => (err, true),
            };
            let lost = is_connection_lost(&err) || pooled.conn().client.is_closed();
            if lost {
                pooled.discard();
                self.inner.pool.purge_idle();
            } else {
                drop(pooled);
            }
            let again = attempt < MAX_ATTEMPTS && (is_retryable(&err) || (lost && !committing));
            if !again {
                return Err(self.error(err, operation, lost && committing));
            }
            std::thread::sleep(backoff(attempt));
            attempt += 1;
        }
    }

    /// Runs `op` outside a transaction: reads, which are retried after a lost connection.
    pub(crate) fn read<T>(
        &self,
        operation: &str,
        mut op: impl FnMut(&mut Db<'_>) -> Result<T, Fail>,
    ) -> Result<T, StoreError> {
        self.run(operation, |conn| op(&mut Db { conn }))
    }

    /// Runs `op` in one transaction and commits it. A connection lost before `COMMIT` was sent
    /// is retried on a new connection (the server rolled the transaction back); one lost during
    /// `COMMIT` is an [`BackendErrorKind::Unavailable`] error that says the outcome is unknown.
    pub(crate) fn write<T>(
        &self,
        operation: &str,
        mut op: impl FnMut(&mut Tx<'_>) -> Result<T, Fail>,
    ) -> Result<T, StoreError> {
        self.run(operation, |conn| {
            let (client, statements) = conn.split();
            let mut tx = Tx {
                tx: client.transaction()?,
                statements,
            };
            let value = op(&mut tx)?;
            tx.tx.commit().map_err(Fail::Commit)?;
            Ok(value)
        })
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(5u64 << attempt.min(6))
}

/// A connection outside a transaction.
pub(crate) struct Db<'a> {
    conn: &'a mut Conn,
}

impl Db<'_> {
    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, Fail> {
        let statement = self.conn.prepare(sql)?;
        Ok(self.conn.client.query(&statement, params)?)
    }

    /// Runs `sql` as an unnamed statement with typed parameters: one round trip, planned for
    /// these values (no generic plan), for statements whose text changes with the query.
    pub(crate) fn query_typed(
        &mut self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), postgres::types::Type)],
    ) -> Result<Vec<postgres::Row>, Fail> {
        Ok(self.conn.client.query_typed(sql, params)?)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, Fail> {
        let statement = self.conn.prepare(sql)?;
        Ok(self.conn.client.query_opt(&statement, params)?)
    }
}

/// A connection inside a transaction.
pub(crate) struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut crate::pool::Statements,
}

impl Tx<'_> {
    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, Fail> {
        let statement = self.prepare(sql)?;
        Ok(self.tx.query(&statement, params)?)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Fail> {
        let statement = self.prepare(sql)?;
        Ok(self.tx.execute(&statement, params)?)
    }
}

impl PgStore {
    /// The server's plan (`EXPLAIN`, text format) for the first chunk of `query`: what an
    /// operator checks to see that a search walks an index.
    pub fn explain_search(&self, query: &ak_core::SearchQuery) -> Result<String, StoreError> {
        let position = query
            .position()
            .map_err(|err| backend(BackendErrorKind::Other, format!("explain: {err}"), None))?;
        let plan = crate::search::plan(
            &self.table("keys"),
            query,
            position.as_ref(),
            crate::search::first_chunk(query),
        );
        let sql = format!("EXPLAIN {}", plan.sql);
        self.read("explain search", |db| {
            let rows = db.query_typed(&sql, &plan.typed())?;
            Ok(rows
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n"))
        })
    }
}
