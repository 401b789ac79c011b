//! The SQL behind a search: indexed predicates, the sort order and the keyset cursor.
//!
//! The SQL only narrows and orders the candidates; [`SearchQuery::page_from_sorted`] re-applies
//! every filter in Rust, so the result is exactly `SearchQuery::matches` in `compare` order.

use std::fmt::Write as _;

use ak_core::{Position, SearchQuery, SortField};
use rusqlite::types::Value;

/// A statement and its parameters.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
}

/// The statement for `query`, or `None` when its cursor is invalid (which matches nothing).
pub(crate) fn plan(query: &SearchQuery) -> Option<Plan> {
    let position = query.position().ok()?;
    let column = match query.sort {
        SortField::CreatedTime => "created_time",
        SortField::Name => "name",
    };
    let (direction, after) = if query.descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let mut params = Vec::new();
    let mut sql =
        String::from("SELECT keys.id, keys.version, keys.body, keys.last_used_time, keys.last_used_ip FROM ");
    if query.tenant_ids.is_empty() {
        sql.push_str("keys WHERE 1");
    } else {
        // Drive the search from the tenant index (CROSS JOIN fixes the join order), then sort the
        // tenant's keys: never a scan of every key.
        sql.push_str("(SELECT DISTINCT key_id FROM key_tenants WHERE tenant_id IN (");
        for (n, tenant) in query.tenant_ids.iter().enumerate() {
            sql.push_str(if n == 0 { "?" } else { ", ?" });
            params.push(Value::Text(tenant.clone()));
        }
        sql.push_str(")) AS matched CROSS JOIN keys ON keys.id = matched.key_id WHERE 1");
    }
    if let Some(status) = query.status {
        sql.push_str(" AND keys.status = ?");
        params.push(Value::Text(status.as_str().to_owned()));
    }
    if let Some(user) = &query.bound_user_id {
        sql.push_str(" AND keys.bound_user_id = ?");
        params.push(Value::Text(user.clone()));
    }
    if let Some(creator) = &query.created_by {
        sql.push_str(" AND keys.created_by = ?");
        params.push(Value::Text(creator.clone()));
    }
    if let Some(since) = query.not_used_since {
        sql.push_str(" AND (keys.last_used_time IS NULL OR keys.last_used_time < ?)");
        params.push(Value::Integer(since));
    }
    if let Some(before) = query.expires_before {
        sql.push_str(" AND keys.expire_time < ?");
        params.push(Value::Integer(before));
    }
    match position {
        None => {}
        Some(Position::CreatedTime(time, id)) => {
            params.push(Value::Integer(time));
            params.push(Value::Text(id));
        }
        Some(Position::Name(name, id)) => {
            params.push(Value::Text(name));
            params.push(Value::Text(id));
        }
    }
    if query.cursor.is_some() {
        let _ = write!(sql, " AND (keys.{column}, keys.id) {after} (?, ?)");
    }
    let _ = write!(sql, " ORDER BY keys.{column} {direction}, keys.id {direction}");
    Some(Plan { sql, params })
}
