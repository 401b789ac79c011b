//! Files that are not ak databases, read-only stores, locks and a full database.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use ak_core::{BackendErrorKind, KeyStatus, KeyStore, StoreError};
use ak_sqlite::{APPLICATION_ID, SCHEMA_VERSION, SqliteKeyStore, SqliteOptions};
use ak_testkit::fixtures::{full_record, record};
use rusqlite::Connection;

/// The names of the files in `dir`.
fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The `Backend` error's kind and detail; panics on anything else.
fn backend_error(err: &StoreError) -> (BackendErrorKind, &str) {
    match err {
        StoreError::Backend {
            backend,
            kind,
            detail,
            ..
        } => {
            assert_eq!(*backend, "sqlite");
            (*kind, detail)
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

/// Opening `path` (read-write and read-only) is refused as incompatible, names the path, and
/// leaves the file and its directory exactly as they were.
fn assert_refused(path: &Path, why: &str) {
    let dir = path.parent().unwrap();
    let bytes = std::fs::read(path).unwrap();
    let files = listing(dir);
    for read_only in [false, true] {
        let options = SqliteOptions::new().read_only(read_only);
        let err = SqliteKeyStore::open_with(path, &options).expect_err(why);
        let (kind, detail) = backend_error(&err);
        assert_eq!(kind, BackendErrorKind::Incompatible, "{why}: {err}");
        assert!(detail.contains(&path.display().to_string()), "{why}: {detail}");
        assert!(err.to_string().contains(&path.display().to_string()));
        assert_eq!(std::fs::read(path).unwrap(), bytes, "{why}: the file changed");
        assert_eq!(listing(dir), files, "{why}: files appeared or vanished");
    }
}

/// Deterministic noise.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn empty_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    std::fs::write(&path, b"").unwrap();
    assert_refused(&path, "empty file");
    let err = SqliteKeyStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn random_bytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    std::fs::write(&path, noise(8192, 0x1234_5678)).unwrap();
    assert_refused(&path, "random bytes");
    std::fs::write(&path, b"short").unwrap();
    assert_refused(&path, "a few bytes");
}

#[test]
fn sqlite_header_over_garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let mut bytes = noise(8192, 0x0bad_cafe);
    bytes[..16].copy_from_slice(b"SQLite format 3\0");
    // Legacy (rollback-journal) file format, so SQLite has no reason to create a WAL.
    bytes[18] = 1;
    bytes[19] = 1;
    std::fs::write(&path, bytes).unwrap();
    assert_refused(&path, "SQLite header over garbage");
}

#[test]
fn another_applications_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO users (name) VALUES ('alice'), ('bob');",
        )
        .unwrap();
    }
    assert_refused(&path, "another application's database");
    let err = SqliteKeyStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("not an ak database"), "{err}");

    // Handed over as a connection, it is refused too, and not modified.
    let bytes = std::fs::read(&path).unwrap();
    let err = SqliteKeyStore::from_connection(Connection::open(&path).unwrap()).unwrap_err();
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Incompatible));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn another_applications_wal_database_is_refused_without_sidecar_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal-app.db");
    {
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.execute_batch("CREATE TABLE events (id INTEGER PRIMARY KEY);")
            .unwrap();
    }
    assert!(
        !dir.path().join("wal-app.db-wal").exists(),
        "closing checkpointed and removed the WAL"
    );
    // assert_refused checks the bytes and that no file (such as -wal or -shm) appeared.
    assert_refused(&path, "another application's WAL database");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE keys (id TEXT PRIMARY KEY, future TEXT);")
            .unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    assert_refused(&path, "newer schema");
    let err = SqliteKeyStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn a_newer_schema_written_by_ak_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    SqliteKeyStore::open(&path)
        .unwrap()
        .insert(&full_record("a"))
        .unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let err = SqliteKeyStore::open(&path).unwrap_err();
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Incompatible));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let conn = Connection::open(&path).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1);
}

#[test]
fn a_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteKeyStore::open(dir.path()).unwrap_err();
    assert!(err.backend_kind().is_some(), "{err}");
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[test]
fn a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/keys.db");
    let err = SqliteKeyStore::open(&path).unwrap_err();
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Io), "{err}");
    assert!(err.to_string().contains("keys.db"));
}

#[test]
fn a_new_file_is_created_initialised_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = SqliteKeyStore::open(&path).unwrap();
    store.insert(&full_record("a")).unwrap();
    drop(store);
    // No temporary files are left behind.
    assert!(listing(dir.path()).iter().all(|name| name.starts_with("keys.db")));
    let conn = Connection::open(&path).unwrap();
    let (app, version, mode): (i32, u32, String) = (
        conn.pragma_query_value(None, "application_id", |row| row.get(0))
            .unwrap(),
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap(),
        conn.pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap(),
    );
    assert_eq!(
        (app, version, mode.as_str()),
        (APPLICATION_ID, SCHEMA_VERSION, "wal")
    );
    drop(conn);
    // Opening again is idempotent.
    for _ in 0..2 {
        let store = SqliteKeyStore::open(&path).unwrap();
        assert_eq!(store.get("a").unwrap(), Some(full_record("a")));
    }
}

