//! A small blocking connection pool: idle connections in a `Vec`, a `Condvar` to wait for one,
//! a checkout timeout, and broken connections dropped instead of returned.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ak_core::{BackendErrorKind, StoreError};
use postgres::{Client, NoTls, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::PgConfig;
use crate::error::{backend, pg};

/// Statements prepared on one connection, by their SQL.
pub(crate) type Statements = HashMap<String, Statement>;

/// One connection and the statements prepared on it.
pub(crate) struct Conn {
    pub(crate) client: Client,
    statements: Statements,
}

impl Conn {
    /// The client and the statement cache, borrowed apart (for a transaction).
    pub(crate) fn split(&mut self) -> (&mut Client, &mut Statements) {
        (&mut self.client, &mut self.statements)
    }

    /// The statement for `sql`, prepared on this connection once.
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

enum Tls {
    None,
    Rustls(MakeRustlsConnect),
}

struct State {
    idle: Vec<Conn>,
    /// Connections open or being opened, idle or checked out.
    open: usize,
}

/// The pool. Cloning shares it.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    config: postgres::Config,
    tls: Tls,
    label: String,
    max: usize,
    checkout_timeout: Duration,
    state: Mutex<State>,
    returned: Condvar,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("server", &self.inner.label)
            .field("max", &self.inner.max)
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub(crate) fn new(config: &PgConfig) -> Result<Self, StoreError> {
        let tls = if config.tls() {
            Tls::Rustls(crate::tls::connector(config)?)
        } else {
            Tls::None
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config: config.pg.clone(),
                tls,
                label: config.label().to_owned(),
                max: config.pool_size,
                checkout_timeout: config.checkout_timeout,
                state: Mutex::new(State {
                    idle: Vec::new(),
                    open: 0,
                }),
                returned: Condvar::new(),
            }),
        })
    }

    /// The server, as errors name it.
    pub(crate) fn label(&self) -> &str {
        &self.inner.label
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle connection, a new one if fewer than the maximum are open, or the first one
    /// returned within the checkout timeout.
    pub(crate) fn get(&self) -> Result<Pooled, StoreError> {
        let deadline = Instant::now() + self.inner.checkout_timeout;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled {
                    conn: Some(conn),
                    pool: self.clone(),
                });
            }
            if state.open < self.inner.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Pooled {
                        conn: Some(conn),
                        pool: self.clone(),
                    }),
                    Err(err) => {
                        self.forget_one();
                        Err(err)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(backend(
                    BackendErrorKind::PoolExhausted,
                    format!(
                        "{}: all {} connections stayed in use for {:?}",
                        self.inner.label, self.inner.max, self.inner.checkout_timeout
                    ),
                    None,
                ));
            }
            state = self
                .inner
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn connect(&self) -> Result<Conn, StoreError> {
        let result = match &self.inner.tls {
            Tls::None => self.inner.config.connect(NoTls),
            Tls::Rustls(tls) => self.inner.config.connect(tls.clone()),
        };
        let client = result.map_err(|err| pg(err, format!("{}: connecting", self.inner.label)))?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn forget_one(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.inner.returned.notify_one();
    }

    /// Closes every idle connection: after one connection was lost (a server restart, a
    /// failover), the others most likely were too, and the next calls should not meet them.
    pub(crate) fn purge_idle(&self) {
        let mut state = self.lock();
        let idle = std::mem::take(&mut state.idle);
        state.open = state.open.saturating_sub(idle.len());
        drop(state);
        self.inner.returned.notify_all();
        drop(idle);
    }

    fn put_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            self.forget_one();
            return;
        }
        self.lock().idle.push(conn);
        self.inner.returned.notify_one();
    }
}

/// A checked-out connection, returned to the pool on drop unless it broke.
pub(crate) struct Pooled {
    conn: Option<Conn>,
    pool: Pool,
}

impl Pooled {
    /// The connection.
    pub(crate) fn conn(&mut self) -> &mut Conn {
        // Only `discard` and `drop` take it out, and both consume the guard.
        self.conn.as_mut().expect("a checked-out connection")
    }

    /// Closes the connection instead of returning it.
    pub(crate) fn discard(mut self) {
        drop(self.conn.take());
        self.pool.forget_one();
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put_back(conn);
        }
    }
}
