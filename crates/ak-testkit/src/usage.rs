//! The conformance suite for [`KeyUsageStore`] (last-used times, read back through [`KeyStore`])
//! and the [`UsageTracker`] over it: one function per clause.
//!
//! A backend joins with `ak_testkit::key_usage_conformance!(factory)`, where the factory returns
//! the store's views ([`UsageStores`]) of one storage and, called again after every handle was
//! dropped, re-opens the same storage.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ak_core::usage::{KeyUsage, KeyUsageStore, UsageTracker};
use ak_core::{KeyRecord, KeyStore, MemoryKeyStore, SearchQuery, StoreError};

use crate::fixtures::record;

/// The views of one storage the usage cases use: access keys and their usage.
#[derive(Debug, Clone)]
pub struct UsageStores {
    /// The access-key view.
    pub keys: Arc<dyn KeyStore>,
    /// The usage view.
    pub usage: Arc<dyn KeyUsageStore>,
}

impl UsageStores {
    /// Both views of `store`.
    pub fn of<S: KeyStore + KeyUsageStore + 'static>(store: Arc<S>) -> Self {
        Self {
            keys: Arc::clone(&store) as Arc<dyn KeyStore>,
            usage: store,
        }
    }
}

/// Opens (or re-opens) one storage, as [`StoreFactory`](crate::StoreFactory) does for access keys.
pub trait UsageStoreFactory {
    /// Opens (or re-opens) the store.
    fn open(&self) -> UsageStores;
}

impl<F: Fn() -> UsageStores> UsageStoreFactory for F {
    fn open(&self) -> UsageStores {
        self()
    }
}

/// A factory over one in-memory store ("re-opening" returns the same store).
pub fn memory_factory() -> impl UsageStoreFactory {
    let stores = UsageStores::of(Arc::new(MemoryKeyStore::new()));
    move || stores.clone()
}

fn usage(id: &str, time: i64, ip: Option<&str>) -> KeyUsage {
    KeyUsage {
        key_id: id.to_owned(),
        time,
        ip: ip.map(str::to_owned),
    }
}

fn used(keys: &dyn KeyStore, id: &str) -> (Option<i64>, Option<String>) {
    let key = keys.get(id).unwrap().unwrap().key;
    (key.last_used_time, key.last_used_ip)
}

/// Every result of `query`, through pages of 2.
fn search_ids(keys: &dyn KeyStore, query: &SearchQuery) -> Vec<String> {
    let mut query = SearchQuery {
        limit: 2,
        ..query.clone()
    };
    let mut ids = Vec::new();
    loop {
        let page = keys.search(&query).unwrap();
        ids.extend(page.items.iter().map(|record| record.key.id.clone()));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return ids,
        }
    }
}

/// What `query` must return from `records`, in its order.
fn expected_ids(records: &[KeyRecord], query: &SearchQuery) -> Vec<String> {
    let mut matching: Vec<&KeyRecord> = records
        .iter()
        .filter(|record| query.matches(&record.key))
        .collect();
    matching.sort_by(|a, b| query.compare(&a.key, &b.key));
    matching.into_iter().map(|record| record.key.id.clone()).collect()
}

/// A key never used shows no last use, in get, search and JSON.
pub fn never_used_shows_none(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    assert_eq!(used(stores.keys.as_ref(), "K1"), (None, None));
    let page = stores.keys.search(&SearchQuery::default()).unwrap();
    let json = serde_json::to_value(&page.items[0].key).unwrap();
    assert!(
        json.get("lastUsedTime").is_none() && json.get("lastUsedIp").is_none(),
        "{json}"
    );
}

/// Recorded usage shows in get, search and JSON, and never changes the record's version.
pub fn recorded_usage_shows_without_a_version_change(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    stores.keys.insert(&record("K2", "k", 2)).unwrap();
    stores
        .usage
        .record_key_usage(&[
            usage("K1", 1_700_000_100, Some("10.0.0.7")),
            usage("K2", 1_700_000_200, None),
        ])
        .unwrap();
    assert_eq!(
        used(stores.keys.as_ref(), "K1"),
        (Some(1_700_000_100), Some("10.0.0.7".into()))
    );
    assert_eq!(used(stores.keys.as_ref(), "K2"), (Some(1_700_000_200), None));
    assert_eq!(stores.keys.get("K1").unwrap().unwrap().version, 1);
    let page = stores.keys.search(&SearchQuery::default()).unwrap();
    let json = serde_json::to_value(&page.items[0].key).unwrap();
    assert_eq!(json["lastUsedTime"], 1_700_000_100);
    assert_eq!(json["lastUsedIp"], "10.0.0.7");
    assert_eq!(page.items[1].key.last_used_time, Some(1_700_000_200));
}

