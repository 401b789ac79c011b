//! An acknowledged deactivate has `fsync`ed SQLite's write-ahead log before it returns: the
//! store runs with `synchronous=FULL`, so every commit `fsync`s the WAL (issue 12, finding 2).

use ak_core::{KeyStatus, KeyStore};
use ak_sqlite::SqliteKeyStore;
use ak_testkit::fixtures::record;
use ak_testkit::sync_trace::{self, AFTER, BEFORE};

/// Tells `deactivate_child` where the store is (and to run at all).
const DIR: &str = "AK_SQLITE_SYNC_TRACE_DIR";

#[test]
fn an_acknowledged_deactivate_fsyncs_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().to_path_buf();
    let db = store_dir.join("keys.db");
    {
        let store = SqliteKeyStore::open(&db).unwrap();
        store.insert(&record("k", "kay", 1)).unwrap();
    }
    if !sync_trace::assert_synced_before_return(
        "deactivate_child",
        DIR,
        &store_dir,
        &store_dir.join("keys.db-wal"),
    ) {
        return;
    }
    let store = SqliteKeyStore::open(&db).unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().key.status, KeyStatus::Inactive);
}

/// The child: one acknowledged deactivate between the markers.
#[test]
fn deactivate_child() {
    let Some(dir) = std::env::var_os(DIR) else {
        return;
    };
    let store = SqliteKeyStore::open(std::path::Path::new(&dir).join("keys.db")).unwrap();
    eprintln!("{BEFORE}");
    store.set_status(&["k".into()], KeyStatus::Inactive).unwrap();
    eprintln!("{AFTER}");
}

#[test]
fn an_acknowledged_signing_key_replace_fsyncs_the_wal() {
    use ak_core::SigningKeyStore;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().to_path_buf();
    let db = store_dir.join("keys.db");
    SqliteKeyStore::open(&db)
        .unwrap()
        .replace_signing_keys(None, b"old")
        .unwrap();
    if !sync_trace::assert_synced_before_return(
        "replace_signing_keys_child",
        DIR,
        &store_dir,
        &store_dir.join("keys.db-wal"),
    ) {
        return;
    }
    let stored = SqliteKeyStore::open(&db)
        .unwrap()
        .load_signing_keys()
        .unwrap()
        .unwrap();
    assert_eq!((stored.version, stored.sealed.as_slice()), (2, &b"rotated"[..]));
}

/// The child: one acknowledged signing-key replace between the markers.
#[test]
fn replace_signing_keys_child() {
    use ak_core::SigningKeyStore;
    let Some(dir) = std::env::var_os(DIR) else {
        return;
    };
    let store = SqliteKeyStore::open(std::path::Path::new(&dir).join("keys.db")).unwrap();
    eprintln!("{BEFORE}");
    store.replace_signing_keys(Some(1), b"rotated").unwrap();
    eprintln!("{AFTER}");
}
