//! [`SqliteKeyStore`]: the [`KeyStore`] on SQLite.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ak_core::{BackendErrorKind, KeyRecord, KeyStatus, KeyStore, Page, SearchQuery, StoreError};
use rusqlite::types::FromSqlError;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{backend, io, opening, sqlite};
use crate::pool::ReaderPool;
use crate::schema::{self, SCHEMA_VERSION, configure_durable};
use crate::search;

/// The default [`SqliteOptions::busy_timeout`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The default [`SqliteOptions::max_readers`].
pub const DEFAULT_MAX_READERS: usize = 4;

/// How [`SqliteKeyStore::open_with`] opens a database.
///
/// ```
/// use std::time::Duration;
/// use ak_sqlite::SqliteOptions;
/// let options = SqliteOptions::new().busy_timeout(Duration::from_secs(1)).max_readers(8);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    busy_timeout: Duration,
    max_readers: usize,
    read_only: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            max_readers: DEFAULT_MAX_READERS,
            read_only: false,
        }
    }
}

impl SqliteOptions {
    /// The defaults: a 5 s busy timeout, at most 4 reader connections, read-write.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a call waits for a lock held by another connection or process before failing
    /// with [`BackendErrorKind::Locked`].
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The most reader connections kept open (at least 1); they are opened on first use.
    #[must_use]
    pub fn max_readers(mut self, readers: usize) -> Self {
        self.max_readers = readers.max(1);
        self
    }

    /// Open an existing, current ak database read-only (`SQLITE_OPEN_READ_ONLY`): nothing is
    /// created or migrated, and every write fails with [`BackendErrorKind::ReadOnly`].
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
}

/// A [`KeyStore`] in a SQLite database: one writer connection behind a mutex, plus a bounded pool
/// of reader connections so that reads run in parallel with each other and with a write.
///
/// See the [crate documentation](crate) for durability, concurrency and the schema.
#[derive(Debug)]
pub struct SqliteKeyStore {
    writer: Mutex<Connection>,
    readers: Option<ReaderPool>,
    /// The path (or memory URI) named in errors.
    label: String,
    busy_timeout: Duration,
    /// Shared-cache in-memory database: table locks fail at once with `SQLITE_LOCKED` instead of
    /// waiting, so calls retry until the busy timeout.
    shared_cache: bool,
}

const FILE_READER_FLAGS: OpenFlags = OpenFlags::SQLITE_OPEN_READ_ONLY.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

