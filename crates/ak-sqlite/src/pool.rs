//! A small, bounded pool of reader connections, opened lazily.

use std::ops::Deref;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ak_core::StoreError;
use rusqlite::{Connection, OpenFlags};

use crate::error::opening;

/// Where and how reader connections are opened.
#[derive(Debug)]
pub(crate) struct ReaderPool {
    target: String,
    label: String,
    flags: OpenFlags,
    query_only: bool,
    busy_timeout: Duration,
    max: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

#[derive(Debug, Default)]
struct PoolState {
    idle: Vec<Connection>,
    open: usize,
}

/// A checked-out reader; goes back to the pool on drop.
#[derive(Debug)]
pub(crate) struct Reader<'pool> {
    pool: &'pool ReaderPool,
    conn: Option<Connection>,
}

impl ReaderPool {
    /// A pool of at most `max` connections to `target` (a path, or a URI when `flags` say so).
    pub(crate) fn new(
        target: String,
        label: String,
        flags: OpenFlags,
        query_only: bool,
        busy_timeout: Duration,
        max: usize,
    ) -> Self {
        Self {
            target,
            label,
            flags,
            query_only,
            busy_timeout,
            max: max.max(1),
            state: Mutex::default(),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle reader, a new one if fewer than `max` exist, or the next one returned.
    pub(crate) fn get(&self) -> Result<Reader<'_>, StoreError> {
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Reader {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Reader {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(err) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(err)
                    }
                };
            }
            state = self.returned.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let fail = |err| opening(err, format!("{}: opening a reader connection", self.label));
        let conn = Connection::open_with_flags(&self.target, self.flags).map_err(fail)?;
        conn.busy_timeout(self.busy_timeout).map_err(fail)?;
        if self.query_only {
            conn.pragma_update(None, "query_only", true).map_err(fail)?;
        }
        Ok(conn)
    }
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("reader used after drop"))
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.lock().idle.push(conn);
            self.pool.returned.notify_one();
        }
    }
}
