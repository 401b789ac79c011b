//! A version 1 database (before management keys) is migrated on open and keeps its access keys.

use std::sync::Arc;

use ak_core::management::ManagementKeys;
use ak_core::{CreateKey, KeyManager};
use ak_sqlite::{SCHEMA_VERSION, SqliteKeyStore};

/// Undoes migration 5 (last use and the audit trail).
const UNDO_5: &str = "DROP INDEX keys_by_last_used; DROP INDEX keys_by_expire_time;
    ALTER TABLE keys DROP COLUMN last_used_time; ALTER TABLE keys DROP COLUMN last_used_ip;
    DROP TABLE audit_events; DROP TABLE audit_event_keys;";

#[test]
fn a_version_1_database_gains_the_management_keys_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let created = {
        let store = Arc::new(SqliteKeyStore::open(&path).unwrap());
        KeyManager::builder(store)
            .build()
            .unwrap()
            .create(CreateKey::named("old"))
            .unwrap()
    };
    // Turn the file back into what a version 1 ak wrote.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(UNDO_5).unwrap();
        conn.execute_batch("DROP TABLE management_keys; DROP TABLE signing_keys; DROP TABLE webhooks; PRAGMA user_version = 1;")
            .unwrap();
    }
    let store = Arc::new(SqliteKeyStore::open(&path).unwrap());
    let manager = KeyManager::builder(Arc::clone(&store) as _).build().unwrap();
    assert_eq!(manager.load(&created.key.id).unwrap(), created.key);
    let management = ManagementKeys::new(store).unwrap();
    let key = management.create("admin", false, "").unwrap();
    assert_eq!(
        management.authenticate(key.cleartext.expose_secret()).unwrap().id,
        key.key.id
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 5);
}

#[test]
fn a_version_2_database_gains_the_signing_keys_table() {
    use ak_core::SigningKeyStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let created = {
        let store = Arc::new(SqliteKeyStore::open(&path).unwrap());
        KeyManager::builder(store)
            .build()
            .unwrap()
            .create(CreateKey::named("old"))
            .unwrap()
    };
    // Turn the file back into what a version 2 ak wrote.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(UNDO_5).unwrap();
        conn.execute_batch("DROP TABLE signing_keys; DROP TABLE webhooks; PRAGMA user_version = 2;")
            .unwrap();
    }
    let store = Arc::new(SqliteKeyStore::open(&path).unwrap());
    let manager = KeyManager::builder(Arc::clone(&store) as _).build().unwrap();
    assert_eq!(manager.load(&created.key.id).unwrap(), created.key);
    assert!(store.load_signing_keys().unwrap().is_none());
    assert_eq!(store.replace_signing_keys(None, b"sealed").unwrap(), 1);
    drop((manager, store));
    let store = SqliteKeyStore::open(&path).unwrap();
    assert_eq!(store.load_signing_keys().unwrap().unwrap().sealed, b"sealed");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_version_3_database_gains_the_webhooks_table() {
    use ak_core::SigningKeyStore;
    use ak_core::webhook::WebhookStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    {
        let store = SqliteKeyStore::open(&path).unwrap();
        store.replace_signing_keys(None, b"sealed").unwrap();
    }
    // Turn the file back into what a version 3 ak wrote.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(UNDO_5).unwrap();
        conn.execute_batch("DROP TABLE webhooks; PRAGMA user_version = 3;")
            .unwrap();
    }
    let store = SqliteKeyStore::open(&path).unwrap();
    assert_eq!(store.load_signing_keys().unwrap().unwrap().sealed, b"sealed");
    assert!(store.list_webhooks().unwrap().is_empty());
    let record = ak_testkit::webhook::webhook_record("wh1");
    store.insert_webhook(&record).unwrap();
    drop(store);
    let store = SqliteKeyStore::open(&path).unwrap();
    assert_eq!(store.get_webhook("wh1").unwrap(), Some(record));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_version_4_database_gains_last_use_and_the_audit_trail() {
    use ak_core::audit::{AuditEvent, AuditEventStore, AuditQuery};
    use ak_core::usage::{KeyUsage, KeyUsageStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let created = {
        let store = Arc::new(SqliteKeyStore::open(&path).unwrap());
        KeyManager::builder(store)
            .build()
            .unwrap()
            .create(CreateKey::named("old"))
            .unwrap()
    };
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(UNDO_5).unwrap();
        conn.execute_batch("PRAGMA user_version = 4;").unwrap();
    }
    let store = Arc::new(SqliteKeyStore::open(&path).unwrap());
    let manager = KeyManager::builder(Arc::clone(&store) as _).build().unwrap();
    assert_eq!(manager.load(&created.key.id).unwrap(), created.key);
    assert_eq!(created.key.last_used_time, None);
    store
        .record_key_usage(&[KeyUsage {
            key_id: created.key.id.clone(),
            time: 1_800_000_000,
            ip: Some("10.0.0.1".into()),
        }])
        .unwrap();
    assert_eq!(
        manager.load(&created.key.id).unwrap().last_used_time,
        Some(1_800_000_000)
    );
    store
        .append_audit_events(&[AuditEvent::new("app.x", "me", 1).with_keys([created.key.id.clone()])])
        .unwrap();
    let query = AuditQuery {
        key_ids: vec![created.key.id],
        ..AuditQuery::default()
    };
    assert_eq!(store.search_audit_events(&query).unwrap().items.len(), 1);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}
