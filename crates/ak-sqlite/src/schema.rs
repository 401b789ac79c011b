//! The schema, its migrations, and the checks that refuse files which are not ak databases.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ak_core::{BackendErrorKind, StoreError};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{backend, io, opening};

/// The `PRAGMA application_id` of every ak database: the bytes `akks` ("ak key store").
pub const APPLICATION_ID: i32 = 0x616B_6B73;

/// The schema version this code writes (`PRAGMA user_version`). Older ak databases are migrated
/// on open; newer ones are refused.
pub const SCHEMA_VERSION: u32 = 5;

/// `MIGRATIONS[n]` takes a database from schema version `n` to `n + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: keys with one scalar, indexed column per search filter and the whole record as JSON, and
    // one row per (tenant, key) so that a tenant search is an index lookup.
    r"
    CREATE TABLE keys (
        id            TEXT    NOT NULL PRIMARY KEY,
        name          TEXT    NOT NULL,
        status        TEXT    NOT NULL,
        created_time  INTEGER NOT NULL,
        expire_time   INTEGER,
        created_by    TEXT    NOT NULL,
        bound_user_id TEXT,
        version       INTEGER NOT NULL,
        body          TEXT    NOT NULL
    );
    CREATE INDEX keys_by_created_time ON keys (created_time, id);
    CREATE INDEX keys_by_name         ON keys (name, id);
    CREATE INDEX keys_by_status       ON keys (status, created_time, id);
    CREATE INDEX keys_by_bound_user   ON keys (bound_user_id, created_time, id);
    CREATE INDEX keys_by_created_by   ON keys (created_by, created_time, id);
    CREATE TABLE key_tenants (
        tenant_id TEXT NOT NULL,
        key_id    TEXT NOT NULL,
        PRIMARY KEY (tenant_id, key_id)
    ) WITHOUT ROWID;
    CREATE INDEX key_tenants_by_key ON key_tenants (key_id);
    ",
    // 2: management keys, in their own table so that no access-key query can reach them.
    r"
    CREATE TABLE management_keys (
        id   TEXT NOT NULL PRIMARY KEY,
        body TEXT NOT NULL
    );
    ",
    // 3: the sealed signing-key set: at most one row, replaced by compare-and-swap on `version`.
    r"
    CREATE TABLE signing_keys (
        id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        sealed  BLOB    NOT NULL
    );
    ",
    // 4: webhooks, in their own table: one row per webhook, the whole record (its signing secret
    // sealed by the facade) as JSON.
    r"
    CREATE TABLE webhooks (
        id   TEXT NOT NULL PRIMARY KEY,
        body TEXT NOT NULL
    );
    ",
    // 5: last use per key (columns beside the record, written without touching `version`, with
    // indexes for the stale-key and expiry filters), and the audit trail: one row per event, the
    // event as JSON, with one row per (key, event) so that a key's trail is an index walk.
    r"
    ALTER TABLE keys ADD COLUMN last_used_time INTEGER;
    ALTER TABLE keys ADD COLUMN last_used_ip TEXT;
    CREATE INDEX keys_by_last_used   ON keys (last_used_time, id);
    CREATE INDEX keys_by_expire_time ON keys (expire_time, id);
    CREATE TABLE audit_events (
        id       TEXT    NOT NULL PRIMARY KEY,
        occurred INTEGER NOT NULL,
        action   TEXT    NOT NULL,
        actor    TEXT    NOT NULL,
        body     TEXT    NOT NULL
    );
    CREATE INDEX audit_events_by_time   ON audit_events (occurred, id);
    CREATE INDEX audit_events_by_action ON audit_events (action, occurred, id);
    CREATE TABLE audit_event_keys (
        key_id   TEXT    NOT NULL,
        occurred INTEGER NOT NULL,
        event_id TEXT    NOT NULL,
        PRIMARY KEY (key_id, occurred, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX audit_event_keys_by_time ON audit_event_keys (occurred, event_id);
    ",
];

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// A name no other store of this process, or any other, uses.
pub(crate) fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn incompatible(label: &str, why: impl std::fmt::Display) -> StoreError {
    backend(BackendErrorKind::Incompatible, format!("{label}: {why}"), None)
}

/// Refuses, from the raw bytes and without SQLite touching the file, an empty file and a file
/// that is not a SQLite database at all.
pub(crate) fn check_header(path: &Path, label: &str) -> Result<(), StoreError> {
    let mut file = File::open(path).map_err(|err| io(err, format!("{label}: opening")))?;
    let mut header = Vec::with_capacity(100);
    (&mut file)
        .take(100)
        .read_to_end(&mut header)
        .map_err(|err| io(err, format!("{label}: reading the header")))?;
    if header.is_empty() {
        return Err(incompatible(
            label,
            "the file is empty, not an ak database (remove it to create a new store there)",
        ));
    }
    if header.len() < 100 || !header.starts_with(SQLITE_MAGIC) {
        return Err(incompatible(
            label,
            "not a SQLite database, so not an ak database",
        ));
    }
    // The application id sits at offset 68 of the header (big-endian). Checking it here, before
    // any connection, keeps SQLite from creating -wal/-shm files beside a foreign WAL database.
    let application_id = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    if application_id != APPLICATION_ID {
        return Err(incompatible(
            label,
            format!("not an ak database (application_id {application_id:#x}; expected {APPLICATION_ID:#x})"),
        ));
    }
    Ok(())
}

/// What a database holds, read without writing anything.
struct Identity {
    application_id: i64,
    user_version: i64,
    objects: i64,
}

fn identify(conn: &Connection, label: &str) -> Result<Identity, StoreError> {
    let read = |err| opening(err, format!("{label}: reading the database header"));
    Ok(Identity {
        application_id: conn
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .map_err(read)?,
        user_version: conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(read)?,
        objects: conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(read)?,
    })
}

/// Checks that `conn` holds an ak database this code can use and returns its schema version.
/// With `allow_blank`, a database without any schema object is accepted as version 0.
pub(crate) fn inspect(conn: &Connection, label: &str, allow_blank: bool) -> Result<u32, StoreError> {
    let identity = identify(conn, label)?;
    check_identity(&identity, label, allow_blank)
}

fn check_identity(identity: &Identity, label: &str, allow_blank: bool) -> Result<u32, StoreError> {
    let blank = identity.application_id == 0 && identity.user_version == 0 && identity.objects == 0;
    if blank && allow_blank {
        return Ok(0);
    }
    if identity.application_id != i64::from(APPLICATION_ID) {
        return Err(incompatible(
            label,
            format!(
                "not an ak database (application_id {:#x}, {} schema objects; expected application_id {APPLICATION_ID:#x})",
                identity.application_id, identity.objects
            ),
        ));
    }
    match u32::try_from(identity.user_version) {
        Ok(version) if version <= SCHEMA_VERSION => Ok(version),
        _ => Err(incompatible(
            label,
            format!(
                "schema version {} is newer than this ak supports ({SCHEMA_VERSION}); upgrade ak to open it",
                identity.user_version
            ),
        )),
    }
}

/// Brings the schema up to [`SCHEMA_VERSION`] in one `BEGIN IMMEDIATE` transaction, re-checking
/// the identity under the write lock (another process may have migrated meanwhile).
pub(crate) fn migrate(conn: &mut Connection, label: &str, allow_blank: bool) -> Result<(), StoreError> {
    let fail = |err| opening(err, format!("{label}: migrating the schema"));
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let identity = identify(&tx, label)?;
    let from = check_identity(&identity, label, allow_blank)?;
    if from == SCHEMA_VERSION {
        return Ok(());
    }
    for step in MIGRATIONS
        .iter()
        .skip(usize::try_from(from).unwrap_or(usize::MAX))
    {
        tx.execute_batch(step).map_err(fail)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(fail)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(fail)?;
    tx.commit().map_err(fail)
}

/// Creates a new, fully initialised ak database at `path`, which did not exist.
///
/// The database is built under a temporary name in the same directory and then hard-linked into
/// place, so `path` never holds a half-initialised database, even if this process crashes or
/// another process opens it at the same time. If another process created `path` first, its
/// database is used (and checked like any existing file).
pub(crate) fn create_new(path: &Path, label: &str) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Some(file_name) = path.file_name() else {
        return Err(backend(
            BackendErrorKind::Io,
            format!("{label}: not a file path"),
            None,
        ));
    };
    let temp = dir.join(format!(
        ".{}.ak-init-{}",
        file_name.to_string_lossy(),
        unique_suffix()
    ));
    let result = build_and_link(&temp, path, label);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = temp.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    result?;
    // Make the new directory entry itself durable.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn build_and_link(temp: &Path, path: &Path, label: &str) -> Result<(), StoreError> {
    let fail = |err| opening(err, format!("{label}: creating the database"));
    let mut conn = Connection::open_with_flags(
        temp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    configure_durable(&conn, label, true)?;
    migrate(&mut conn, label, true)?;
    // Closing the last connection checkpoints the WAL into the file (fsynced: synchronous=FULL).
    conn.close().map_err(|(_, err)| fail(err))?;
    match std::fs::hard_link(temp, path) {
        Ok(()) => Ok(()),
        // Someone else created the file first: theirs is checked and used.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // No hard links on this file system: move the finished database into place if the name
        // is still free. A rename is atomic, so the path never holds a partial database; two
        // processes creating the same store at the same instant on such a file system could
        // both rename (the later one wins, before either has written a key).
        Err(_) if !path.exists() => {
            std::fs::rename(temp, path).map_err(|err| io(err, format!("{label}: creating the database")))
        }
        Err(_) => Ok(()),
    }
}

/// WAL (for files) and `synchronous = FULL`.
pub(crate) fn configure_durable(conn: &Connection, label: &str, wal: bool) -> Result<(), StoreError> {
    let fail = |err| opening(err, format!("{label}: configuring"));
    if wal {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(backend(
                BackendErrorKind::Io,
                format!("{label}: could not switch to WAL mode (journal mode is {mode})"),
                None,
            ));
        }
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(fail)
}
