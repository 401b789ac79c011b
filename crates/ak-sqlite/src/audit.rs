//! [`AuditEventStore`] on SQLite: the `audit_events` and `audit_event_keys` tables.

use std::fmt::Write as _;

use ak_core::audit::{AuditEvent, AuditEventStore, AuditQuery};
use ak_core::{Page, StoreError};
use rusqlite::OptionalExtension;
use rusqlite::types::Value;

use crate::error::BACKEND;
use crate::store::SqliteKeyStore;

fn placeholders(sql: &mut String, params: &mut Vec<Value>, values: &[String]) {
    for (n, value) in values.iter().enumerate() {
        sql.push_str(if n == 0 { "?" } else { ", ?" });
        params.push(Value::Text(value.clone()));
    }
}

/// The statement for `query`, or `None` when its cursor is invalid. The SQL narrows and orders;
/// [`AuditQuery::page_from_sorted`] re-applies every filter.
fn plan(query: &AuditQuery) -> Option<(String, Vec<Value>)> {
    let position = query.position().ok()?;
    let mut params = Vec::new();
    // One key: walk that key's index rows newest first (no sort). Otherwise walk the time index.
    let (mut sql, time, id) = if let [key] = query.key_ids.as_slice() {
        params.push(Value::Text(key.clone()));
        (
            String::from(
                "SELECT e.id, e.body FROM audit_event_keys AS k CROSS JOIN audit_events AS e \
                 ON e.id = k.event_id WHERE k.key_id = ?",
            ),
            "k.occurred",
            "k.event_id",
        )
    } else {
        let mut sql = String::from("SELECT e.id, e.body FROM audit_events AS e WHERE 1");
        if !query.key_ids.is_empty() {
            sql.push_str(" AND EXISTS (SELECT 1 FROM audit_event_keys AS k WHERE k.event_id = e.id AND k.occurred = e.occurred AND k.key_id IN (");
            placeholders(&mut sql, &mut params, &query.key_ids);
            sql.push_str("))");
        }
        (sql, "e.occurred", "e.id")
    };
    if !query.actions.is_empty() {
        sql.push_str(" AND e.action IN (");
        placeholders(&mut sql, &mut params, &query.actions);
        sql.push(')');
    }
    if !query.excluded_actions.is_empty() {
        sql.push_str(" AND e.action NOT IN (");
        placeholders(&mut sql, &mut params, &query.excluded_actions);
        sql.push(')');
    }
    if let Some(actor) = &query.actor {
        sql.push_str(" AND e.actor = ?");
        params.push(Value::Text(actor.clone()));
    }
    if let Some(from) = query.from {
        let _ = write!(sql, " AND {time} >= ?");
        params.push(Value::Integer(from));
    }
    if let Some(to) = query.to {
        let _ = write!(sql, " AND {time} <= ?");
        params.push(Value::Integer(to));
    }
    if let Some(position) = position {
        let _ = write!(sql, " AND ({time}, {id}) < (?, ?)");
        params.push(Value::Integer(position.occurred));
        params.push(Value::Text(position.id));
    }
    let _ = write!(sql, " ORDER BY {time} DESC, {id} DESC");
    Some((sql, params))
}

