//! [`UsageTracker`]: last-used times, coalesced per key and written off the exchange path.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::store::{KeyUsage, KeyUsageStore};
use crate::batch_writer::{BatchJob, BatchWriter};

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
    writer: BatchWriter<UsageWriter>,
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
    dropped: AtomicU64,
}

/// The last use of each key touched since the last write.
type Pending = HashMap<String, KeyUsage>;

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
            dropped: AtomicU64::new(0),
        });
        let job = UsageWriter {
            shared: Arc::clone(&shared),
        };
        Self {
            shared,
            writer: BatchWriter::spawn(job, interval),
        }
    }

    /// Notes that `key_id` was used at `time` (Unix seconds) from `ip`. Never waits for I/O.
    pub fn touch(&self, key_id: &str, time: i64, ip: Option<&str>) {
        let mut pending = self.writer.intake();
        if !pending.is_open() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.accept();
        if let Some(entry) = pending.get_mut(key_id) {
            if time >= entry.time {
                entry.time = time;
                if entry.ip.as_deref() != ip {
                    entry.ip = ip.map(str::to_owned);
                }
            }
            return;
        }
        if pending.len() >= MAX_PENDING_KEYS {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.insert(
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
        self.writer.flush();
    }

    /// Writes what is pending, stops the writer and waits for it. Dropping the tracker does the
    /// same.
    pub fn shutdown(&self) {
        self.writer.shutdown();
    }
}

/// The tracker's batch logic: write every pending key's last use at once; keep a failed batch
/// for the next round (but not past the shutdown's).
struct UsageWriter {
    shared: Arc<Shared>,
}

impl BatchJob for UsageWriter {
    type Pending = Pending;
    type Batch = Vec<KeyUsage>;
    /// The batch to retry, if the write failed.
    type Written = Option<Vec<KeyUsage>>;

    const THREAD: &'static str = "ak-usage-writer";
    const WITHOUT_THREAD: &'static str = "last-used times will not be recorded";

    fn take(&mut self, pending: &mut Pending) -> Vec<KeyUsage> {
        pending.drain().map(|(_, usage)| usage).collect()
    }

    fn write(&mut self, batch: Vec<KeyUsage>, last: bool) -> Option<Vec<KeyUsage>> {
        if batch.is_empty() {
            return None;
        }
        let err = self.shared.store.record_key_usage(&batch).err()?;
        tracing::warn!(error = %err, keys = batch.len(), "recording last-used times failed; retrying at the next interval");
        if last {
            let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
            self.shared.dropped.fetch_add(count, Ordering::Relaxed);
            return None;
        }
        Some(batch)
    }

    fn settle(&mut self, pending: &mut Pending, failed: Option<Vec<KeyUsage>>) {
        for usage in failed.into_iter().flatten() {
            let newer = pending
                .get(&usage.key_id)
                .is_some_and(|pending| pending.time >= usage.time);
            if !newer {
                pending.insert(usage.key_id.clone(), usage);
            }
        }
    }
}
