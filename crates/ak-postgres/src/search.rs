//! The SQL behind a search: indexed predicates, the sort order, the keyset position, and the
//! fetching of candidates in bounded chunks.
//!
//! The SQL only narrows and orders the candidates; [`SearchQuery::page_from_sorted`] re-applies
//! every filter in Rust, so the result is exactly `SearchQuery::matches` in `compare` order.

use std::fmt::Write as _;

use ak_core::ExpiryFilter;
use ak_core::{KeyRecord, Position, SearchQuery, SortField, StoreError};
use postgres::types::{ToSql, Type};
use serde_json::Value;

use crate::error::Fail;
use crate::keys::{decode, storable, unindexable};
use crate::store::Db;

/// The most rows one chunk fetches.
const MAX_CHUNK: i64 = 1000;

/// A statement and its parameters, each with its type.
///
/// A search runs as an unnamed statement with typed parameters (`query_typed`): one round trip,
/// planned for the very values it runs with. A named prepared statement would be planned
/// generically after five runs, and the generic plan of `tenant_ids && $1 ... ORDER BY
/// created_time LIMIT $n` walks the sort index and filters every row, a cost that grows with the
/// table instead of with the matches.
pub(crate) struct Plan {
    pub(crate) sql: String,
    pub(crate) params: Vec<(Box<dyn ToSql + Sync>, Type)>,
}

impl Plan {
    fn push(&mut self, value: impl ToSql + Sync + 'static, ty: Type) -> usize {
        self.params.push((Box::new(value), ty));
        self.params.len()
    }

    pub(crate) fn typed(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.params
            .iter()
            .map(|(param, ty)| (param.as_ref(), ty.clone()))
            .collect()
    }
}

/// Whether a filter value names nothing that can be stored (a `text` column never holds NUL),
/// so that the query matches no record and need not reach the server (which would refuse it).
pub(crate) fn matches_nothing(query: &SearchQuery) -> bool {
    (!query.tenant_ids.is_empty() && !query.tenant_ids.iter().any(|tenant| storable(tenant)))
        || query.bound_user_id.as_deref().is_some_and(|user| !storable(user))
        || query
            .created_by
            .as_deref()
            .is_some_and(|creator| !storable(creator))
}

/// Candidates a bounded filter-first statement reads before it gives way to the sort-order walk.
///
/// See [`plan`]: a selection this small is read whole and sorted; a larger one is dense enough
/// that walking the sort index finds a page quickly.
const FEW: i64 = 2000;

/// Whether `query` has a filter whose index cannot yield the sort order (tenants and custom
/// attributes are GIN-indexed; a bound user's or creator's index is ordered by creation time).
fn filter_first(query: &SearchQuery, attributes_indexed: bool) -> bool {
    !query.tenant_ids.is_empty()
        || attributes_indexed
        || (query.sort == SortField::Name && (query.bound_user_id.is_some() || query.created_by.is_some()))
        || expiry_drives(query, attributes_indexed)
}

/// Whether the expiry time bounded from above (`expiresBefore`, or expired at a time) is the
/// filter that drives the read: no tenant, attribute, bound-user, creator or status filter,
/// whose own index is an equality (and, but for tenants and attributes, ordered). Its range of
/// `keys_by_expire_time` is then read filter-first in expiry order, so the read stops after
/// [`FEW`] + 1 rows of the range however dense the planner believes it to be (before `ANALYZE`,
/// a third of the table).
fn expiry_drives(query: &SearchQuery, attributes_indexed: bool) -> bool {
    (query.expires_before.is_some() || matches!(query.expiry, Some(ExpiryFilter::ExpiredAt(_))))
        && query.tenant_ids.is_empty()
        && !attributes_indexed
        && query.bound_user_id.is_none()
        && query.created_by.is_none()
        && query.status.is_none()
}

