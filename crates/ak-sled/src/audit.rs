//! [`AuditEventStore`] on sled: three trees, written together in one transaction.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | [`AUDIT_EVENTS`](layout::AUDIT_EVENTS) | `time(occurred) ++ id` | `[1] ++ JSON(event)` |
//! | [`AUDIT_IDS`](layout::AUDIT_IDS) | id | `time(occurred)` (appends are idempotent by id) |
//! | [`AUDIT_BY_KEY`](layout::AUDIT_BY_KEY) | `u32be(len) ++ key id ++ time(occurred) ++ id` | empty |
//!
//! Search walks `AUDIT_EVENTS` backwards (newest first) or, for one key id, that key's range of
//! `AUDIT_BY_KEY` backwards; the cursor becomes the range's exclusive upper end.

use std::ops::Bound;

use ak_core::audit::{AuditEvent, AuditEventStore, AuditQuery};
use ak_core::{Page, StoreError};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::{BACKEND, SledKeyStore, layout};

const EVENT_FORMAT: u8 = 1;
/// Events removed per pruning transaction.
const PRUNE_CHUNK: usize = 512;

fn event_key(occurred: i64, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(layout::TIME_LEN + id.len());
    key.extend_from_slice(&layout::time_bytes(occurred));
    key.extend_from_slice(id.as_bytes());
    key
}

fn encode(event: &AuditEvent) -> Result<Vec<u8>, StoreError> {
    let json = event.to_stored_json(BACKEND)?;
    let mut bytes = Vec::with_capacity(1 + json.len());
    bytes.push(EVENT_FORMAT);
    bytes.extend_from_slice(json.as_bytes());
    Ok(bytes)
}

/// The event stored under `key` (`time(occurred) ++ id`): [`StoreError::Corrupt`] when the value
/// is not an event, or is the event of another id or time.
fn decode(key: &[u8], bytes: &[u8]) -> Result<AuditEvent, StoreError> {
    let id = key
        .get(layout::TIME_LEN..)
        .and_then(|id| std::str::from_utf8(id).ok());
    let Some((&EVENT_FORMAT, json)) = bytes.split_first() else {
        return Err(StoreError::corrupt(id, "unknown audit event format"));
    };
    let Some(id) = id else {
        return Err(StoreError::corrupt(
            None,
            "an audit event stored under an unreadable key",
        ));
    };
    let event = AuditEvent::from_stored_json(id, json)?;
    if event_key(event.occurred, &event.id) != key {
        return Err(StoreError::corrupt(
            Some(id),
            "an audit event stored under another time",
        ));
    }
    Ok(event)
}

fn key_entry(key_id: &str, occurred: i64, id: &str) -> Result<Vec<u8>, StoreError> {
    let mut entry = layout::component(key_id)?;
    entry.extend_from_slice(&event_key(occurred, id));
    Ok(entry)
}

struct Trees {
    events: sled::Tree,
    ids: sled::Tree,
    by_key: sled::Tree,
}

impl SledKeyStore {
    fn audit_trees(&self) -> Result<Trees, StoreError> {
        let open = |name: &str| {
            self.db
                .open_tree(name)
                .map_err(|err| self.error("opening the audit trees", err))
        };
        Ok(Trees {
            events: open(layout::AUDIT_EVENTS)?,
            ids: open(layout::AUDIT_IDS)?,
            by_key: open(layout::AUDIT_BY_KEY)?,
        })
    }

    fn audit_transaction(
        &self,
        op: &str,
        trees: &Trees,
        body: impl Fn(
            &TransactionalTree,
            &TransactionalTree,
            &TransactionalTree,
        ) -> Result<(), ConflictableTransactionError<StoreError>>,
    ) -> Result<(), StoreError> {
        (&trees.events, &trees.ids, &trees.by_key)
            .transaction(|(events, ids, by_key)| body(events, ids, by_key))
            .map_err(|err| match err {
                TransactionError::Abort(err) => err,
                TransactionError::Storage(err) => self.error(op, err),
            })
    }
}

