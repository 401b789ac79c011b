//! [`AuditEventStore`] on PostgreSQL: the `audit_events` table.

use std::fmt::Write as _;

use ak_core::audit::{AuditEvent, AuditEventStore, AuditPosition, AuditQuery};
use ak_core::{Page, StoreError};
use postgres::types::ToSql;

use crate::error::{BACKEND, Fail};
use crate::keys::storable;
use crate::store::{Db, PgStore};

/// The most rows one chunk of a search fetches.
const MAX_CHUNK: i64 = 1000;

/// Values a `text` column can hold (no stored value contains NUL).
fn storable_only(values: &[String]) -> Vec<String> {
    values.iter().filter(|value| storable(value)).cloned().collect()
}

/// The statement for the events of `query` after `position`, newest first, at most `limit`;
/// `None` when no stored event can match. The SQL narrows and orders;
/// [`AuditQuery::page_from_sorted`] re-applies every filter.
fn plan(
    table: &str,
    query: &AuditQuery,
    position: Option<&AuditPosition>,
    limit: i64,
) -> Option<(String, Vec<Box<dyn ToSql + Sync>>)> {
    let mut sql = format!("SELECT id, body, occurred FROM {table} WHERE TRUE");
    let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let push = |params: &mut Vec<Box<dyn ToSql + Sync>>, value: Box<dyn ToSql + Sync>| {
        params.push(value);
        params.len()
    };
    if !query.key_ids.is_empty() {
        let keys = storable_only(&query.key_ids);
        if keys.is_empty() {
            return None;
        }
        let n = push(&mut params, Box::new(keys));
        let _ = write!(sql, " AND key_ids && ${n}::text[]");
    }
    if !query.actions.is_empty() {
        let actions = storable_only(&query.actions);
        if actions.is_empty() {
            return None;
        }
        let n = push(&mut params, Box::new(actions));
        let _ = write!(sql, " AND action = ANY(${n}::text[])");
    }
    let excluded = storable_only(&query.excluded_actions);
    if !excluded.is_empty() {
        let n = push(&mut params, Box::new(excluded));
        let _ = write!(sql, " AND NOT (action = ANY(${n}::text[]))");
    }
    if let Some(actor) = &query.actor {
        if !storable(actor) {
            return None;
        }
        let n = push(&mut params, Box::new(actor.clone()));
        let _ = write!(sql, " AND actor = ${n}");
    }
    if let Some(from) = query.from {
        let n = push(&mut params, Box::new(from));
        let _ = write!(sql, " AND occurred >= ${n}");
    }
    if let Some(to) = query.to {
        let n = push(&mut params, Box::new(to));
        let _ = write!(sql, " AND occurred <= ${n}");
    }
    if let Some(position) = position {
        let occurred = push(&mut params, Box::new(position.occurred));
        let id = push(&mut params, Box::new(position.id.clone()));
        let _ = write!(sql, " AND (occurred, id) < (${occurred}, ${id})");
    }
    let n = push(&mut params, Box::new(limit));
    let _ = write!(sql, " ORDER BY occurred DESC, id DESC LIMIT ${n}");
    Some((sql, params))
}

/// The candidates for `query` from `start` on, newest first, fetched chunk by chunk until more
/// than a page of them match or none remain.
fn candidates(
    db: &mut Db<'_>,
    table: &str,
    query: &AuditQuery,
    start: Option<AuditPosition>,
) -> Result<Vec<Result<AuditEvent, StoreError>>, Fail> {
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut chunk = i64::from(query.limit).saturating_add(1).min(MAX_CHUNK);
    let mut candidates = Vec::new();
    let mut matched = 0usize;
    let mut position = start;
    loop {
        let Some((sql, params)) = plan(table, query, position.as_ref(), chunk) else {
            return Ok(candidates);
        };
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|param| param.as_ref()).collect();
        let rows = db.query(&sql, &refs)?;
        let full = i64::try_from(rows.len()).is_ok_and(|len| len == chunk);
        for row in &rows {
            let id: String = row.get(0);
            let event = AuditEvent::from_stored_json(&id, row.get::<_, &str>(1).as_bytes());
            if event.as_ref().is_ok_and(|event| query.matches(event)) {
                matched += 1;
            }
            candidates.push(event);
            position = Some(AuditPosition {
                occurred: row.get(2),
                id,
            });
        }
        if !full || matched > limit {
            return Ok(candidates);
        }
        chunk = chunk.saturating_mul(2).min(MAX_CHUNK);
    }
}

impl AuditEventStore for PgStore {
    fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let bodies = events
            .iter()
            .map(|event| event.to_stored_json(BACKEND))
            .collect::<Result<Vec<_>, _>>()?;
        let sql = format!(
            "INSERT INTO {} (id, occurred, action, actor, key_ids, body) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO NOTHING",
            self.table("audit_events")
        );
        self.write("append audit events", |tx| {
            for (event, body) in events.iter().zip(&bodies) {
                tx.execute(
                    &sql,
                    &[
                        &event.id,
                        &event.occurred,
                        &event.action,
                        &event.actor,
                        &event.key_ids,
                        body,
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        let Ok(start) = query.position() else {
            return Ok(Page::empty());
        };
        let table = self.table("audit_events");
        self.read("search audit events", |db| {
            Ok(query.page_from_sorted(candidates(db, &table, query, start.clone())?)?)
        })
    }

    fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError> {
        let table = self.table("audit_events");
        let before = format!("DELETE FROM {table} WHERE occurred < $1");
        let cut =
            format!("SELECT occurred, id FROM {table} ORDER BY occurred DESC, id DESC LIMIT 1 OFFSET $1");
        let at_or_before = format!("DELETE FROM {table} WHERE (occurred, id) <= ($1, $2)");
        let offset = i64::try_from(max_events).unwrap_or(i64::MAX);
        self.write("prune audit events", |tx| {
            let mut removed = tx.execute(&before, &[&older_than])?;
            // The newest event beyond the kept count, if any: it and everything older goes.
            if let Some(row) = tx.query(&cut, &[&offset])?.first() {
                let (occurred, id): (i64, String) = (row.get(0), row.get(1));
                removed += tx.execute(&at_or_before, &[&occurred, &id])?;
            }
            Ok(removed)
        })
    }
}
