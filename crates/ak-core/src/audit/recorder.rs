//! [`AuditRecorder`]: records events without making the caller wait for a disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::event::AuditEvent;
use super::store::AuditEventStore;
use crate::batch_writer::{BatchJob, BatchWriter};
use crate::clock::{Clock, SystemClock};

/// How often the writer flushes queued events at the latest: 200 ms. A crash of the process
/// loses at most the events of the last interval (plus those still being written).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// How many events may wait for the writer before new ones are dropped (and counted): 10 000.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// How long events are kept: 30 days, as Descope keeps its audit trail.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most events kept; the oldest beyond it are pruned: 10 000 000.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000;
/// How often the writer prunes by retention and count: every 10 minutes (and once at start).
pub const DEFAULT_PRUNE_INTERVAL: Duration = Duration::from_secs(600);
/// How many times the writer tries to write one batch before it counts the batch as dropped.
pub const WRITE_ATTEMPTS: u32 = 3;

/// How an [`AuditRecorder`] batches, bounds and prunes.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// The longest time a recorded event waits before the writer writes it
    /// ([`DEFAULT_FLUSH_INTERVAL`]).
    pub flush_interval: Duration,
    /// How many events may wait; beyond it [`AuditRecorder::record`] drops and counts
    /// ([`DEFAULT_QUEUE_CAPACITY`], at least 1).
    pub queue_capacity: usize,
    /// Events older than this are pruned ([`DEFAULT_RETENTION`]).
    pub retention: Duration,
    /// At most this many events are kept ([`DEFAULT_MAX_EVENTS`]).
    pub max_events: u64,
    /// How often the writer prunes ([`DEFAULT_PRUNE_INTERVAL`]).
    pub prune_interval: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            retention: DEFAULT_RETENTION,
            max_events: DEFAULT_MAX_EVENTS,
            prune_interval: DEFAULT_PRUNE_INTERVAL,
        }
    }
}

/// Records audit events through a background writer thread.
///
/// * **Never blocks the caller.** [`record`](Self::record) appends to a bounded in-memory queue
///   (a short mutex section, no I/O). When the queue is full the event is dropped, counted in
///   [`dropped`](Self::dropped), and one warning is logged (through `tracing`) per overflow
///   episode.
/// * **Batched.** The writer appends everything queued in one
///   [`append_audit_events`](AuditEventStore::append_audit_events) call, at least every
///   [`AuditConfig::flush_interval`], sooner when the queue is half full.
/// * **What a crash loses.** Events recorded in the last flush interval before a crash of the
///   process (those not yet appended) are lost; every appended batch is as durable as the store
///   makes it. A clean [`shutdown`](Self::shutdown) (also run on drop) writes everything recorded
///   before it and loses nothing.
/// * **Failures.** A failed append is retried ([`WRITE_ATTEMPTS`] in all; appends are idempotent
///   by event id); a batch that still fails is counted as dropped and logged.
/// * **Retention** is enforced by the writer: at start and every [`AuditConfig::prune_interval`]
///   it prunes events older than [`AuditConfig::retention`] and beyond
///   [`AuditConfig::max_events`], while callers keep recording.
pub struct AuditRecorder {
    shared: Arc<Shared>,
    writer: BatchWriter<AuditWriter>,
}

impl std::fmt::Debug for AuditRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditRecorder")
            .field("store", &self.shared.store)
            .field("config", &self.shared.config)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Shared {
    store: Arc<dyn AuditEventStore>,
    clock: Arc<dyn Clock>,
    config: AuditConfig,
    dropped: AtomicU64,
}

impl Shared {
    fn high_water(&self) -> usize {
        (self.config.queue_capacity / 2).max(1)
    }
}

/// What waits for the writer.
#[derive(Debug, Default)]
struct Queue {
    events: Vec<AuditEvent>,
    /// The overflow warning of this episode is logged; reset by a write that empties the queue.
    overflow_logged: bool,
}

impl AuditRecorder {
    /// A recorder writing to `store` with the [default](AuditConfig::default) configuration.
    pub fn new(store: Arc<dyn AuditEventStore>) -> Self {
        Self::with_config(store, AuditConfig::default(), Arc::new(SystemClock))
    }