#[test]
fn read_only_store_reads_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    SqliteKeyStore::open(&path)
        .unwrap()
        .insert(&full_record("a"))
        .unwrap();
    let store = SqliteKeyStore::open_read_only(&path).unwrap();
    assert_eq!(store.get("a").unwrap(), Some(full_record("a")));
    let attempts = [
        store.insert(&record("b", "b", 1)).unwrap_err(),
        store.update(&full_record("a")).unwrap_err(),
        store
            .set_status(&["a".to_owned()], KeyStatus::Active)
            .unwrap_err(),
        store.delete(&["a".to_owned()]).unwrap_err(),
    ];
    for err in &attempts {
        let (kind, detail) = backend_error(err);
        assert_eq!(kind, BackendErrorKind::ReadOnly, "{err}");
        assert!(detail.contains(&path.display().to_string()), "{detail}");
    }
    assert_eq!(store.get("a").unwrap(), Some(full_record("a")));

    // A read-only store never creates a file.
    let missing = dir.path().join("missing.db");
    let err = SqliteKeyStore::open_read_only(&missing).unwrap_err();
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Io));
    assert!(!missing.exists());
}

#[cfg(unix)]
#[test]
fn read_only_permissions_give_read_only_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    SqliteKeyStore::open(&path)
        .unwrap()
        .insert(&record("a", "a", 1))
        .unwrap();
    let set_mode = |target: &Path, mode| {
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    set_mode(&path, 0o444);
    set_mode(dir.path(), 0o555);
    // Root (as in CI containers) ignores permission bits: nothing to test then.
    let enforced = std::fs::OpenOptions::new().write(true).open(&path).is_err();
    let result =
        enforced.then(|| SqliteKeyStore::open(&path).map(|store| store.insert(&record("b", "b", 2))));
    set_mode(dir.path(), 0o755);
    set_mode(&path, 0o644);
    match result {
        None => eprintln!("permission bits are not enforced for this user (root?): skipped"),
        Some(Err(err)) | Some(Ok(Err(err))) => {
            let (kind, detail) = backend_error(&err);
            assert!(
                matches!(kind, BackendErrorKind::ReadOnly | BackendErrorKind::Io),
                "{err}"
            );
            assert!(detail.contains(&path.display().to_string()), "{detail}");
        }
        Some(Ok(Ok(()))) => panic!("wrote through read-only permissions"),
    }
}

#[test]
fn a_held_write_lock_is_locked_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let options = SqliteOptions::new().busy_timeout(Duration::from_millis(100));
    let store = SqliteKeyStore::open_with(&path, &options).unwrap();
    store.insert(&record("a", "a", 1)).unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store.insert(&record("b", "b", 2)).unwrap_err();
    let (kind, detail) = backend_error(&err);
    assert_eq!(kind, BackendErrorKind::Locked, "{err}");
    assert!(detail.contains(&path.display().to_string()), "{detail}");
    // Reads go on while the other process holds the write lock (WAL).
    assert!(store.get("a").unwrap().is_some());
    other.execute_batch("ROLLBACK").unwrap();
    store.insert(&record("b", "b", 2)).unwrap();
}

#[test]
fn a_full_database_is_storage_full_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    drop(SqliteKeyStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let pages: i64 = conn
        .pragma_query_value(None, "page_count", |row| row.get(0))
        .unwrap();
    // Room for a few small records only.
    let _: i64 = conn
        .pragma_update_and_check(None, "max_page_count", pages + 4, |row| row.get(0))
        .unwrap();
    let store = SqliteKeyStore::from_connection(conn).unwrap();
    let mut inserted = 0;
    let err = loop {
        let mut big = full_record(&format!("key-{inserted}"));
        big.key.description = "x".repeat(1000);
        match store.insert(&big) {
            Ok(()) => inserted += 1,
            Err(err) => break err,
        }
        assert!(inserted < 1000, "never filled up");
    };
    let (kind, detail) = backend_error(&err);
    assert_eq!(kind, BackendErrorKind::StorageFull, "{err}");
    assert!(detail.contains(&path.display().to_string()), "{detail}");
    // The failed insert left no partial record and no tenant rows.
    assert!(store.get(&format!("key-{inserted}")).unwrap().is_none());
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM key_tenants WHERE key_id NOT IN (SELECT id FROM keys)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
}

#[test]
fn from_connection_configures_a_blank_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = SqliteKeyStore::from_connection(Connection::open(&path).unwrap()).unwrap();
    store.insert(&full_record("a")).unwrap();
    drop(store);
    let store = SqliteKeyStore::open(&path).unwrap();
    assert_eq!(store.get("a").unwrap(), Some(full_record("a")));

    // An in-memory connection works too.
    let store = SqliteKeyStore::from_connection(Connection::open_in_memory().unwrap()).unwrap();
    store.insert(&full_record("a")).unwrap();
    assert_eq!(store.get("a").unwrap(), Some(full_record("a")));
}

#[test]
fn corrupt_rows_are_corrupt_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = SqliteKeyStore::open(&path).unwrap();
    store.insert(&full_record("a")).unwrap();
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE keys SET body = '{not json' WHERE id = 'a'", [])
        .unwrap();
    match store.get("a") {
        Err(StoreError::Corrupt { id, .. }) => assert_eq!(id.as_deref(), Some("a")),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // A search passes it over and says so (tests/corrupt.rs covers the rest).
    let page = store.search(&ak_core::SearchQuery::default()).unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.skipped[0].id.as_deref(), Some("a"));
}