/// The statement for the rows of `query` after `position`, at most `limit` of them.
///
/// With a filter that its index cannot order (see `filter_first`), the plain `WHERE ... ORDER
/// BY ... LIMIT` lets the planner walk the sort index and filter every row when it believes the
/// matches to be dense: before `ANALYZE` has run it assumes about 1% of the table for any tenant,
/// so a tenant of 100 keys among 100,000 costs a walk of the whole index (the walk cannot stop
/// before it has proved that no `limit`-th row exists). Such a search therefore first reads at
/// most [`FEW`] + 1 matches through the filter's index (a bounded, unordered `LIMIT`); if there
/// are at most [`FEW`], they are the whole selection and are sorted; only a larger selection
/// runs the plain statement, which the server skips otherwise (a one-time filter). The rows are
/// the same either way: those of the plain statement.
pub(crate) fn plan(table: &str, query: &SearchQuery, position: Option<&Position>, limit: i64) -> Plan {
    let mut plan = Plan {
        sql: String::new(),
        params: Vec::new(),
    };
    let mut filters = String::from("TRUE");
    if !query.tenant_ids.is_empty() {
        let tenants: Vec<String> = query
            .tenant_ids
            .iter()
            .filter(|tenant| storable(tenant))
            .cloned()
            .collect();
        let n = plan.push(tenants, Type::TEXT_ARRAY);
        let _ = write!(filters, " AND tenant_ids && ${n}::text[]");
    }
    if let Some(status) = query.status {
        let n = plan.push(status.as_str(), Type::TEXT);
        let _ = write!(filters, " AND status = ${n}");
    }
    if let Some(user) = &query.bound_user_id {
        let n = plan.push(user.clone(), Type::TEXT);
        let _ = write!(filters, " AND bound_user_id = ${n}");
    }
    if let Some(creator) = &query.created_by {
        let n = plan.push(creator.clone(), Type::TEXT);
        let _ = write!(filters, " AND created_by = ${n}");
    }
    let attributes = &query.custom_attributes;
    let attributes_indexed =
        !attributes.is_empty() && !attributes.iter().any(|(name, value)| unindexable(name, value));
    if attributes_indexed {
        let n = plan.push(Value::Object(attributes.clone()).to_string(), Type::TEXT);
        let _ = write!(filters, " AND attributes @> ${n}::text::jsonb");
    }
    match query.expiry {
        None => {}
        Some(ExpiryFilter::ExpiredAt(now)) => {
            let n = plan.push(now, Type::INT8);
            let _ = write!(filters, " AND expire_time <= ${n}");
        }
        Some(ExpiryFilter::UnexpiredAt(now)) => {
            let n = plan.push(now, Type::INT8);
            let _ = write!(filters, " AND (expire_time IS NULL OR expire_time > ${n})");
        }
    }
    if let Some(since) = query.not_used_since {
        let n = plan.push(since, Type::INT8);
        let _ = write!(filters, " AND (last_used_time IS NULL OR last_used_time < ${n})");
    }
    if let Some(before) = query.expires_before {
        let n = plan.push(before, Type::INT8);
        let _ = write!(filters, " AND expire_time < ${n}");
    }
    let column = match query.sort {
        SortField::CreatedTime => "created_time",
        SortField::Name => "name",
    };
    let (direction, after) = if query.descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let at = match position {
        None => None,
        Some(Position::CreatedTime(time, id)) => {
            Some((plan.push(*time, Type::INT8), plan.push(id.clone(), Type::TEXT)))
        }
        Some(Position::Name(name, id)) => Some((
            plan.push(name.clone(), Type::TEXT),
            plan.push(id.clone(), Type::TEXT),
        )),
    };
    if let Some((value, id)) = at {
        let _ = write!(filters, " AND ({column}, id) {after} (${value}, ${id})");
    }
    let n = plan.push(limit, Type::INT8);
    let columns = "id, version, body, created_time, name, last_used_time, last_used_ip";
    let order = format!("ORDER BY {column} {direction}, id {direction} LIMIT ${n}");
    if filter_first(query, attributes_indexed) {
        let cap = FEW + 1;
        // An expiry range is read in its index's order (see `expiry_drives`).
        let few_order = if expiry_drives(query, attributes_indexed) {
            "ORDER BY expire_time, id "
        } else {
            ""
        };
        let _ = write!(
            plan.sql,
            "WITH few AS MATERIALIZED (SELECT {columns} FROM {table} WHERE {filters} {few_order}LIMIT {cap}) \
             SELECT * FROM ((SELECT * FROM few WHERE (SELECT count(*) FROM few) <= {FEW} {order}) \
             UNION ALL (SELECT {columns} FROM {table} WHERE {filters} AND (SELECT count(*) FROM few) > {FEW} {order})) \
             AS hits {order}"
        );
    } else {
        let _ = write!(plan.sql, "SELECT {columns} FROM {table} WHERE {filters} {order}");
    }
    plan
}

/// The first chunk's size for `query`: one row more than a page.
pub(crate) fn first_chunk(query: &SearchQuery) -> i64 {
    i64::from(query.limit).saturating_add(1).min(MAX_CHUNK)
}

/// The candidates for `query` from `start` on, in its order, fetched chunk by chunk (each a keyset
/// continuation of the previous) until more than a page of them match or none remain.
pub(crate) fn candidates(
    db: &mut Db<'_>,
    table: &str,
    query: &SearchQuery,
    start: Option<Position>,
) -> Result<Vec<Result<KeyRecord, StoreError>>, Fail> {
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut candidates = Vec::new();
    let mut matched = 0usize;
    if matches_nothing(query) {
        return Ok(candidates);
    }
    let mut position = start;
    let mut chunk = first_chunk(query);
    loop {
        let plan = plan(table, query, position.as_ref(), chunk);
        let rows = db.query_typed(&plan.sql, &plan.typed())?;
        let full = i64::try_from(rows.len()).is_ok_and(|len| len == chunk);
        for row in &rows {
            let id: String = row.get(0);
            let record = decode(&id, row.get(1), row.get(2), (row.get(5), row.get(6)));
            if record.as_ref().is_ok_and(|record| query.matches(&record.key)) {
                matched += 1;
            }
            candidates.push(record);
            position = Some(match query.sort {
                SortField::CreatedTime => Position::CreatedTime(row.get(3), id),
                SortField::Name => Position::Name(row.get(4), id),
            });
        }
        if !full || matched > limit {
            return Ok(candidates);
        }
        chunk = chunk.saturating_mul(2).min(MAX_CHUNK);
    }
}
