//! Every acknowledged revocation or key-set change has `fsync`ed sled's data file before it
//! returns (issue 12, finding 2: sled's own flush is only `sync_file_range`, which a power loss
//! can undo).

use ak_sled::SledKeyStore;

ak_testkit::sync_trace_conformance! {
    var: "AK_SLED_SYNC_TRACE_DIR",
    open: |dir: &std::path::Path| SledKeyStore::open(dir).expect("open sled"),
    synced_file: |dir: &std::path::Path| dir.join("db"),
}
