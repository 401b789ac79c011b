//! [`KeyStore`] on PostgreSQL: the `keys` table.

use std::collections::HashMap;

use ak_core::{BackendErrorKind, KeyRecord, KeyStatus, KeyStore, Page, SearchQuery, StoreError};
use serde_json::{Map, Value};

use crate::error::{Fail, backend};
use crate::search;
use crate::store::{PgStore, Tx};

/// The `last_used_time` and `last_used_ip` columns of a row.
pub(crate) type Usage = (Option<i64>, Option<String>);

/// A record from its row: the body, with the version and usage columns as the truth.
pub(crate) fn decode(id: &str, version: i64, body: &str, usage: Usage) -> Result<KeyRecord, StoreError> {
    let mut record = KeyRecord::from_stored_str(id, body)?;
    record.version = u64::try_from(version)
        .map_err(|_| StoreError::corrupt(Some(id), format!("negative version {version}")))?;
    (record.key.last_used_time, record.key.last_used_ip) = usage;
    Ok(record)
}

/// The body of `record`: everything but its usage, which lives in its own columns.
fn encode(record: &KeyRecord) -> Result<String, StoreError> {
    let mut record = record.clone();
    record.key.last_used_time = None;
    record.key.last_used_ip = None;
    serde_json::to_string(&record).map_err(|err| {
        backend(
            BackendErrorKind::Other,
            format!("access key {}: encoding the record", record.id()),
            Some(Box::new(err)),
        )
    })
}

fn to_i64(version: u64, id: &str) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| {
        backend(
            BackendErrorKind::Other,
            format!("access key {id}: version {version} is too large for PostgreSQL"),
            None,
        )
    })
}

fn next_version(record: &KeyRecord) -> Result<u64, StoreError> {
    record.version.checked_add(1).ok_or_else(|| {
        backend(
            BackendErrorKind::Other,
            format!("access key {}: version overflow", record.id()),
            None,
        )
    })
}

/// Whether `text` can be stored in a `text` column at all (PostgreSQL refuses NUL): an id
/// holding one names no record.
pub(crate) fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// Whether an attribute cannot go into `jsonb` (which refuses `\u0000` in strings). Such
/// entries are left out of the indexed column, and a search for one is not narrowed by the
/// index (it is still filtered exactly on the record), so the index never hides a match.
pub(crate) fn unindexable(name: &str, value: &Value) -> bool {
    name.contains('\0') || value.to_string().contains("\\u0000")
}

/// The custom attributes as they go into the indexed `attributes` column.
fn indexed_attributes(attributes: &Map<String, Value>) -> String {
    let kept: Map<String, Value> = attributes
        .iter()
        .filter(|(name, value)| !unindexable(name, value))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Value::Object(kept).to_string()
}

/// The scalar columns and body of `record`, as stored (its version is the one to store).
struct Row {
    version: i64,
    tenants: Vec<String>,
    attributes: String,
    body: String,
}

impl Row {
    fn of(record: &KeyRecord) -> Result<Self, StoreError> {
        Ok(Self {
            version: to_i64(record.version, record.id())?,
            tenants: record.key.tenant_ids().map(str::to_owned).collect(),
            attributes: indexed_attributes(&record.key.custom_attributes),
            body: encode(record)?,
        })
    }
}

impl PgStore {
    /// Writes every column of `record` over the stored row with version `expected`; the number
    /// of rows changed (0 when the version did not match or there is no such row).
    fn put(&self, tx: &mut Tx<'_>, record: &KeyRecord, expected: i64) -> Result<u64, Fail> {
        let key = &record.key;
        let row = Row::of(record)?;
        let sql = format!(
            "UPDATE {} SET name = $3, status = $4, created_time = $5, expire_time = $6, created_by = $7,
                 bound_user_id = $8, tenant_ids = $9, attributes = $10::text::jsonb, version = $11, body = $12
             WHERE id = $1 AND version = $2",
            self.table("keys")
        );
        tx.execute(
            &sql,
            &[
                &key.id,
                &expected,
                &key.name,
                &key.status.as_str(),
                &key.created_time,
                &key.expire_time,
                &key.created_by,
                &key.bound_user_id,
                &row.tenants,
                &row.attributes,
                &row.version,
                &row.body,
            ],
        )
    }

