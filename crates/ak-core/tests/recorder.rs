//! The audit recorder and the usage tracker under back-pressure and failing stores.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ak_core::audit::{AuditConfig, AuditEvent, AuditEventStore, AuditQuery, AuditRecorder, WRITE_ATTEMPTS};
use ak_core::usage::{KeyUsage, KeyUsageStore, UsageTracker};
use ak_core::{KeyStore, ManualClock, MemoryKeyStore, Page, StoreError};

/// Appends block until the gate opens; `entered` counts appends begun.
#[derive(Debug, Default)]
struct GatedStore {
    inner: MemoryKeyStore,
    open: Mutex<bool>,
    opened: Condvar,
    entered: AtomicUsize,
    failures_left: AtomicUsize,
}

impl GatedStore {
    fn open_gate(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl AuditEventStore for GatedStore {
    fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        drop(open);
        if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::corrupt(None, "injected failure"));
        }
        self.inner.append_audit_events(events)
    }
    fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        self.inner.search_audit_events(query)
    }
    fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError> {
        self.inner.prune_audit_events(older_than, max_events)
    }
}

impl KeyUsageStore for GatedStore {
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
        if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::corrupt(None, "injected failure"));
        }
        self.inner.record_key_usage(usage)
    }
}

fn config(capacity: usize) -> AuditConfig {
    AuditConfig {
        flush_interval: Duration::from_millis(1),
        queue_capacity: capacity,
        ..AuditConfig::default()
    }
}

fn event(n: usize) -> AuditEvent {
    AuditEvent::new(
        "app.test",
        "tester",
        1_700_000_000_000 + i64::try_from(n).unwrap(),
    )
}

fn stored(store: &GatedStore) -> usize {
    store
        .search_audit_events(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .unwrap()
        .items
        .len()
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking_the_caller() {
    let store = Arc::new(GatedStore::default());
    let recorder = AuditRecorder::with_config(
        store.clone(),
        config(4),
        Arc::new(ManualClock::new(1_700_000_000)),
    );
    assert!(recorder.record(event(0)));
    // The writer takes the first event and blocks in the store.
    while store.entered.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    for n in 1..=4 {
        assert!(recorder.record(event(n)), "event {n}");
    }
    // The queue is full while the store is stuck: the caller gets `false` at once, counted.
    assert!(!recorder.record(event(5)));
    assert!(!recorder.record(event(6)));
    assert_eq!(recorder.dropped(), 2);
    store.open_gate();
    recorder.flush();
    assert_eq!(stored(&store), 5);
    // Room again: recording works, and a shutdown writes it.
    assert!(recorder.record(event(7)));
    recorder.shutdown();
    assert_eq!(stored(&store), 6);
    assert_eq!(recorder.dropped(), 2);
    // After shutdown, events are refused and counted.
    assert!(!recorder.record(event(8)));
    assert_eq!(recorder.dropped(), 3);
}

#[test]
fn a_failed_append_is_retried_then_counted() {
    let store = Arc::new(GatedStore::default());
    store.open_gate();
    store
        .failures_left
        .store(usize::try_from(WRITE_ATTEMPTS - 1).unwrap(), Ordering::SeqCst);
    let recorder = AuditRecorder::with_config(
        store.clone(),
        config(100),
        Arc::new(ManualClock::new(1_700_000_000)),
    );
    recorder.record(event(0));
    recorder.flush();
    assert_eq!((stored(&store), recorder.dropped()), (1, 0));

    store
        .failures_left
        .store(usize::try_from(WRITE_ATTEMPTS).unwrap(), Ordering::SeqCst);
    recorder.record(event(1));
    recorder.record(event(2));
    recorder.flush();
    assert_eq!((stored(&store), recorder.dropped()), (1, 2));
}

#[test]
fn a_failed_usage_write_is_kept_for_the_next_one() {
    let store = Arc::new(GatedStore::default());
    store
        .inner
        .insert(&ak_testkit::fixtures::record("K1", "k", 1))
        .unwrap();
    store.failures_left.store(1, Ordering::SeqCst);
    let tracker = UsageTracker::with_interval(store.clone(), Duration::from_secs(3600));
    tracker.touch("K1", 100, Some("10.0.0.1"));
    tracker.flush();
    assert_eq!(store.inner.get("K1").unwrap().unwrap().key.last_used_time, None);
    tracker.touch("K1", 90, None);
    tracker.flush();
    let key = store.inner.get("K1").unwrap().unwrap().key;
    assert_eq!(
        (key.last_used_time, key.last_used_ip.as_deref()),
        (Some(100), Some("10.0.0.1"))
    );
}