/// An older use changes nothing; a use at the same time or later replaces time and ip.
pub fn usage_never_moves_back(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    stores
        .usage
        .record_key_usage(&[usage("K1", 500, Some("10.0.0.1"))])
        .unwrap();
    stores
        .usage
        .record_key_usage(&[usage("K1", 499, Some("10.0.0.2"))])
        .unwrap();
    assert_eq!(
        used(stores.keys.as_ref(), "K1"),
        (Some(500), Some("10.0.0.1".into()))
    );
    stores.usage.record_key_usage(&[usage("K1", 500, None)]).unwrap();
    assert_eq!(used(stores.keys.as_ref(), "K1"), (Some(500), None));
    stores
        .usage
        .record_key_usage(&[usage("K1", 501, Some("::1"))])
        .unwrap();
    assert_eq!(used(stores.keys.as_ref(), "K1"), (Some(501), Some("::1".into())));
}

/// Usage of an unknown key is passed over; the known keys of the same batch are recorded.
pub fn unknown_keys_are_passed_over(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    stores
        .usage
        .record_key_usage(&[usage("gone", 10, None), usage("K1", 10, None)])
        .unwrap();
    assert!(stores.keys.get("gone").unwrap().is_none());
    assert_eq!(used(stores.keys.as_ref(), "K1"), (Some(10), None));
    assert_eq!(search_ids(stores.keys.as_ref(), &SearchQuery::default()), ["K1"]);
}

/// Insert and update never write usage; an update keeps what was recorded, and an update whose
/// version was read before a use still succeeds.
pub fn insert_and_update_never_write_usage(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    let mut given = record("K1", "k", 1);
    given.key.last_used_time = Some(99);
    given.key.last_used_ip = Some("10.9.9.9".into());
    stores.keys.insert(&given).unwrap();
    assert_eq!(used(stores.keys.as_ref(), "K1"), (None, None));

    let read_before_use = stores.keys.get("K1").unwrap().unwrap();
    stores
        .usage
        .record_key_usage(&[usage("K1", 1000, Some("10.0.0.1"))])
        .unwrap();
    let mut update = read_before_use;
    update.key.name = "renamed".into();
    assert_eq!(stores.keys.update(&update).unwrap(), 2);
    let stored = stores.keys.get("K1").unwrap().unwrap();
    assert_eq!(stored.key.name, "renamed");
    assert_eq!(
        (stored.key.last_used_time, stored.key.last_used_ip.clone()),
        (Some(1000), Some("10.0.0.1".into()))
    );

    let mut forged = stored;
    forged.key.last_used_time = Some(5);
    forged.key.last_used_ip = None;
    stores.keys.update(&forged).unwrap();
    assert_eq!(
        used(stores.keys.as_ref(), "K1"),
        (Some(1000), Some("10.0.0.1".into()))
    );
    stores
        .keys
        .set_status(&["K1".to_owned()], ak_core::KeyStatus::Inactive)
        .unwrap();
    assert_eq!(
        used(stores.keys.as_ref(), "K1"),
        (Some(1000), Some("10.0.0.1".into()))
    );
}

/// Deleting a key deletes its usage: a new key with the same id was never used.
pub fn delete_removes_usage(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    stores
        .usage
        .record_key_usage(&[usage("K1", 1000, Some("10.0.0.1"))])
        .unwrap();
    stores.keys.delete(&["K1".to_owned()]).unwrap();
    stores.keys.insert(&record("K1", "again", 2)).unwrap();
    assert_eq!(used(stores.keys.as_ref(), "K1"), (None, None));
    let query = SearchQuery {
        not_used_since: Some(1),
        ..SearchQuery::default()
    };
    assert_eq!(search_ids(stores.keys.as_ref(), &query), ["K1"]);
}

