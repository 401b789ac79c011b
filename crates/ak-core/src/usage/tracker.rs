//! [`UsageTracker`]: last-used times, coalesced per key and written off the exchange path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::store::{KeyUsage, KeyUsageStore};

/// How often the tracker writes last-used times: every 60 s (Unkey's minute granularity). A key
/// is written at most once per interval however often it is used, so `lastUsedTime` lags real
/// use by up to one interval, and a crash loses at most the last interval's updates.
pub const DEFAULT_USAGE_INTERVAL: Duration = Duration::from_secs(60);
/// Most distinct keys waiting for one write; uses of further keys in the interval are dropped
/// (and counted) until the next write.
pub const MAX_PENDING_KEYS: usize = 100_000;

/// Tracks when each key was last used and writes it to a [`KeyUsageStore`] from a background
/// thread.
///
/// [`touch`](Self::touch) only updates an in-memory map (a short mutex section, no I/O). Every
/// interval the writer sends every key touched since the last write in one
/// [`record_key_usage`](KeyUsageStore::record_key_usage) call, so each key costs at most one
/// store write per interval; a thousand exchanges of one key in an interval are one write. A
/// failed write keeps the entries for the next one. [`flush`](Self::flush) writes at once;
/// [`shutdown`](Self::shutdown) (also run on drop) writes what is pending and stops the thread.
pub struct UsageTracker {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for UsageTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageTracker")
            .field("store", &self.shared.store)
            .field("interval", &self.shared.interval)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Shared {
    store: Arc<dyn KeyUsageStore>,
    interval: Duration,
    state: Mutex<State>,
    wake: Condvar,
    written: Condvar,
    dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    pending: HashMap<String, KeyUsage>,
    /// Incremented by every touch; `finished` is the value the last completed write saw.
    touches: u64,
    finished: u64,
    flush_requested: bool,
    shutdown: bool,
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl UsageTracker {
    /// A tracker writing to `store` every [`DEFAULT_USAGE_INTERVAL`].
    pub fn new(store: Arc<dyn KeyUsageStore>) -> Self {
        Self::with_interval(store, DEFAULT_USAGE_INTERVAL)
    }

    /// A tracker writing to `store` every `interval`.
    pub fn with_interval(store: Arc<dyn KeyUsageStore>, interval: Duration) -> Self {
        let shared = Arc::new(Shared {
            store,
            interval,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            written: Condvar::new(),
            dropped: AtomicU64::new(0),
        });
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("ak-usage-writer".into())
            .spawn(move || run_writer(&writer_shared));
        let writer = match writer {
            Ok(handle) => Some(handle),
            Err(err) => {
                tracing::error!(error = %err, "cannot start the last-used writer thread; last-used times will not be recorded");
                shared.lock().stopped = true;
                None
            }
        };
        Self {
            shared,
            writer: Mutex::new(writer),
        }
    }

    /// Notes that `key_id` was used at `time` (Unix seconds) from `ip`. Never waits for I/O.
    pub fn touch(&self, key_id: &str, time: i64, ip: Option<&str>) {
        let mut state = self.shared.lock();
        if state.shutdown || state.stopped {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.touches += 1;
        if let Some(entry) = state.pending.get_mut(key_id) {
            if time >= entry.time {
                entry.time = time;
                if entry.ip.as_deref() != ip {
                    entry.ip = ip.map(str::to_owned);
                }
            }
            return;
        }
        if state.pending.len() >= MAX_PENDING_KEYS {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.pending.insert(
            key_id.to_owned(),
            KeyUsage {
                key_id: key_id.to_owned(),
                time,
                ip: ip.map(str::to_owned),
            },
        );
    }

    /// Uses that could not be kept (too many distinct keys pending, or after shutdown).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Writes every use noted before the call now, and waits for it. For tests and callers about
    /// to exit; the exchange path never calls it.
    pub fn flush(&self) {
        let mut state = self.shared.lock();
        let target = state.touches;
        if state.finished >= target {
            return;
        }
        state.flush_requested = true;
        self.shared.wake.notify_one();
        while state.finished < target && !state.stopped {
            state = self
                .shared
                .written
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Writes what is pending, stops the writer and waits for it. Dropping the tracker does the
    /// same.
    pub fn shutdown(&self) {
        {
            let mut state = self.shared.lock();
            state.shutdown = true;
            self.shared.wake.notify_one();
        }
        let handle = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            tracing::error!("the last-used writer thread panicked");
        }
    }
}

impl Drop for UsageTracker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run_writer(shared: &Shared) {
    loop {
        let (batch, through, shutdown) = {
            let mut state = shared.lock();
            if !(state.flush_requested || state.shutdown) {
                state = shared
                    .wake
                    .wait_timeout(state, shared.interval)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            state.flush_requested = false;
            let batch: Vec<KeyUsage> = state.pending.drain().map(|(_, usage)| usage).collect();
            (batch, state.touches, state.shutdown)
        };
        let failed = if batch.is_empty() {
            None
        } else {
            match shared.store.record_key_usage(&batch) {
                Ok(()) => None,
                Err(err) => {
                    tracing::warn!(error = %err, keys = batch.len(), "recording last-used times failed; retrying at the next interval");
                    Some(batch)
                }
            }
        };
        let mut state = shared.lock();
        if let Some(batch) = failed {
            if shutdown {
                let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
                shared.dropped.fetch_add(count, Ordering::Relaxed);
            } else {
                for usage in batch {
                    let newer = state
                        .pending
                        .get(&usage.key_id)
                        .is_some_and(|pending| pending.time >= usage.time);
                    if !newer {
                        state.pending.insert(usage.key_id.clone(), usage);
                    }
                }
            }
        }
        state.finished = through;
        let done = shutdown;
        if done {
            state.stopped = true;
        }
        shared.written.notify_all();
        if done {
            return;
        }
    }
}