    /// A recorder with this configuration; `clock` decides what retention counts as old.
    pub fn with_config(
        store: Arc<dyn AuditEventStore>,
        mut config: AuditConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        config.queue_capacity = config.queue_capacity.max(1);
        let flush_interval = config.flush_interval;
        let shared = Arc::new(Shared {
            store,
            clock,
            config,
            dropped: AtomicU64::new(0),
        });
        let job = AuditWriter {
            shared: Arc::clone(&shared),
            next_prune: Instant::now(),
        };
        Self {
            shared,
            writer: BatchWriter::spawn(job, flush_interval),
        }
    }

    /// Queues `event` for the writer; never waits for I/O. Returns `false` if it was dropped
    /// (queue full, or the recorder shut down), which [`dropped`](Self::dropped) counts.
    pub fn record(&self, event: AuditEvent) -> bool {
        let mut queue = self.writer.intake();
        if !queue.is_open() || queue.events.len() >= self.shared.config.queue_capacity {
            let dropped = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if !queue.overflow_logged {
                queue.overflow_logged = true;
                drop(queue);
                tracing::warn!(
                    dropped,
                    capacity = self.shared.config.queue_capacity,
                    "audit queue full or closed: dropping audit events"
                );
            }
            return false;
        }
        queue.events.push(event);
        queue.accept();
        if queue.events.len() >= self.shared.high_water() {
            queue.wake_writer();
        }
        true
    }

    /// How many events were dropped since the recorder started (queue full, shut down, or a
    /// batch that failed every attempt).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every event recorded before the call has been written (or counted as dropped).
    /// For tests and for callers about to exit; the exchange path never calls it.
    pub fn flush(&self) {
        self.writer.flush();
    }

    /// Writes everything queued, stops the writer and waits for it. Later events are dropped.
    /// Dropping the recorder does the same.
    pub fn shutdown(&self) {
        self.writer.shutdown();
    }
}

/// The recorder's batch logic: append the queue, retrying; prune between rounds when due.
struct AuditWriter {
    shared: Arc<Shared>,
    next_prune: Instant,
}

impl BatchJob for AuditWriter {
    type Pending = Queue;
    type Batch = Vec<AuditEvent>;
    /// Whether the batch was written (an empty one counts as written).
    type Written = bool;

    const THREAD: &'static str = "ak-audit-writer";
    const WITHOUT_THREAD: &'static str = "audit events will be dropped";

    fn is_urgent(&self, queue: &Queue) -> bool {
        queue.events.len() >= self.shared.high_water()
    }

    fn take(&mut self, queue: &mut Queue) -> Vec<AuditEvent> {
        std::mem::take(&mut queue.events)
    }

    fn write(&mut self, batch: Vec<AuditEvent>, _last: bool) -> bool {
        batch.is_empty() || write_batch(&self.shared, &batch)
    }

    fn settle(&mut self, queue: &mut Queue, wrote: bool) {
        if wrote && queue.events.is_empty() {
            queue.overflow_logged = false;
        }
    }

    fn between_rounds(&mut self) {
        if Instant::now() >= self.next_prune {
            prune(&self.shared);
            self.next_prune = Instant::now() + self.shared.config.prune_interval;
        }
    }
}

/// Appends `batch`, retrying; on final failure counts it as dropped. Returns whether it was
/// written.
fn write_batch(shared: &Shared, batch: &[AuditEvent]) -> bool {
    let mut attempt = 1;
    loop {
        match shared.store.append_audit_events(batch) {
            Ok(()) => return true,
            Err(err) if attempt < WRITE_ATTEMPTS => {
                tracing::warn!(error = %err, attempt, events = batch.len(), "audit write failed; retrying");
                std::thread::sleep(shared.config.flush_interval.min(Duration::from_secs(1)));
                attempt += 1;
            }
            Err(err) => {
                let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
                let dropped = shared.dropped.fetch_add(count, Ordering::Relaxed) + count;
                tracing::error!(error = %err, events = batch.len(), dropped, "audit write failed; events dropped");
                return false;
            }
        }
    }
}

fn prune(shared: &Shared) {
    let retention_ms = i64::try_from(shared.config.retention.as_millis()).unwrap_or(i64::MAX);
    let older_than = shared.clock.now_millis().saturating_sub(retention_ms);
    match shared
        .store
        .prune_audit_events(older_than, shared.config.max_events)
    {
        Ok(0) => {}
        Ok(removed) => tracing::debug!(removed, "pruned audit events"),
        Err(err) => tracing::warn!(error = %err, "pruning audit events failed"),
    }
}
