//! The shared conformance suite against an on-disk store, an in-memory store, and a store over a
//! caller's connection.

use std::sync::Arc;

use ak_core::KeyStore;
use ak_sqlite::SqliteKeyStore;
use ak_testkit::StoreFactory;

/// A fresh directory; every `open()` re-opens the same file in it.
fn disk_factory() -> impl StoreFactory {
    let dir = tempfile::tempdir().expect("temp dir");
    move || -> Arc<dyn KeyStore> {
        Arc::new(SqliteKeyStore::open(dir.path().join("keys.db")).expect("open the store"))
    }
}

/// One in-memory store; "re-opening" returns it again.
fn memory_factory() -> impl StoreFactory {
    let store: Arc<dyn KeyStore> = Arc::new(SqliteKeyStore::open_in_memory().expect("open the store"));
    move || Arc::clone(&store)
}

/// A fresh directory; every `open()` hands a new caller-opened connection to the store.
fn connection_factory() -> impl StoreFactory {
    let dir = tempfile::tempdir().expect("temp dir");
    move || -> Arc<dyn KeyStore> {
        let conn = rusqlite::Connection::open(dir.path().join("keys.db")).expect("open the file");
        Arc::new(SqliteKeyStore::from_connection(conn).expect("open the store"))
    }
}

mod on_disk {
    ak_testkit::keystore_conformance!(crate::disk_factory());
}

mod in_memory {
    ak_testkit::keystore_conformance!(crate::memory_factory());
}

mod caller_connection {
    ak_testkit::keystore_conformance!(crate::connection_factory());
}

mod management {
    use std::sync::Arc;

    use ak_sqlite::SqliteKeyStore;
    use ak_testkit::management::{ManagementStoreFactory, Stores};

    fn disk() -> impl ManagementStoreFactory {
        let dir = tempfile::tempdir().expect("temp dir");
        move || {
            Stores::of(Arc::new(
                SqliteKeyStore::open(dir.path().join("keys.db")).expect("open"),
            ))
        }
    }

    fn memory() -> impl ManagementStoreFactory {
        let stores = Stores::of(Arc::new(SqliteKeyStore::open_in_memory().expect("open")));
        move || stores.clone()
    }

    fn connection() -> impl ManagementStoreFactory {
        let dir = tempfile::tempdir().expect("temp dir");
        move || {
            let conn = rusqlite::Connection::open(dir.path().join("keys.db")).expect("open the file");
            Stores::of(Arc::new(SqliteKeyStore::from_connection(conn).expect("open")))
        }
    }

    mod on_disk {
        ak_testkit::management_key_conformance!(super::disk());
    }

    mod in_memory {
        ak_testkit::management_key_conformance!(super::memory());
    }

    mod caller_connection {
        ak_testkit::management_key_conformance!(super::connection());
    }
}

mod signing {
    use std::sync::Arc;

    use ak_sqlite::SqliteKeyStore;
    use ak_testkit::signing::{SigningStoreFactory, SigningStores};

    fn disk() -> impl SigningStoreFactory {
        let dir = tempfile::tempdir().expect("temp dir");
        move || {
            SigningStores::of(Arc::new(
                SqliteKeyStore::open(dir.path().join("keys.db")).expect("open"),
            ))
        }
    }

    fn memory() -> impl SigningStoreFactory {
        let stores = SigningStores::of(Arc::new(SqliteKeyStore::open_in_memory().expect("open")));
        move || stores.clone()
    }

    fn connection() -> impl SigningStoreFactory {
        let dir = tempfile::tempdir().expect("temp dir");
        move || {
            let conn = rusqlite::Connection::open(dir.path().join("keys.db")).expect("open the file");
            SigningStores::of(Arc::new(SqliteKeyStore::from_connection(conn).expect("open")))
        }
    }

    mod on_disk {
        ak_testkit::signing_key_conformance!(super::disk());
    }

    mod in_memory {
        ak_testkit::signing_key_conformance!(super::memory());
    }

    mod caller_connection {
        ak_testkit::signing_key_conformance!(super::connection());
    }
}

mod audit {
    use std::sync::Arc;

    use ak_sqlite::SqliteKeyStore;
    use ak_testkit::audit::{AuditStoreFactory, AuditStores};

    fn disk() -> impl AuditStoreFactory {
        let dir = tempfile::tempdir().expect("temp dir");
        move || {
            AuditStores::of(Arc::new(
                SqliteKeyStore::open(dir.path().join("keys.db")).expect("open"),
            ))
        }
    }

    fn memory() -> impl AuditStoreFactory {
        let stores = AuditStores::of(Arc::new(SqliteKeyStore::open_in_memory().expect("open")));
        move || stores.clone()
    }

    mod on_disk {
        ak_testkit::audit_event_conformance!(super::disk());
    }

    mod in_memory {
        ak_testkit::audit_event_conformance!(super::memory());
    }
}

mod usage {
    use std::sync::Arc;

    use ak_sqlite::SqliteKeyStore;
    use ak_testkit::usage::{UsageStoreFactory, UsageStores};

    fn disk() -> impl UsageStoreFactory {
        let dir = tempfile::tempdir().expect("temp dir");
        move || {
            UsageStores::of(Arc::new(
                SqliteKeyStore::open(dir.path().join("keys.db")).expect("open"),
            ))
        }
    }

    fn memory() -> impl UsageStoreFactory {
        let stores = UsageStores::of(Arc::new(SqliteKeyStore::open_in_memory().expect("open")));
        move || stores.clone()
    }

    mod on_disk {
        ak_testkit::key_usage_conformance!(super::disk());
    }

    mod in_memory {
        ak_testkit::key_usage_conformance!(super::memory());
    }
}

mod webhooks {
    use std::sync::Arc;

    use ak_sqlite::SqliteKeyStore;
    use ak_testkit::webhook::{WebhookStoreFactory, WebhookStores};

    fn disk() -> impl WebhookStoreFactory {
        let dir = tempfile::tempdir().expect("temp dir");
        move || {
            WebhookStores::of(Arc::new(
                SqliteKeyStore::open(dir.path().join("keys.db")).expect("open"),
            ))
        }
    }

    fn memory() -> impl WebhookStoreFactory {
        let stores = WebhookStores::of(Arc::new(SqliteKeyStore::open_in_memory().expect("open")));
        move || stores.clone()
    }

    mod on_disk {
        ak_testkit::webhook_conformance!(super::disk());
    }

    mod in_memory {
        ak_testkit::webhook_conformance!(super::memory());
    }
}
