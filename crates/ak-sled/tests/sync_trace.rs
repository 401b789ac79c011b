//! An acknowledged deactivate has `fsync`ed sled's data file before it returns (issue 12, finding
//! 2: sled's own flush is only `sync_file_range`, which a power loss can undo).

use ak_core::{KeyStatus, KeyStore};
use ak_sled::SledKeyStore;
use ak_testkit::fixtures::record;
use ak_testkit::sync_trace::{self, AFTER, BEFORE};

/// Tells `deactivate_child` where the store is (and to run at all).
const DIR: &str = "AK_SLED_SYNC_TRACE_DIR";

#[test]
fn an_acknowledged_deactivate_fsyncs_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    {
        let store = SledKeyStore::open(&store_dir).unwrap();
        store.insert(&record("k", "kay", 1)).unwrap();
    }
    if !sync_trace::assert_synced_before_return("deactivate_child", DIR, &store_dir, &store_dir.join("db")) {
        return;
    }
    let store = SledKeyStore::open(&store_dir).unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().key.status, KeyStatus::Inactive);
}

/// The child: one acknowledged deactivate between the markers.
#[test]
fn deactivate_child() {
    let Some(dir) = std::env::var_os(DIR) else {
        return;
    };
    let store = SledKeyStore::open(dir).unwrap();
    eprintln!("{BEFORE}");
    store.set_status(&["k".into()], KeyStatus::Inactive).unwrap();
    eprintln!("{AFTER}");
}

#[test]
fn an_acknowledged_signing_key_replace_fsyncs_the_data_file() {
    use ak_core::SigningKeyStore;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    SledKeyStore::open(&store_dir)
        .unwrap()
        .replace_signing_keys(None, b"old")
        .unwrap();
    if !sync_trace::assert_synced_before_return(
        "replace_signing_keys_child",
        DIR,
        &store_dir,
        &store_dir.join("db"),
    ) {
        return;
    }
    let stored = SledKeyStore::open(&store_dir)
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
    let store = SledKeyStore::open(dir).unwrap();
    eprintln!("{BEFORE}");
    store.replace_signing_keys(Some(1), b"rotated").unwrap();
    eprintln!("{AFTER}");
}

#[test]
fn an_acknowledged_management_key_delete_fsyncs_the_data_file() {
    use ak_core::management::ManagementKeyStore;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    SledKeyStore::open(&store_dir)
        .unwrap()
        .insert_management_key(&ak_testkit::management::management_record("m", "m", 1, false))
        .unwrap();
    if !sync_trace::assert_synced_before_return(
        "delete_management_key_child",
        DIR,
        &store_dir,
        &store_dir.join("db"),
    ) {
        return;
    }
    let store = SledKeyStore::open(&store_dir).unwrap();
    assert!(store.get_management_key("m").unwrap().is_none());
}

/// The child: one acknowledged management-key delete between the markers.
#[test]
fn delete_management_key_child() {
    use ak_core::management::ManagementKeyStore;
    let Some(dir) = std::env::var_os(DIR) else {
        return;
    };
    let store = SledKeyStore::open(dir).unwrap();
    eprintln!("{BEFORE}");
    assert!(store.delete_management_key("m").unwrap());
    eprintln!("{AFTER}");
}
