//! The shared conformance suite (including the model-based property test with re-opens) against
//! an on-disk store.
//!
//! Each `open()` of the factory opens the same directory again; the suite drops every handle
//! before re-opening, which releases sled's directory lock. A `temporary()` store cannot run the
//! suite: sled deletes it when the last handle drops, so a re-open would find it empty.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ak_core::{BackendErrorKind, KeyStore};
use ak_sled::SledKeyStore;

/// Opens the store in `dir`, waiting (up to 10 s) while sled still holds the directory lock of a
/// dropped handle: sled releases it when its background threads finish, a moment after the last
/// handle drops, and on a loaded machine that moment can outlast the re-open.
fn reopen(dir: &Path) -> SledKeyStore {
    let start = Instant::now();
    loop {
        match SledKeyStore::open(dir) {
            Err(err)
                if err.backend_kind() == Some(BackendErrorKind::InUse)
                    && start.elapsed() < Duration::from_secs(10) =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            opened => return opened.expect("open the sled store"),
        }
    }
}

fn factory() -> impl Fn() -> Arc<dyn KeyStore> {
    let dir = tempfile::tempdir().expect("temporary directory");
    move || {
        let store = reopen(&dir.path().join("store"));
        store.check_consistency().expect("indexes match records");
        Arc::new(store) as Arc<dyn KeyStore>
    }
}

ak_testkit::keystore_conformance!(factory());

mod management {
    use std::sync::Arc;

    use ak_testkit::management::{ManagementStoreFactory, Stores};

    fn factory() -> impl ManagementStoreFactory {
        let dir = tempfile::tempdir().expect("temporary directory");
        move || Stores::of(Arc::new(super::reopen(&dir.path().join("store"))))
    }

    ak_testkit::management_key_conformance!(factory());
}

mod signing {
    use std::sync::Arc;

    use ak_testkit::signing::{SigningStoreFactory, SigningStores};

    fn factory() -> impl SigningStoreFactory {
        let dir = tempfile::tempdir().expect("temporary directory");
        move || SigningStores::of(Arc::new(super::reopen(&dir.path().join("store"))))
    }

    ak_testkit::signing_key_conformance!(factory());
}

mod audit {
    use std::sync::Arc;

    use ak_testkit::audit::{AuditStoreFactory, AuditStores};

    fn factory() -> impl AuditStoreFactory {
        let dir = tempfile::tempdir().expect("temporary directory");
        move || AuditStores::of(Arc::new(crate::reopen(&dir.path().join("store"))))
    }

    ak_testkit::audit_event_conformance!(factory());
}

mod usage {
    use std::sync::Arc;

    use ak_testkit::usage::{UsageStoreFactory, UsageStores};

    fn factory() -> impl UsageStoreFactory {
        let dir = tempfile::tempdir().expect("temporary directory");
        move || UsageStores::of(Arc::new(crate::reopen(&dir.path().join("store"))))
    }

    ak_testkit::key_usage_conformance!(factory());
}

mod webhooks {
    use std::sync::Arc;

    use ak_testkit::webhook::{WebhookStoreFactory, WebhookStores};

    fn factory() -> impl WebhookStoreFactory {
        let dir = tempfile::tempdir().expect("temporary directory");
        move || WebhookStores::of(Arc::new(super::reopen(&dir.path().join("store"))))
    }

    ak_testkit::webhook_conformance!(factory());
}