impl SqliteKeyStore {
    /// Opens the ak database at `path`, creating and initialising it if no file exists there.
    ///
    /// An existing file is checked before anything is written to it: an empty file, a file that
    /// is not SQLite, another application's database, or an ak database with a newer schema is
    /// refused with [`BackendErrorKind::Incompatible`] (the detail names the path) and left
    /// untouched. An ak database with an older schema is migrated.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens an existing ak database read-only; see [`SqliteOptions::read_only`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, &SqliteOptions::default().read_only(true))
    }

    /// [`open`](Self::open) with options.
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        let exists = path
            .try_exists()
            .map_err(|err| io(err, format!("{label}: checking whether it exists")))?;
        if !exists {
            if options.read_only {
                return Err(backend(
                    BackendErrorKind::Io,
                    format!("{label}: no such database (read-only stores are never created)"),
                    None,
                ));
            }
            schema::create_new(path, &label)?;
        }
        schema::check_header(path, &label)?;
        // Inspect through a read-only connection first: nothing is written before the file is
        // known to be ours (even switching to WAL would rewrite the header).
        let version = {
            let probe = Connection::open_with_flags(path, FILE_READER_FLAGS)
                .map_err(|err| opening(err, format!("{label}: opening")))?;
            probe
                .busy_timeout(options.busy_timeout)
                .map_err(|err| opening(err, format!("{label}: opening")))?;
            schema::inspect(&probe, &label, false)?
        };
        let flags = if options.read_only {
            FILE_READER_FLAGS
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let fail = |err| opening(err, format!("{label}: opening"));
        let mut writer = Connection::open_with_flags(path, flags).map_err(fail)?;
        writer.busy_timeout(options.busy_timeout).map_err(fail)?;
        if options.read_only {
            if version < SCHEMA_VERSION {
                return Err(backend(
                    BackendErrorKind::Incompatible,
                    format!(
                        "{label}: schema version {version} needs migrating to {SCHEMA_VERSION}; open it read-write once"
                    ),
                    None,
                ));
            }
        } else {
            configure_durable(&writer, &label, true)?;
            schema::migrate(&mut writer, &label, false)?;
        }
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Some(ReaderPool::new(
                path.to_string_lossy().into_owned(),
                label.clone(),
                FILE_READER_FLAGS,
                false,
                options.busy_timeout,
                options.max_readers,
            )),
            label,
            busy_timeout: options.busy_timeout,
            shared_cache: false,
        })
    }

    /// A new, empty database in memory, gone when the store is dropped.
    ///
    /// It is a uniquely named shared-cache memory database (`file:ak-mem-…?mode=memory&cache=shared`)
    /// so the writer and the reader connections see the same data. Differences from a file: no
    /// WAL (shared-cache table locks instead, so a read waits while a write transaction is open and
    /// calls retry on `SQLITE_LOCKED` until the busy timeout), and nothing is durable.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::open_in_memory_with(&SqliteOptions::default())
    }

    /// [`open_in_memory`](Self::open_in_memory) with options (`read_only` is ignored).
    pub fn open_in_memory_with(options: &SqliteOptions) -> Result<Self, StoreError> {
        let uri = format!("file:ak-mem-{}?mode=memory&cache=shared", schema::unique_suffix());
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let fail = |err| opening(err, format!("{uri}: opening"));
        let mut writer = Connection::open_with_flags(&uri, flags).map_err(fail)?;
        writer.busy_timeout(options.busy_timeout).map_err(fail)?;
        schema::inspect(&writer, &uri, true)?;
        schema::migrate(&mut writer, &uri, true)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Some(ReaderPool::new(
                uri.clone(),
                uri.clone(),
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                true,
                options.busy_timeout,
                options.max_readers,
            )),
            label: uri,
            busy_timeout: options.busy_timeout,
            shared_cache: true,
        })
    }

    /// A store over a connection the caller opened and configured (a VFS, an encryption key,
    /// limits, …). It is the store's only connection: reads and writes are serialized on it.
    ///
    /// The database must be blank (it is then initialised) or an ak database (it is migrated if
    /// older); anything else is refused before anything is written, as in [`open`](Self::open).
    /// Then the store sets on the connection: `busy_timeout` to 5 s, `journal_mode = WAL` for a
    /// file database, and `synchronous = FULL`. Everything else the caller set is kept.
    pub fn from_connection(mut conn: Connection) -> Result<Self, StoreError> {
        let label = match conn.path() {
            Some(path) if !path.is_empty() => path.to_owned(),
            _ => ":memory:".to_owned(),
        };
        let file_backed = label != ":memory:";
        schema::inspect(&conn, &label, true)?;
        conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)
            .map_err(|err| opening(err, format!("{label}: configuring")))?;
        configure_durable(&conn, &label, file_backed)?;
        schema::migrate(&mut conn, &label, true)?;
        Ok(Self {
            writer: Mutex::new(conn),
            readers: None,
            label,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            shared_cache: false,
        })
    }

    fn detail(&self, operation: &str) -> String {
        format!("{}: {operation}", self.label)
    }

    fn lock_writer(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-transaction rolled the transaction back while unwinding (Transaction's
        // drop), so the connection is still consistent.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `op`, retrying on `SQLITE_LOCKED` for shared-cache memory databases (whose table
    /// locks ignore the busy timeout) until the busy timeout has passed.
    fn retrying<T>(&self, mut op: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
        let deadline = Instant::now() + self.busy_timeout;
        let mut pause = Duration::from_micros(200);
        loop {
            match op() {
                Err(err)
                    if self.shared_cache
                        && err.backend_kind() == Some(BackendErrorKind::Locked)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
                result => return result,
            }
        }
    }

    /// Runs `op` in one `BEGIN IMMEDIATE` transaction on the writer and commits it.
    pub(crate) fn write<T>(
        &self,
        operation: &str,
        op: impl Fn(&Transaction<'_>, &dyn Fn(rusqlite::Error) -> StoreError) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fail = |err| sqlite(err, self.detail(operation));
        self.retrying(|| {
            let mut conn = self.lock_writer();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(fail)?;
            let value = op(&tx, &fail)?;
            tx.commit().map_err(fail)?;
            Ok(value)
        })
    }

    /// Runs `op` on a reader connection (or the only connection).
    pub(crate) fn read<T>(
        &self,
        operation: &str,
        op: impl Fn(&Connection, &dyn Fn(rusqlite::Error) -> StoreError) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fail = |err| sqlite(err, self.detail(operation));
        self.retrying(|| match &self.readers {
            Some(pool) => op(&*pool.get()?, &fail),
            None => op(&self.lock_writer(), &fail),
        })
    }
}

fn to_i64(version: u64, id: &str) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| {
        backend(
            BackendErrorKind::Other,
            format!("access key {id}: version {version} is too large for SQLite"),
            None,
        )
    })
}

