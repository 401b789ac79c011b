//! Every acknowledged revocation or key-set change has `fsync`ed SQLite's write-ahead log before
//! it returns: the store runs with `synchronous=FULL`, so every commit `fsync`s the WAL (issue
//! 12, finding 2).

use ak_sqlite::SqliteKeyStore;

ak_testkit::sync_trace_conformance! {
    var: "AK_SQLITE_SYNC_TRACE_DIR",
    open: |dir: &std::path::Path| SqliteKeyStore::open(dir.join("keys.db")).expect("open SQLite"),
    synced_file: |dir: &std::path::Path| dir.join("keys.db-wal"),
}
