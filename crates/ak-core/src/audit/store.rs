//! The persistence contract for audit events.

use std::sync::Arc;

use super::event::AuditEvent;
use super::query::AuditQuery;
use crate::query::Page;
use crate::store::StoreError;

/// Persistence for audit events, beside the keys on the same storage.
///
/// Events reach a store through an [`AuditRecorder`](super::AuditRecorder), which batches them off
/// the caller's path. `ak_testkit::audit_event_conformance!` checks every clause.
///
/// # Contract
///
/// * **Append-only.** [`append_audit_events`](Self::append_audit_events) stores every event of the
///   batch exactly as given, atomically (all or none). There is no update; events leave only by
///   [`prune_audit_events`](Self::prune_audit_events).
/// * **Idempotent by id.** An event whose id is already stored is not stored again (the stored one
///   stays), so a writer may retry a batch whose outcome it does not know.
/// * **Search is newest first and paged.** [`search_audit_events`](Self::search_audit_events)
///   returns the events for which [`AuditQuery::matches`] holds, ordered by `occurred` descending,
///   ties by id descending, starting after the query's cursor, at most `limit` of them, and a next
///   cursor exactly when more remain. Indexes may narrow the candidates, but the result must equal
///   the filter applied to every event. An event that cannot be decoded is passed over and listed
///   in [`Page::skipped`]; the search of the others still succeeds. An invalid cursor matches
///   nothing.
/// * **Pruning.** [`prune_audit_events`](Self::prune_audit_events) removes every event that
///   occurred before `older_than` (Unix ms), then, while more than `max_events` remain, the oldest
///   ones in the search order, and returns how many it removed. It may run while appends and
///   searches run; it never removes an event that is newer than `older_than` and among the newest
///   `max_events`.
/// * **Durability, atomicity and concurrency** as for [`KeyStore`](crate::KeyStore): an append that
///   returned `Ok` survives a crash of the process and, for on-disk stores, of the machine;
///   concurrent appends lose nothing.
/// * **Apart from every other record**: no key, management-key or signing-key call reads or
///   changes events, and no call here touches them.
pub trait AuditEventStore: std::fmt::Debug + Send + Sync {
    /// Appends a batch of events, atomically; ids already stored are passed over.
    fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// One page of the events matching `query`, newest first.
    fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError>;

    /// Removes events older than `older_than` (Unix ms), then the oldest beyond `max_events`;
    /// returns how many were removed.
    fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError>;
}

macro_rules! forward_audit_event_store {
    ($($pointer:ty),*) => {$(
        impl<S: AuditEventStore + ?Sized> AuditEventStore for $pointer {
            fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
                (**self).append_audit_events(events)
            }
            fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
                (**self).search_audit_events(query)
            }
            fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError> {
                (**self).prune_audit_events(older_than, max_events)
            }
        }
    )*};
}
forward_audit_event_store!(Arc<S>, Box<S>, &S);