/// A record from its row: the body, with the version column as the truth.
pub(crate) fn decode(id: &str, version: i64, body: &str, usage: Usage) -> Result<KeyRecord, StoreError> {
    let mut record = KeyRecord::from_stored_str(id, body)?;
    record.version = u64::try_from(version)
        .map_err(|_| StoreError::corrupt(Some(id), format!("negative version {version}")))?;
    (record.key.last_used_time, record.key.last_used_ip) = usage;
    Ok(record)
}

/// Column `idx` of `row` as text borrowed from the row: what `row.get::<_, String>(idx)` reads,
/// with the same errors (a value that is not text, or text that is not UTF-8), without copying
/// it into a `String` of its own first.
fn borrowed_text<'row>(row: &'row rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<&'row str> {
    let value = row.get_ref(idx)?;
    value.as_str().map_err(|err| match err {
        FromSqlError::Utf8Error(err) => rusqlite::Error::Utf8Error(idx, err),
        FromSqlError::InvalidType => rusqlite::Error::InvalidColumnType(
            idx,
            row.as_ref().column_name(idx).unwrap_or_default().to_owned(),
            value.data_type(),
        ),
        other => rusqlite::Error::FromSqlConversionFailure(idx, value.data_type(), Box::new(other)),
    })
}

/// The `last_used_time` and `last_used_ip` columns of a row.
pub(crate) type Usage = (Option<i64>, Option<String>);

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

type Fail<'a> = &'a dyn Fn(rusqlite::Error) -> StoreError;