/// Removes the event stored under `key` (with its id and key entries) inside a transaction.
fn remove_event(
    events: &TransactionalTree,
    ids: &TransactionalTree,
    by_key: &TransactionalTree,
    key: &[u8],
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let Some(bytes) = events.remove(key)? else {
        return Ok(());
    };
    if let Ok(event) = decode(key, &bytes) {
        ids.remove(event.id.as_bytes())?;
        for key_id in &event.key_ids {
            let entry =
                key_entry(key_id, event.occurred, &event.id).map_err(ConflictableTransactionError::Abort)?;
            by_key.remove(entry)?;
        }
    } else if let Some(id) = key.get(layout::TIME_LEN..) {
        ids.remove(id)?;
    }
    Ok(())
}

impl AuditEventStore for SledKeyStore {
    fn append_audit_events(&self, batch: &[AuditEvent]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let encoded = batch.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
        let mut entries = Vec::with_capacity(batch.len());
        for event in batch {
            let keys = event
                .key_ids
                .iter()
                .map(|key_id| key_entry(key_id, event.occurred, &event.id))
                .collect::<Result<Vec<_>, _>>()?;
            entries.push(keys);
        }
        let trees = self.audit_trees()?;
        self.audit_transaction("append audit events", &trees, |events, ids, by_key| {
            for ((event, bytes), keys) in batch.iter().zip(&encoded).zip(&entries) {
                if ids.get(event.id.as_bytes())?.is_some() {
                    continue;
                }
                ids.insert(event.id.as_bytes(), &layout::time_bytes(event.occurred))?;
                events.insert(event_key(event.occurred, &event.id), bytes.as_slice())?;
                for key in keys {
                    by_key.insert(key.as_slice(), &[] as &[u8])?;
                }
            }
            Ok(())
        })?;
        self.make_durable("append audit events")
    }

    fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        let Ok(position) = query.position() else {
            return Ok(Page::empty());
        };
        let trees = self.audit_trees()?;
        let upper = position.map(|position| event_key(position.occurred, &position.id));
        if let [key_id] = query.key_ids.as_slice() {
            let prefix = layout::component(key_id)?;
            let end = match &upper {
                Some(upper) => Bound::Excluded([prefix.as_slice(), upper].concat()),
                None => crate::search::prefix_end(&prefix).map_or(Bound::Unbounded, Bound::Excluded),
            };
            let range = trees
                .by_key
                .range::<Vec<u8>, _>((Bound::Included(prefix.clone()), end))
                .rev();
            let events = &trees.events;
            let candidates = range.filter_map(|item| {
                let loaded = item
                    .map_err(|err| self.error("search audit events", err))
                    .and_then(|(entry, _)| {
                        let key = entry[prefix.len()..].to_vec();
                        let bytes = events
                            .get(&key)
                            .map_err(|err| self.error("search audit events", err))?;
                        Ok(bytes.map(|bytes| decode(&key, &bytes)))
                    });
                match loaded {
                    Ok(None) => None,
                    Ok(Some(event)) => Some(event),
                    Err(err) => Some(Err(err)),
                }
            });
            return query.page_from_sorted(candidates);
        }
        let end = upper.map_or(Bound::Unbounded, Bound::Excluded);
        let candidates = trees
            .events
            .range::<Vec<u8>, _>((Bound::Unbounded, end))
            .rev()
            .map(|item| {
                let (key, bytes) = item.map_err(|err| self.error("search audit events", err))?;
                decode(&key, &bytes)
            });
        query.page_from_sorted(candidates)
    }

    fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError> {
        let trees = self.audit_trees()?;
        let cut = event_key(older_than, "");
        let total = u64::try_from(trees.events.len()).unwrap_or(u64::MAX);
        let mut beyond_count = total.saturating_sub(max_events);
        let mut removed = 0u64;
        loop {
            let mut chunk = Vec::with_capacity(PRUNE_CHUNK);
            for item in trees.events.iter() {
                let (key, _) = item.map_err(|err| self.error("prune audit events", err))?;
                if beyond_count == 0 && key.as_ref() >= cut.as_slice() {
                    break;
                }
                beyond_count = beyond_count.saturating_sub(1);
                chunk.push(key);
                if chunk.len() == PRUNE_CHUNK {
                    break;
                }
            }
            if chunk.is_empty() {
                break;
            }
            self.audit_transaction("prune audit events", &trees, |events, ids, by_key| {
                for key in &chunk {
                    remove_event(events, ids, by_key, key)?;
                }
                Ok(())
            })?;
            removed += u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        }
        if removed > 0 {
            self.make_durable("prune audit events")?;
        }
        Ok(removed)
    }
}
