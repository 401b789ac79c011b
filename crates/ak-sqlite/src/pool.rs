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
    /// Callers blocked in [`ReaderPool::get`] until a reader is returned: a return wakes one only
    /// when there is one, so the common case (a free reader) makes no futex call.
    waiting: usize,
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
                        let mut state = self.lock();
                        state.open -= 1;
                        self.wake_one(state);
                        Err(err)
                    }
                };
            }
            state.waiting += 1;
            state = self.returned.wait(state).unwrap_or_else(PoisonError::into_inner);
            state.waiting -= 1;
        }
    }

    /// Wakes one caller waiting in [`get`](Self::get), if any (decided under the lock, where
    /// waiters register, so no wake-up is lost).
    fn wake_one(&self, state: MutexGuard<'_, PoolState>) {
        let waiting = state.waiting > 0;
        drop(state);
        if waiting {
            self.returned.notify_one();
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
            let mut state = self.pool.lock();
            state.idle.push(conn);
            self.pool.wake_one(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn pool(max: usize) -> ReaderPool {
        ReaderPool::new(
            ":memory:".into(),
            "test".into(),
            OpenFlags::default(),
            false,
            Duration::from_secs(1),
            max,
        )
    }

    /// A caller waiting for the only reader gets it when it is returned: the return sees the
    /// registered waiter and wakes it.
    #[test]
    fn a_returned_reader_wakes_a_waiting_caller() {
        let pool = pool(1);
        let held = pool.get().unwrap();
        let (sent, received) = mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let reader = pool.get().unwrap();
                sent.send(reader.is_autocommit()).unwrap();
            });
            while pool.lock().waiting == 0 {
                std::thread::yield_now();
            }
            assert!(received.try_recv().is_err(), "the only reader is still held");
            drop(held);
            assert!(
                received
                    .recv_timeout(Duration::from_secs(60))
                    .expect("no answer: a lost wake-up")
            );
        });
        let state = pool.lock();
        assert_eq!((state.waiting, state.open, state.idle.len()), (0, 1, 1));
    }
}