/// Ten keys: some never used, some used at various times, some expiring at various times.
fn usage_corpus(stores: &UsageStores) -> Vec<KeyRecord> {
    let mut records = Vec::new();
    for n in 0..10i64 {
        let mut key = record(&format!("K{n}"), &format!("key {n}"), 100 + n);
        key.key.expire_time = (n % 3 != 0).then_some(2_000_000_000 + n * 1000);
        stores.keys.insert(&key).unwrap();
        records.push(key);
    }
    let uses: Vec<KeyUsage> = (0..10i64)
        .filter(|n| n % 4 != 0)
        .map(|n| usage(&format!("K{n}"), 1_000_000 + n * 100, Some("10.0.0.1")))
        .collect();
    stores.usage.record_key_usage(&uses).unwrap();
    records
        .into_iter()
        .map(|r| stores.keys.get(r.id()).unwrap().unwrap())
        .collect()
}

/// `not_used_since`: keys never used or last used before the time, combined with other filters
/// and both sort orders.
pub fn not_used_since_filter(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    let records = usage_corpus(&stores);
    let cases = [
        (1_000_500, vec!["K0", "K1", "K2", "K3", "K4", "K8"]),
        (0, vec!["K0", "K4", "K8"]),
        (1_000_101, vec!["K0", "K1", "K4", "K8"]),
        (
            i64::MAX,
            vec!["K0", "K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9"],
        ),
    ];
    for (since, want) in cases {
        let query = SearchQuery {
            not_used_since: Some(since),
            ..SearchQuery::default()
        };
        assert_eq!(search_ids(stores.keys.as_ref(), &query), want, "{since}");
        assert_eq!(expected_ids(&records, &query), want, "{since}");
        let descending = SearchQuery {
            descending: true,
            sort: ak_core::SortField::Name,
            ..query
        };
        assert_eq!(
            search_ids(stores.keys.as_ref(), &descending),
            expected_ids(&records, &descending)
        );
    }
    let both = SearchQuery {
        not_used_since: Some(1_000_500),
        expires_before: Some(2_000_004_000),
        ..SearchQuery::default()
    };
    assert_eq!(search_ids(stores.keys.as_ref(), &both), ["K1", "K2"]);
}

/// `expires_before`: keys with an expiry before the time; keys that never expire never match.
pub fn expires_before_filter(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    let records = usage_corpus(&stores);
    let cases = [
        (2_000_004_000, vec!["K1", "K2"]),
        (2_000_004_001, vec!["K1", "K2", "K4"]),
        (0, vec![]),
        (i64::MAX, vec!["K1", "K2", "K4", "K5", "K7", "K8"]),
    ];
    for (before, want) in cases {
        let query = SearchQuery {
            expires_before: Some(before),
            ..SearchQuery::default()
        };
        assert_eq!(search_ids(stores.keys.as_ref(), &query), want, "{before}");
        assert_eq!(expected_ids(&records, &query), want, "{before}");
    }
}

/// Recorded usage survives a re-open.
pub fn reopen_keeps_usage(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    stores
        .usage
        .record_key_usage(&[usage("K1", 77, Some("10.0.0.1"))])
        .unwrap();
    drop(stores);
    let stores = factory.open();
    assert_eq!(
        used(stores.keys.as_ref(), "K1"),
        (Some(77), Some("10.0.0.1".into()))
    );
    let query = SearchQuery {
        not_used_since: Some(78),
        ..SearchQuery::default()
    };
    assert_eq!(search_ids(stores.keys.as_ref(), &query), ["K1"]);
}

/// Uses recorded concurrently with updates: no update fails because of usage, and the newest use
/// wins.
pub fn concurrent_usage_and_updates(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    thread::scope(|scope| {
        for t in 0..3i64 {
            let usage_store = Arc::clone(&stores.usage);
            scope.spawn(move || {
                for n in 0..50 {
                    usage_store
                        .record_key_usage(&[usage("K1", t * 1000 + n, None)])
                        .unwrap();
                }
            });
        }
        let keys = Arc::clone(&stores.keys);
        scope.spawn(move || {
            for n in 0..20 {
                let mut current = keys.get("K1").unwrap().unwrap();
                current.key.description = format!("round {n}");
                match keys.update(&current) {
                    Ok(_) => {}
                    Err(StoreError::VersionConflict { .. }) => panic!("usage changed the version"),
                    Err(other) => panic!("{other}"),
                }
            }
        });
    });
    let stored = stores.keys.get("K1").unwrap().unwrap();
    assert_eq!(stored.version, 21);
    assert_eq!(stored.key.last_used_time, Some(2049));
}