    /// Locks the rows of `ids` (in id order, so concurrent batches cannot deadlock) and returns
    /// them by id; [`StoreError::NotFound`] listing every unknown id, in the order given.
    fn lock_all(&self, tx: &mut Tx<'_>, ids: &[String]) -> Result<HashMap<String, (i64, String)>, Fail> {
        let sql = format!(
            "SELECT id, version, body FROM {} WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            self.table("keys")
        );
        let storable_ids: Vec<&str> = ids.iter().map(String::as_str).filter(|id| storable(id)).collect();
        let found: HashMap<String, (i64, String)> = tx
            .query(&sql, &[&storable_ids])?
            .into_iter()
            .map(|row| (row.get(0), (row.get(1), row.get(2))))
            .collect();
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !found.contains_key(*id))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(found)
        } else {
            Err(StoreError::NotFound { ids: missing }.into())
        }
    }
}

impl KeyStore for PgStore {
    fn insert(&self, record: &KeyRecord) -> Result<(), StoreError> {
        let key = &record.key;
        let row = Row::of(record)?;
        let sql = format!(
            "INSERT INTO {} (id, name, status, created_time, expire_time, created_by, bound_user_id,
                 tenant_ids, attributes, version, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10, $11)
             ON CONFLICT (id) DO NOTHING",
            self.table("keys")
        );
        self.write("insert", |tx| {
            let inserted = tx.execute(
                &sql,
                &[
                    &key.id,
                    &key.name,
                    &key.status.as_str(),
                    &key.created_time,
                    &key.expire_time,
                    &key.created_by,
                    &key.bound_user_id,
                    &row.tenants,
                    &row.attributes,
                    &row.version,
                    &row.body,
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists { id: key.id.clone() }.into());
            }
            Ok(())
        })
    }

    fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let sql = format!(
            "SELECT version, body, last_used_time, last_used_ip FROM {} WHERE id = $1",
            self.table("keys")
        );
        if !storable(id) {
            return Ok(None);
        }
        self.read("get", |db| {
            let row = db.query_opt(&sql, &[&id])?;
            Ok(row
                .map(|row| decode(id, row.get(0), row.get(1), (row.get(2), row.get(3))))
                .transpose()?)
        })
    }

    fn update(&self, record: &KeyRecord) -> Result<u64, StoreError> {
        let id = record.id();
        let expected = to_i64(record.version, id)?;
        let mut next = record.clone();
        next.version = next_version(record)?;
        if !storable(id) {
            return Err(StoreError::NotFound {
                ids: vec![id.to_owned()],
            });
        }
        let exists = format!("SELECT 1 FROM {} WHERE id = $1", self.table("keys"));
        self.write("update", |tx| {
            if self.put(tx, &next, expected)? == 1 {
                return Ok(next.version);
            }
            if tx.query(&exists, &[&id])?.is_empty() {
                Err(StoreError::NotFound {
                    ids: vec![id.to_owned()],
                }
                .into())
            } else {
                Err(StoreError::VersionConflict {
                    id: id.to_owned(),
                    expected: record.version,
                }
                .into())
            }
        })
    }

    fn set_status(&self, ids: &[String], status: KeyStatus) -> Result<(), StoreError> {
        self.write("set_status", |tx| {
            let rows = self.lock_all(tx, ids)?;
            let mut records: HashMap<&str, KeyRecord> = HashMap::new();
            for id in ids {
                let mut record = match records.remove(id.as_str()) {
                    Some(record) => record,
                    None => {
                        let (version, body) = &rows[id];
                        decode(id, *version, body, (None, None))?
                    }
                };
                let stored = to_i64(record.version, id)?;
                record.key.status = status;
                record.version = next_version(&record)?;
                self.put(tx, &record, stored)?;
                records.insert(id, record);
            }
            Ok(())
        })
    }

    fn delete(&self, ids: &[String]) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE id = ANY($1)", self.table("keys"));
        self.write("delete", |tx| {
            let rows = self.lock_all(tx, ids)?;
            let found: Vec<&str> = rows.keys().map(String::as_str).collect();
            tx.execute(&sql, &[&found])?;
            Ok(())
        })
    }

    /// A found record's body is JSON, decoded as the decoy's is.
    fn decode_decoy(&self, decoy: &ak_core::DecoyRecord) {
        decoy.decode_json();
    }

    fn search(&self, query: &SearchQuery) -> Result<Page<KeyRecord>, StoreError> {
        let Ok(start) = query.position() else {
            // An invalid cursor matches nothing, exactly as `SearchQuery::page_from_sorted` says.
            return Ok(Page::empty());
        };
        let table = self.table("keys");
        self.read("search", |db| {
            Ok(query.page_from_sorted(search::candidates(db, &table, query, start.clone())?)?)
        })
    }
}