fn stored_version(tx: &Transaction<'_>, id: &str, fail: Fail<'_>) -> Result<Option<i64>, StoreError> {
    tx.prepare_cached("SELECT version FROM keys WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |row| row.get(0)).optional())
        .map_err(fail)
}

/// Every id of `ids` with no record, in order; `Err(NotFound)` if there is one.
fn require_all(tx: &Transaction<'_>, ids: &[String], fail: Fail<'_>) -> Result<(), StoreError> {
    let mut missing = Vec::new();
    for id in ids {
        if stored_version(tx, id, fail)?.is_none() {
            missing.push(id.clone());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::NotFound { ids: missing })
    }
}

/// Writes the scalar columns and body of `record` (whose version is the one to store).
fn put_row(
    tx: &Transaction<'_>,
    record: &KeyRecord,
    replace: bool,
    fail: Fail<'_>,
) -> Result<(), StoreError> {
    let key = &record.key;
    let version = to_i64(record.version, &key.id)?;
    let body = encode(record)?;
    let sql = if replace {
        "UPDATE keys SET name = ?2, status = ?3, created_time = ?4, expire_time = ?5, created_by = ?6,
             bound_user_id = ?7, version = ?8, body = ?9 WHERE id = ?1"
    } else {
        "INSERT INTO keys (id, name, status, created_time, expire_time, created_by, bound_user_id, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    };
    tx.prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                key.id,
                key.name,
                key.status.as_str(),
                key.created_time,
                key.expire_time,
                key.created_by,
                key.bound_user_id,
                version,
                body,
            ])
        })
        .map_err(fail)?;
    Ok(())
}

/// Replaces the tenant rows of `record`.
fn put_tenants(tx: &Transaction<'_>, record: &KeyRecord, fail: Fail<'_>) -> Result<(), StoreError> {
    delete_tenants(tx, record.id(), fail)?;
    let mut stmt = tx
        .prepare_cached("INSERT OR IGNORE INTO key_tenants (tenant_id, key_id) VALUES (?1, ?2)")
        .map_err(fail)?;
    for tenant in record.key.tenant_ids() {
        stmt.execute([tenant, record.id()]).map_err(fail)?;
    }
    Ok(())
}

fn delete_tenants(tx: &Transaction<'_>, id: &str, fail: Fail<'_>) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM key_tenants WHERE key_id = ?1")
        .and_then(|mut stmt| stmt.execute([id]))
        .map_err(fail)?;
    Ok(())
}

impl KeyStore for SqliteKeyStore {
    fn insert(&self, record: &KeyRecord) -> Result<(), StoreError> {
        self.write("insert", |tx, fail| {
            if stored_version(tx, record.id(), fail)?.is_some() {
                return Err(StoreError::AlreadyExists {
                    id: record.id().to_owned(),
                });
            }
            put_row(tx, record, false, fail)?;
            put_tenants(tx, record, fail)
        })
    }

    fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.read("get", |conn, fail| {
            let row = conn
                .prepare_cached("SELECT version, body, last_used_time, last_used_ip FROM keys WHERE id = ?1")
                .and_then(|mut stmt| {
                    // The body is decoded where SQLite holds it, not copied out first.
                    stmt.query_row([id], |row| {
                        let version = row.get::<_, i64>(0)?;
                        let body = borrowed_text(row, 1)?;
                        let usage = (row.get(2)?, row.get(3)?);
                        Ok(decode(id, version, body, usage))
                    })
                    .optional()
                })
                .map_err(fail)?;
            row.transpose()
        })
    }

    fn update(&self, record: &KeyRecord) -> Result<u64, StoreError> {
        self.write("update", |tx, fail| {
            let id = record.id();
            let Some(stored) = stored_version(tx, id, fail)? else {
                return Err(StoreError::NotFound {
                    ids: vec![id.to_owned()],
                });
            };
            if u64::try_from(stored).ok() != Some(record.version) {
                return Err(StoreError::VersionConflict {
                    id: id.to_owned(),
                    expected: record.version,
                });
            }
            let mut next = record.clone();
            next.version = record.version.checked_add(1).ok_or_else(|| {
                backend(
                    BackendErrorKind::Other,
                    format!("access key {id}: version overflow"),
                    None,
                )
            })?;
            put_row(tx, &next, true, fail)?;
            put_tenants(tx, &next, fail)?;
            Ok(next.version)
        })
    }

    fn set_status(&self, ids: &[String], status: KeyStatus) -> Result<(), StoreError> {
        self.write("set_status", |tx, fail| {
            require_all(tx, ids, fail)?;
            for id in ids {
                let (version, body): (i64, String) = tx
                    .prepare_cached("SELECT version, body FROM keys WHERE id = ?1")
                    .and_then(|mut stmt| stmt.query_row([id], |row| Ok((row.get(0)?, row.get(1)?))))
                    .map_err(fail)?;
                let mut record = decode(id, version, &body, (None, None))?;
                record.key.status = status;
                record.version = record.version.checked_add(1).ok_or_else(|| {
                    backend(
                        BackendErrorKind::Other,
                        format!("access key {id}: version overflow"),
                        None,
                    )
                })?;
                put_row(tx, &record, true, fail)?;
            }
            Ok(())
        })
    }

    fn delete(&self, ids: &[String]) -> Result<(), StoreError> {
        self.write("delete", |tx, fail| {
            require_all(tx, ids, fail)?;
            for id in ids {
                delete_tenants(tx, id, fail)?;
                tx.prepare_cached("DELETE FROM keys WHERE id = ?1")
                    .and_then(|mut stmt| stmt.execute([id]))
                    .map_err(fail)?;
            }
            Ok(())
        })
    }

    /// A found record's body is JSON, decoded as the decoy's is.
    fn decode_decoy(&self, decoy: &ak_core::DecoyRecord) {
        decoy.decode_json();
    }

    fn search(&self, query: &SearchQuery) -> Result<Page<KeyRecord>, StoreError> {
        let Some(plan) = search::plan(query) else {
            // An invalid cursor matches nothing, exactly as `SearchQuery::page_from_sorted` says.
            return Ok(Page::empty());
        };
        self.read("search", |conn, fail| {
            let mut stmt = conn.prepare_cached(&plan.sql).map_err(fail)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(plan.params.iter()), |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        (row.get(3)?, row.get(4)?),
                    ))
                })
                .map_err(fail)?;
            query.page_from_sorted(rows.map(|row| {
                let (id, version, body, usage) = row.map_err(fail)?;
                decode(&id, version, &body, usage)
            }))
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ak_core::{Cursor, SortField};

    /// The `EXPLAIN QUERY PLAN` lines of `sql`.
    pub(crate) fn plan_of(
        store: &SqliteKeyStore,
        sql: &str,
        params: &[rusqlite::types::Value],
    ) -> Vec<String> {
        let conn = store.lock_writer();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        stmt.query_map(rusqlite::params_from_iter(params.iter()), |row| {
            row.get::<_, String>(3)
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn assert_no_scan_of_keys(plan: &[String]) {
        assert!(
            plan.iter().all(|line| !line.starts_with("SCAN keys")),
            "full scan of keys: {plan:?}"
        );
    }

    fn cursor_query(query: &SearchQuery) -> SearchQuery {
        let mut record = ak_testkit::fixtures::record("k", "name", 5);
        record.key.created_time = 5;
        SearchQuery {
            cursor: Some(query.cursor_after(&record.key)),
            ..query.clone()
        }
    }

    #[test]
    fn point_load_and_tenant_search_use_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteKeyStore::open(dir.path().join("keys.db")).unwrap();

        let point = plan_of(
            &store,
            "SELECT version, body FROM keys WHERE id = ?1",
            &[rusqlite::types::Value::Text("k".into())],
        );
        assert_no_scan_of_keys(&point);
        assert!(point.iter().any(|line| line.contains("USING INDEX")), "{point:?}");

        for sort in [SortField::CreatedTime, SortField::Name] {
            for descending in [false, true] {
                let query = SearchQuery {
                    tenant_ids: vec!["acme".into(), "globex".into()],
                    sort,
                    descending,
                    ..SearchQuery::default()
                };
                for query in [cursor_query(&query), query] {
                    let plan = search::plan(&query).unwrap();
                    let lines = plan_of(&store, &plan.sql, &plan.params);
                    assert_no_scan_of_keys(&lines);
                    assert!(
                        lines
                            .iter()
                            .any(|line| line.contains("key_tenants") && line.contains("PRIMARY KEY")),
                        "tenant search not driven by the tenant index: {lines:?}"
                    );
                }
            }
        }

        // Every other indexed filter, and the plain listing, walk an index too.
        let filters = [
            SearchQuery {
                status: Some(KeyStatus::Inactive),
                ..SearchQuery::default()
            },
            SearchQuery {
                bound_user_id: Some("u1".into()),
                ..SearchQuery::default()
            },
            SearchQuery {
                created_by: Some("alice".into()),
                ..SearchQuery::default()
            },
            SearchQuery::default(),
            SearchQuery {
                sort: SortField::Name,
                descending: true,
                ..SearchQuery::default()
            },
        ];
        for query in filters {
            for query in [cursor_query(&query), query] {
                let plan = search::plan(&query).unwrap();
                let lines = plan_of(&store, &plan.sql, &plan.params);
                assert!(
                    lines.iter().any(|line| line.contains("USING INDEX")),
                    "{query:?}: {lines:?}"
                );
                assert!(
                    !lines.iter().any(|line| line.contains("TEMP B-TREE")),
                    "{query:?} sorts instead of walking an index: {lines:?}"
                );
            }
        }
    }

    /// `PRAGMA synchronous` of the store's one writing connection: 2 is FULL.
    fn writer_synchronous(store: &SqliteKeyStore) -> i64 {
        store
            .lock_writer()
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn every_writing_connection_runs_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let created = SqliteKeyStore::open(dir.path().join("new.db")).unwrap();
        assert_eq!(writer_synchronous(&created), 2, "a new database");
        drop(created);
        let reopened = SqliteKeyStore::open(dir.path().join("new.db")).unwrap();
        assert_eq!(writer_synchronous(&reopened), 2, "an existing database");
        drop(reopened);
        let conn = Connection::open(dir.path().join("caller.db")).unwrap();
        conn.pragma_update(None, "synchronous", "OFF").unwrap();
        let given = SqliteKeyStore::from_connection(conn).unwrap();
        assert_eq!(writer_synchronous(&given), 2, "a caller's connection");
    }

    /// `borrowed_text` reads what `row.get::<_, String>` reads and fails as it fails, for every
    /// kind of value a damaged row could hold in the body column.
    #[test]
    fn borrowed_text_reads_and_fails_like_an_owned_string() {
        let conn = Connection::open_in_memory().unwrap();
        for value in [
            "'{\"a\":\"é\"}'",
            "''",
            "CAST(x'ff00' AS TEXT)",
            "x'7b7d'",
            "42",
            "4.5",
            "NULL",
        ] {
            let (borrowed, owned) = conn
                .query_row(&format!("SELECT {value} AS body"), [], |row| {
                    Ok((borrowed_text(row, 0).map(str::to_owned), row.get::<_, String>(0)))
                })
                .unwrap();
            match (&borrowed, &owned) {
                (Ok(borrowed), Ok(owned)) => assert_eq!(borrowed, owned, "{value}"),
                (Err(borrowed), Err(owned)) => {
                    assert_eq!(borrowed.to_string(), owned.to_string(), "{value}");
                    assert_eq!(format!("{borrowed:?}"), format!("{owned:?}"), "{value}");
                }
                _ => panic!("{value}: borrowed {borrowed:?}, owned {owned:?}"),
            }
        }
    }

    #[test]
    fn invalid_cursor_matches_nothing() {
        let store = SqliteKeyStore::open_in_memory().unwrap();
        store.insert(&ak_testkit::fixtures::record("k", "n", 1)).unwrap();
        let query = SearchQuery {
            cursor: Some(Cursor::from_string("garbage")),
            ..SearchQuery::default()
        };
        let page = store.search(&query).unwrap();
        assert!(page.items.is_empty() && page.next_cursor.is_none());
    }
}
