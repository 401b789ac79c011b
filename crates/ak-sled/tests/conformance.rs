//! The shared conformance suite (including the model-based property test with re-opens) against
//! an on-disk store.
//!
//! Each `open()` of the factory opens the same directory again; the suite drops every handle
//! before re-opening, which releases sled's directory lock. A `temporary()` store cannot run the
//! suite: sled deletes it when the last handle drops, so a re-open would find it empty.

use std::sync::Arc;

use ak_core::KeyStore;
use ak_sled::SledKeyStore;

fn factory() -> impl Fn() -> Arc<dyn KeyStore> {
    let dir = tempfile::tempdir().expect("temporary directory");
    move || {
        let store = SledKeyStore::open(dir.path().join("store")).expect("open the sled store");
        store.check_consistency().expect("indexes match records");
        Arc::new(store) as Arc<dyn KeyStore>
    }
}

ak_testkit::keystore_conformance!(factory());

mod management {
    use std::sync::Arc;

    use ak_sled::SledKeyStore;
    use ak_testkit::management::{ManagementStoreFactory, Stores};

    fn factory() -> impl ManagementStoreFactory {
        let dir = tempfile::tempdir().expect("temporary directory");
        move || {
            Stores::of(Arc::new(
                SledKeyStore::open(dir.path().join("store")).expect("open"),
            ))
        }
    }

    ak_testkit::management_key_conformance!(factory());
}
