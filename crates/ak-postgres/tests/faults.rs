//! Faults on the shared test server: connections killed in the middle of writes
//! (`pg_terminate_backend`), a full pool, and a deadlock the server breaks by aborting the
//! store's transaction.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ak_core::{BackendErrorKind, KeyRecord, KeyStatus, KeyStore, SearchQuery};
use ak_postgres::{PgConfig, PgStore};
use ak_testkit::fixtures::record;

/// The test URL with `application_name` set, so the test finds the store's sessions.
fn url_named(application: &str) -> String {
    let url = common::url();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={application}")
}

fn same_but_status(a: &KeyRecord, b: &KeyRecord) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.key.status = KeyStatus::Active;
    b.key.status = KeyStatus::Active;
    a.version = 0;
    b.version = 0;
    a == b
}

#[test]
fn connections_killed_mid_write_lose_no_acknowledged_write_and_the_store_recovers() {
    let Some(mut killer) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let application = common::unique("akt_kill");
    let store = PgStore::open(
        &PgConfig::from_url(&url_named(&application))
            .unwrap()
            .schema(&schema.name),
    )
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killing = {
        let (stop, kills) = (Arc::clone(&stop), Arc::clone(&kills));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let killed: i64 = killer
                    .query_one(
                        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                          WHERE application_name = $1 AND pid <> pg_backend_pid()) AS killed",
                        &[&application],
                    )
                    .unwrap()
                    .get(0);
                kills.fetch_add(usize::try_from(killed).unwrap(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(7));
            }
        })
    };

    let acked_inserts = Arc::new(Mutex::new(Vec::<KeyRecord>::new()));
    let acked_batches = Arc::new(Mutex::new(Vec::<[String; 2]>::new()));
    let all_batches = Arc::new(Mutex::new(Vec::<[String; 2]>::new()));
    let failures = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let store = store.clone();
            let (acked_inserts, acked_batches, all_batches, failures) = (
                Arc::clone(&acked_inserts),
                Arc::clone(&acked_batches),
                Arc::clone(&all_batches),
                Arc::clone(&failures),
            );
            std::thread::spawn(move || {
                for i in 0..120 {
                    let mut key = record(&format!("w{writer}-{i:03}"), &format!("n{i}"), i);
                    key.key.key_tenants = vec![ak_core::KeyTenant::new(format!("t{writer}"), ["r"])];
                    match store.insert(&key) {
                        Ok(()) => acked_inserts.lock().unwrap().push(key),
                        Err(err) => {
                            assert_eq!(err.backend_kind(), Some(BackendErrorKind::Unavailable), "{err}");
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if i % 5 == 4 {
                        let batch = [
                            format!("w{writer}-{:03}", i - 1),
                            format!("w{writer}-{:03}", i - 2),
                        ];
                        all_batches.lock().unwrap().push(batch.clone());
                        match store.set_status(&batch, KeyStatus::Inactive) {
                            Ok(()) => acked_batches.lock().unwrap().push(batch),
                            Err(err) => {
                                let expected = matches!(err, ak_core::StoreError::NotFound { .. })
                                    || err.backend_kind() == Some(BackendErrorKind::Unavailable);
                                assert!(expected, "{err}");
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    killing.join().unwrap();
    assert!(
        kills.load(Ordering::Relaxed) > 0,
        "no session was killed: the test tested nothing"
    );
    println!(
        "{} sessions killed, {} writes failed, {} inserts acknowledged",
        kills.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed),
        acked_inserts.lock().unwrap().len()
    );

    // The same store, not reopened: every acknowledged write is there, whole.
    for acked in acked_inserts.lock().unwrap().iter() {
        let stored = store
            .get(acked.id())
            .unwrap()
            .unwrap_or_else(|| panic!("{} lost", acked.id()));
        assert!(same_but_status(&stored, acked), "{} differs", acked.id());
    }
    for batch in acked_batches.lock().unwrap().iter() {
        for id in batch {
            assert_eq!(
                store.get(id).unwrap().unwrap().key.status,
                KeyStatus::Inactive,
                "{id}"
            );
        }
    }
    // No batch is half-applied, acknowledged or not.
    for batch in all_batches.lock().unwrap().iter() {
        let statuses: Vec<_> = batch
            .iter()
            .map(|id| store.get(id).unwrap().map(|record| record.key.status))
            .collect();
        if statuses.iter().all(Option::is_some) {
            assert_eq!(statuses[0], statuses[1], "batch {batch:?} half-applied");
        }
    }
    // The indexed columns agree with the records.
    for writer in 0..3 {
        let query = SearchQuery {
            tenant_ids: vec![format!("t{writer}")],
            status: Some(KeyStatus::Inactive),
            limit: 1000,
            ..SearchQuery::default()
        };
        let found: HashSet<String> = store
            .search(&query)
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.key.id)
            .collect();
        for id in &found {
            assert_eq!(store.get(id).unwrap().unwrap().key.status, KeyStatus::Inactive);
        }
    }
    store.insert(&record("after", "after", 1)).unwrap();
    assert!(store.get("after").unwrap().is_some());
}

#[test]
fn a_full_pool_is_a_typed_error_after_the_checkout_timeout() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let store = PgStore::open(
        &schema
            .config()
            .pool_size(1)
            .checkout_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    store.insert(&record("k", "k", 1)).unwrap();
    // Hold the row so that a batch on it waits, holding the pool's only connection.
    let mut tx = admin.transaction().unwrap();
    tx.execute(
        &format!("SELECT 1 FROM \"{}\".keys WHERE id = 'k' FOR UPDATE", schema.name),
        &[],
    )
    .unwrap();
    let waiting = {
        let store = store.clone();
        std::thread::spawn(move || store.set_status(&["k".to_owned()], KeyStatus::Inactive))
    };
    std::thread::sleep(Duration::from_millis(300));
    let err = store.get("k").unwrap_err();
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::PoolExhausted), "{err}");
    assert!(err.to_string().contains(store.label()), "{err}");
    tx.commit().unwrap();
    waiting.join().unwrap().unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().key.status, KeyStatus::Inactive);
}

#[test]
fn a_deadlock_the_server_breaks_is_retried() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let application = common::unique("akt_deadlock");
    let store = PgStore::open(
        &PgConfig::from_url(&url_named(&application))
            .unwrap()
            .schema(&schema.name),
    )
    .unwrap();
    store.insert(&record("a", "a", 1)).unwrap();
    store.insert(&record("b", "b", 2)).unwrap();
    let keys = format!("\"{}\".keys", schema.name);
    // This session waits long before looking for deadlocks, so the store's session (default
    // 1 s) finds it and is the one aborted.
    admin.batch_execute("SET deadlock_timeout = '20s'").unwrap();
    let mut tx = admin.transaction().unwrap();
    tx.execute(&format!("SELECT 1 FROM {keys} WHERE id = 'b' FOR UPDATE"), &[])
        .unwrap();
    let batch = {
        let store = store.clone();
        // Locks a, then waits for b.
        std::thread::spawn(move || store.set_status(&["a".to_owned(), "b".to_owned()], KeyStatus::Inactive))
    };
    let mut watcher = common::admin().unwrap();
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                &[&application],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Now wait for a: a deadlock, which the store's session detects and is aborted for.
    tx.execute(&format!("SELECT 1 FROM {keys} WHERE id = 'a' FOR UPDATE"), &[])
        .unwrap();
    tx.commit().unwrap();
    batch
        .join()
        .unwrap()
        .expect("the batch is retried after the deadlock");
    for id in ["a", "b"] {
        assert_eq!(store.get(id).unwrap().unwrap().key.status, KeyStatus::Inactive);
    }
}
