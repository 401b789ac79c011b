//! The audit trail: who did what to which key, from where, and how it ended.
//!
//! * [`AuditEvent`]: one event, with documented [`actions`] and failure [`reasons`]. It never
//!   holds a secret, a token or a hash.
//! * [`AuditEventStore`]: the persistence contract (append-only, newest-first paged search,
//!   pruning); [`MemoryKeyStore`](crate::MemoryKeyStore) implements it here, the disk backends in
//!   their crates.
//! * [`AuditQuery`]: the search filters (key ids, actions in and out, actor, client address,
//!   outcome, text, time range).
//! * [`AuditRecorder`]: a background writer with a bounded queue, so recording never makes the
//!   caller wait for a disk, and retention without blocking writes.
//!
//! ```
//! use std::sync::Arc;
//! use ak_core::{Clock, MemoryKeyStore, SystemClock};
//! use ak_core::audit::{AuditEvent, AuditEventStore, AuditQuery, AuditRecorder, actions, reasons};
//!
//! let store = Arc::new(MemoryKeyStore::new());
//! // The recorder prunes events older than its retention (30 days) by its clock, so use now.
//! let now = SystemClock.now_millis();
//! let recorder = AuditRecorder::new(store.clone());
//! recorder.record(AuditEvent::new(actions::ACCESS_KEY_CREATE, "cli:alice", now).with_keys(["K1"]));
//! recorder.record(
//!     AuditEvent::new(actions::ACCESS_KEY_EXCHANGE_FAILED, "K1", now + 1000)
//!         .with_keys(["K1"])
//!         .failed(reasons::IP_DENIED),
//! );
//! recorder.flush();
//!
//! let query = AuditQuery { key_ids: vec!["K1".into()], ..AuditQuery::default() };
//! let page = store.search_audit_events(&query)?;
//! assert_eq!(page.items[0].action, actions::ACCESS_KEY_EXCHANGE_FAILED); // newest first
//! assert_eq!(page.items[1].action, actions::ACCESS_KEY_CREATE);
//! # Ok::<(), ak_core::StoreError>(())
//! ```

mod event;
pub(crate) mod memory;
mod query;
mod recorder;
mod store;

pub use event::{AuditEvent, Outcome, actions, next_event_id, reasons};
pub use query::{AuditPosition, AuditQuery, is_after};
pub use recorder::{
    AuditConfig, AuditRecorder, DEFAULT_FLUSH_INTERVAL, DEFAULT_MAX_EVENTS, DEFAULT_PRUNE_INTERVAL,
    DEFAULT_QUEUE_CAPACITY, DEFAULT_RETENTION, WRITE_ATTEMPTS,
};
pub use store::AuditEventStore;

/// Compile-time proof that [`AuditEventStore`] is dyn-compatible.
const _: fn(&dyn AuditEventStore) = |_| {};
