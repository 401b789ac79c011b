//! [`AuditEventStore`] for [`MemoryKeyStore`].

use std::collections::{BTreeMap, HashSet};
use std::sync::PoisonError;

use super::event::AuditEvent;
use super::query::AuditQuery;
use super::store::AuditEventStore;
use crate::memory::MemoryKeyStore;
use crate::query::Page;
use crate::store::StoreError;

/// The events of a [`MemoryKeyStore`], ordered by `(occurred, id)`.
#[derive(Debug, Default)]
pub(crate) struct AuditLog {
    events: BTreeMap<(i64, String), AuditEvent>,
    ids: HashSet<String>,
}

impl AuditEventStore for MemoryKeyStore {
    fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut log = self.audit.write().unwrap_or_else(PoisonError::into_inner);
        for event in events {
            if log.ids.insert(event.id.clone()) {
                log.events
                    .insert((event.occurred, event.id.clone()), event.clone());
            }
        }
        Ok(())
    }

    fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        let log = self.audit.read().unwrap_or_else(PoisonError::into_inner);
        query.page_from_sorted(log.events.values().rev().cloned().map(Ok))
    }

    fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError> {
        let mut log = self.audit.write().unwrap_or_else(PoisonError::into_inner);
        let keep = usize::try_from(max_events).unwrap_or(usize::MAX);
        let mut removed = 0u64;
        while let Some(((occurred, _), _)) = log.events.first_key_value() {
            if *occurred >= older_than && log.events.len() <= keep {
                break;
            }
            if let Some((_, event)) = log.events.pop_first() {
                log.ids.remove(&event.id);
                removed += 1;
            }
        }
        Ok(removed)
    }
}