impl AuditEventStore for SqliteKeyStore {
    fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let bodies = events
            .iter()
            .map(|event| event.to_stored_json(BACKEND))
            .collect::<Result<Vec<_>, _>>()?;
        self.write("append audit events", |tx, fail| {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO audit_events (id, occurred, action, actor, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(fail)?;
            let mut insert_key = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO audit_event_keys (key_id, occurred, event_id) VALUES (?1, ?2, ?3)",
                )
                .map_err(fail)?;
            for (event, body) in events.iter().zip(&bodies) {
                let inserted = insert
                    .execute(rusqlite::params![event.id, event.occurred, event.action, event.actor, body])
                    .map_err(fail)?;
                // An id already stored is passed over, with the key rows of the stored event.
                if inserted == 0 {
                    continue;
                }
                for key in &event.key_ids {
                    insert_key
                        .execute(rusqlite::params![key, event.occurred, event.id])
                        .map_err(fail)?;
                }
            }
            Ok(())
        })
    }

    fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        let Some((sql, params)) = plan(query) else {
            return Ok(Page::empty());
        };
        self.read("search audit events", |conn, fail| {
            let mut stmt = conn.prepare_cached(&sql).map_err(fail)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(fail)?;
            query.page_from_sorted(rows.map(|row| {
                let (id, body) = row.map_err(fail)?;
                AuditEvent::from_stored_json(&id, body.as_bytes())
            }))
        })
    }

    fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError> {
        self.write("prune audit events", |tx, fail| {
            let mut removed = delete_before(tx, older_than, fail)?;
            // The newest event beyond the kept count, if any: it and everything older goes.
            let offset = i64::try_from(max_events).unwrap_or(i64::MAX);
            let cut: Option<(i64, String)> = tx
                .prepare_cached(
                    "SELECT occurred, id FROM audit_events ORDER BY occurred DESC, id DESC LIMIT 1 OFFSET ?1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row([offset], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()
                })
                .map_err(fail)?;
            if let Some((occurred, id)) = cut {
                removed += delete_at_or_before(tx, occurred, &id, fail)?;
            }
            Ok(removed)
        })
    }
}

fn delete_before(
    tx: &rusqlite::Transaction<'_>,
    older_than: i64,
    fail: &dyn Fn(rusqlite::Error) -> StoreError,
) -> Result<u64, StoreError> {
    tx.prepare_cached("DELETE FROM audit_event_keys WHERE occurred < ?1")
        .and_then(|mut stmt| stmt.execute([older_than]))
        .map_err(fail)?;
    let removed = tx
        .prepare_cached("DELETE FROM audit_events WHERE occurred < ?1")
        .and_then(|mut stmt| stmt.execute([older_than]))
        .map_err(fail)?;
    Ok(u64::try_from(removed).unwrap_or(u64::MAX))
}

fn delete_at_or_before(
    tx: &rusqlite::Transaction<'_>,
    occurred: i64,
    id: &str,
    fail: &dyn Fn(rusqlite::Error) -> StoreError,
) -> Result<u64, StoreError> {
    tx.prepare_cached("DELETE FROM audit_event_keys WHERE (occurred, event_id) <= (?1, ?2)")
        .and_then(|mut stmt| stmt.execute(rusqlite::params![occurred, id]))
        .map_err(fail)?;
    let removed = tx
        .prepare_cached("DELETE FROM audit_events WHERE (occurred, id) <= (?1, ?2)")
        .and_then(|mut stmt| stmt.execute(rusqlite::params![occurred, id]))
        .map_err(fail)?;
    Ok(u64::try_from(removed).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::plan_of;

    #[test]
    fn a_key_trail_and_a_time_range_walk_indexes_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteKeyStore::open(dir.path().join("keys.db")).unwrap();
        let event = AuditEvent::new("app.x", "me", 5);
        let queries = [
            AuditQuery {
                key_ids: vec!["K1".into()],
                ..AuditQuery::default()
            },
            AuditQuery {
                key_ids: vec!["K1".into()],
                cursor: Some(AuditQuery::cursor_after(&event)),
                from: Some(1),
                ..AuditQuery::default()
            },
            AuditQuery {
                from: Some(1),
                to: Some(10),
                ..AuditQuery::default()
            },
        ];
        for query in queries {
            let (sql, params) = plan(&query).unwrap();
            let lines = plan_of(&store, &sql, &params);
            assert!(
                lines
                    .iter()
                    .all(|line| !line.starts_with("SCAN") && !line.contains("TEMP B-TREE")),
                "{query:?}: {lines:?}"
            );
        }
    }
}