/// A [`KeyUsageStore`] that counts calls and entries before passing them on.
#[derive(Debug)]
pub struct CountingUsageStore {
    inner: Arc<dyn KeyUsageStore>,
    /// Calls of [`record_key_usage`](KeyUsageStore::record_key_usage).
    pub calls: AtomicUsize,
    /// Every entry passed, in order.
    pub entries: Mutex<Vec<KeyUsage>>,
}

impl CountingUsageStore {
    /// Counts the calls to `inner`.
    pub fn new(inner: Arc<dyn KeyUsageStore>) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl KeyUsageStore for CountingUsageStore {
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.entries.lock().unwrap().extend(usage.iter().cloned());
        self.inner.record_key_usage(usage)
    }
}

/// A thousand uses of one key in one interval are one store write of one entry (the latest use),
/// and the tracker's shutdown writes what is pending.
pub fn thousand_uses_in_one_interval_are_one_write(factory: &dyn UsageStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    stores.keys.insert(&record("K2", "k", 2)).unwrap();
    let counting = Arc::new(CountingUsageStore::new(Arc::clone(&stores.usage)));
    let tracker = UsageTracker::with_interval(
        Arc::clone(&counting) as Arc<dyn KeyUsageStore>,
        Duration::from_secs(3600),
    );
    thread::scope(|scope| {
        for t in 0..4i64 {
            let tracker = &tracker;
            scope.spawn(move || {
                for n in 0..250i64 {
                    let ip = format!("10.0.{t}.{}", n % 200);
                    tracker.touch("K1", 1_700_000_000 + n, Some(&ip));
                }
            });
        }
    });
    tracker.touch("K1", 1_700_001_000, Some("10.1.1.1"));
    tracker.touch("K1", 1_700_000_999, Some("10.2.2.2"));
    assert_eq!(
        counting.calls.load(Ordering::SeqCst),
        0,
        "a write before the interval ended"
    );
    assert_eq!(used(stores.keys.as_ref(), "K1"), (None, None));
    tracker.flush();
    assert_eq!(counting.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        *counting.entries.lock().unwrap(),
        vec![usage("K1", 1_700_001_000, Some("10.1.1.1"))]
    );
    assert_eq!(
        used(stores.keys.as_ref(), "K1"),
        (Some(1_700_001_000), Some("10.1.1.1".into()))
    );
    // Nothing new: a flush writes nothing. Two keys used: one write of two entries, on shutdown.
    tracker.flush();
    assert_eq!(counting.calls.load(Ordering::SeqCst), 1);
    for n in 0..500 {
        tracker.touch("K1", 1_700_002_000 + n, None);
        tracker.touch("K2", 1_700_003_000, Some("::1"));
    }
    drop(tracker);
    assert_eq!(counting.calls.load(Ordering::SeqCst), 2);
    assert_eq!(counting.entries.lock().unwrap().len(), 3);
    assert_eq!(used(stores.keys.as_ref(), "K1"), (Some(1_700_002_499), None));
    assert_eq!(
        used(stores.keys.as_ref(), "K2"),
        (Some(1_700_003_000), Some("::1".into()))
    );
}

/// Expands to one `#[test]` per key-usage conformance case, each with a fresh factory.
#[macro_export]
macro_rules! key_usage_conformance {
    ($factory:expr) => {
        $crate::__usage_tests! { $factory;
            never_used_shows_none,
            recorded_usage_shows_without_a_version_change,
            usage_never_moves_back,
            unknown_keys_are_passed_over,
            insert_and_update_never_write_usage,
            delete_removes_usage,
            not_used_since_filter,
            expires_before_filter,
            reopen_keeps_usage,
            concurrent_usage_and_updates,
            thousand_uses_in_one_interval_are_one_write,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __usage_tests {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let factory = $factory;
                $crate::usage::$case(&factory);
            }
        )*
    };
}
