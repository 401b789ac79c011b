//! The expiry-time and last-used indexes: their contents after every kind of write and use, the
//! search planner's use of them, and building them when a format-1 store is opened.

use std::collections::BTreeSet;

use ak_core::usage::{KeyUsage, KeyUsageStore};
use ak_core::{KeyRecord, KeyStatus, KeyStore, SearchQuery, SortField};
use ak_sled::{STORE_FORMAT_VERSION, SledKeyStore, layout, record_codec};
use ak_testkit::cases::search_all;
use ak_testkit::fixtures::record;

/// A store on a temporary database we keep raw access to.
fn store_with_raw_access() -> (SledKeyStore, sled::Db) {
    let db = sled::Config::new().temporary(true).open().unwrap();
    (SledKeyStore::from_temporary_db(db.clone()).unwrap(), db)
}

fn tree_keys(db: &sled::Db, tree: &str) -> BTreeSet<Vec<u8>> {
    db.open_tree(tree)
        .unwrap()
        .iter()
        .map(|item| item.unwrap().0.to_vec())
        .collect()
}

fn expiring(id: &str, created: i64, expires: Option<i64>) -> KeyRecord {
    let mut r = record(id, id, created);
    r.key.expire_time = expires;
    r
}

fn use_at(store: &SledKeyStore, id: &str, time: i64) {
    store
        .record_key_usage(&[KeyUsage {
            key_id: id.into(),
            time,
            ip: None,
        }])
        .unwrap();
}

fn ids(records: &[KeyRecord]) -> Vec<&str> {
    records.iter().map(|r| r.key.id.as_str()).collect()
}

#[test]
fn the_expiry_index_follows_inserts_updates_and_deletes() {
    let (store, db) = store_with_raw_access();
    let expiry = |db: &sled::Db| tree_keys(db, layout::EXPIRY_INDEX);
    store.insert(&expiring("a", 1, Some(50))).unwrap();
    store.insert(&expiring("b", 2, None)).unwrap();
    store.insert(&expiring("c", 3, Some(-7))).unwrap();
    assert_eq!(
        expiry(&db),
        BTreeSet::from([layout::expiry_key(50, "a"), layout::expiry_key(-7, "c")])
    );

    let mut a = store.get("a").unwrap().unwrap();
    a.key.expire_time = Some(60);
    store.update(&a).unwrap();
    let mut b = store.get("b").unwrap().unwrap();
    b.key.expire_time = Some(10);
    store.update(&b).unwrap();
    let mut c = store.get("c").unwrap().unwrap();
    c.key.expire_time = None;
    store.update(&c).unwrap();
    store
        .set_status(&["a".into(), "b".into()], KeyStatus::Inactive)
        .unwrap();
    assert_eq!(
        expiry(&db),
        BTreeSet::from([layout::expiry_key(60, "a"), layout::expiry_key(10, "b")])
    );

    store.delete(&["a".into(), "c".into()]).unwrap();
    assert_eq!(expiry(&db), BTreeSet::from([layout::expiry_key(10, "b")]));
    store.check_consistency().unwrap();
}

#[test]
fn the_last_used_index_follows_inserts_uses_and_deletes() {
    let (store, db) = store_with_raw_access();
    let last_used = |db: &sled::Db| tree_keys(db, layout::LAST_USED_INDEX);
    store.insert(&record("a", "a", 1)).unwrap();
    store.insert(&record("b", "b", 2)).unwrap();
    assert_eq!(
        last_used(&db),
        BTreeSet::from([layout::never_used_key("a"), layout::never_used_key("b")])
    );

    use_at(&store, "a", 100);
    use_at(&store, "a", 90); // older: ignored
    use_at(&store, "ghost", 5); // no such key: nothing recorded
    assert_eq!(
        last_used(&db),
        BTreeSet::from([layout::used_key(100, "a"), layout::never_used_key("b")])
    );
    // Two uses of one key in one batch: the newer wins, with one entry.
    store
        .record_key_usage(&[
            KeyUsage {
                key_id: "b".into(),
                time: 30,
                ip: None,
            },
            KeyUsage {
                key_id: "b".into(),
                time: 40,
                ip: None,
            },
        ])
        .unwrap();
    // Record writes leave the last use alone.
    let mut a = store.get("a").unwrap().unwrap();
    a.key.name = "renamed".into();
    store.update(&a).unwrap();
    store.set_status(&["b".into()], KeyStatus::Inactive).unwrap();
    assert_eq!(
        last_used(&db),
        BTreeSet::from([layout::used_key(100, "a"), layout::used_key(40, "b")])
    );

    store.delete(&["a".into()]).unwrap();
    assert_eq!(last_used(&db), BTreeSet::from([layout::used_key(40, "b")]));
    assert!(db.open_tree(layout::USAGE).unwrap().get("a").unwrap().is_none());
    store.insert(&record("a", "again", 3)).unwrap();
    assert_eq!(
        last_used(&db),
        BTreeSet::from([layout::never_used_key("a"), layout::used_key(40, "b")])
    );
    store.check_consistency().unwrap();
}

#[test]
fn a_key_with_damaged_usage_is_deleted_with_its_last_used_entry() {
    let (store, db) = store_with_raw_access();
    store.insert(&record("a", "a", 1)).unwrap();
    use_at(&store, "a", 100);
    db.open_tree(layout::USAGE)
        .unwrap()
        .insert("a", &[9u8][..])
        .unwrap();
    store.delete(&["a".into()]).unwrap();
    assert!(tree_keys(&db, layout::LAST_USED_INDEX).is_empty());
    store.check_consistency().unwrap();
}

/// Damages the stored record `id` so that loading it fails: a search that visits it lists it in
/// `Page::skipped`, so a search that does not list it never loaded it.
fn damage(db: &sled::Db, id: &str) {
    db.open_tree(layout::RECORDS)
        .unwrap()
        .insert(id, &[record_codec::RECORD_FORMAT_VERSION, 0xFF][..])
        .unwrap();
}

fn skipped(store: &SledKeyStore, query: &SearchQuery) -> Vec<Option<String>> {
    let page = store.search(query).unwrap();
    page.skipped.into_iter().map(|s| s.id).collect()
}

#[test]
fn an_expires_before_search_visits_only_the_keys_expiring_before() {
    let (store, db) = store_with_raw_access();
    for n in 0..20 {
        let expires = (n % 5 == 0).then_some(1000 + n);
        store.insert(&expiring(&format!("k{n:02}"), n, expires)).unwrap();
    }
    store.insert(&expiring("late", 30, Some(5000))).unwrap();
    damage(&db, "k01"); // never expires
    damage(&db, "late"); // expires after the filter's time
    let everything = SearchQuery::default();
    assert_eq!(
        skipped(&store, &everything).len(),
        2,
        "a walk visits the damaged keys"
    );
    let query = SearchQuery {
        expires_before: Some(2000),
        ..SearchQuery::default()
    };
    assert_eq!(skipped(&store, &query), Vec::<Option<String>>::new());
    assert_eq!(
        ids(&search_all(&store, query.clone())),
        ["k00", "k05", "k10", "k15"]
    );
    let by_name = SearchQuery {
        sort: SortField::Name,
        descending: true,
        limit: 1,
        ..query
    };
    assert_eq!(ids(&search_all(&store, by_name)), ["k15", "k10", "k05", "k00"]);
}

#[test]
fn a_not_used_since_search_visits_only_keys_unused_since() {
    let (store, db) = store_with_raw_access();
    for n in 0..20 {
        store.insert(&record(&format!("k{n:02}"), "k", n)).unwrap();
        if n % 4 != 0 {
            use_at(&store, &format!("k{n:02}"), 100 + n);
        }
    }
    damage(&db, "k19"); // used at 119, after the filter's time
    let query = SearchQuery {
        not_used_since: Some(110),
        ..SearchQuery::default()
    };
    assert_eq!(skipped(&store, &query), Vec::<Option<String>>::new());
    assert_eq!(
        ids(&search_all(&store, query)),
        [
            "k00", "k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08", "k09", "k12", "k16"
        ]
    );
    assert_eq!(skipped(&store, &SearchQuery::default()), [Some("k19".to_owned())]);
}

#[test]
fn with_both_range_filters_the_smaller_range_is_used() {
    let (store, db) = store_with_raw_access();
    // Never used; only "soon" expires.
    for n in 0..10 {
        store.insert(&expiring(&format!("unused{n}"), n, None)).unwrap();
    }
    store.insert(&expiring("soon", 20, Some(10))).unwrap();
    // Used recently, expiring: many expiry entries, no match for `notUsedSince`.
    for n in 0..15 {
        let id = format!("used{n:02}");
        store.insert(&expiring(&id, 30 + n, Some(20))).unwrap();
        use_at(&store, &id, 500);
    }
    store.insert(&expiring("idle", 50, Some(20))).unwrap();
    damage(&db, "unused3"); // in the last-used range only
    damage(&db, "used03"); // in the expiry range only

    // Expiry range: 1 key; last-used range: 12 keys.
    let few_expiring = SearchQuery {
        expires_before: Some(15),
        not_used_since: Some(100),
        ..SearchQuery::default()
    };
    assert_eq!(skipped(&store, &few_expiring), Vec::<Option<String>>::new());
    assert_eq!(ids(&search_all(&store, few_expiring)), ["soon"]);

    // Expiry range: 17 keys; last-used range: 12 keys.
    let few_unused = SearchQuery {
        expires_before: Some(25),
        not_used_since: Some(100),
        ..SearchQuery::default()
    };
    assert_eq!(skipped(&store, &few_unused), [Some("unused3".to_owned())]);
    assert_eq!(ids(&search_all(&store, few_unused)), ["soon", "idle"]);
}

#[test]
fn many_candidates_restrict_the_walk_in_sort_order() {
    let (store, db) = store_with_raw_access();
    let count = 300; // more than the planner loads and sorts at once
    for n in 0..count {
        store
            .insert(&expiring(&format!("k{n:03}"), n, Some(1000 + n)))
            .unwrap();
    }
    store.insert(&expiring("never", 5, None)).unwrap();
    damage(&db, "never");
    let query = SearchQuery {
        expires_before: Some(i64::MAX),
        limit: 7,
        ..SearchQuery::default()
    };
    assert_eq!(skipped(&store, &query), Vec::<Option<String>>::new());
    let found = search_all(&store, query);
    assert_eq!(found.len(), usize::try_from(count).unwrap());
    assert!(
        found
            .windows(2)
            .all(|w| w[0].key.created_time < w[1].key.created_time)
    );
}

#[test]
fn opening_a_format_1_store_builds_the_new_indexes() {
    let (store, db) = store_with_raw_access();
    store.insert(&expiring("a", 1, Some(50))).unwrap();
    store.insert(&expiring("b", 2, None)).unwrap();
    store.insert(&expiring("c", 3, Some(70))).unwrap();
    use_at(&store, "a", 100);
    use_at(&store, "b", 200);
    drop(store);
    // A format-1 store is this layout without the two trees; its deletes could leave the usage
    // of a deleted key behind after a crash.
    db.drop_tree(layout::EXPIRY_INDEX).unwrap();
    db.drop_tree(layout::LAST_USED_INDEX).unwrap();
    let usage = db.open_tree(layout::USAGE).unwrap();
    usage.insert("gone", usage.get("a").unwrap().unwrap()).unwrap();
    let meta = db.open_tree(layout::META).unwrap();
    meta.insert(layout::FORMAT_KEY, &[1u8][..]).unwrap();

    let store = SledKeyStore::from_temporary_db(db.clone()).expect("a format-1 store opens");
    assert_eq!(
        meta.get(layout::FORMAT_KEY).unwrap().as_deref(),
        Some(&[STORE_FORMAT_VERSION][..])
    );
    assert_eq!(STORE_FORMAT_VERSION, 2);
    assert_eq!(
        tree_keys(&db, layout::EXPIRY_INDEX),
        BTreeSet::from([layout::expiry_key(50, "a"), layout::expiry_key(70, "c")])
    );
    assert_eq!(
        tree_keys(&db, layout::LAST_USED_INDEX),
        BTreeSet::from([
            layout::used_key(100, "a"),
            layout::used_key(200, "b"),
            layout::never_used_key("c"),
        ])
    );
    assert!(
        usage.get("gone").unwrap().is_none(),
        "usage of a deleted key is removed"
    );
    store.check_consistency().unwrap();
    let query = SearchQuery {
        not_used_since: Some(150),
        expires_before: Some(100),
        ..SearchQuery::default()
    };
    assert_eq!(ids(&search_all(&store, query)), ["a", "c"]);
    drop(store);
    SledKeyStore::from_temporary_db(db)
        .expect("reopens as format 2")
        .check_consistency()
        .unwrap();
}

#[test]
fn openers_of_clones_of_one_format_1_db_upgrade_it_once_and_every_one_sees_exact_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let store = SledKeyStore::from_db(db.clone(), dir.path()).unwrap();
    let count = 6000; // more than one upgrade batch
    for n in 0..count {
        store
            .insert(&expiring(
                &format!("k{n:04}"),
                n,
                (n % 3 == 0).then_some(1000 + n),
            ))
            .unwrap();
        if n % 2 == 0 {
            use_at(&store, &format!("k{n:04}"), 10 + n);
        }
    }
    let expected_expiry = tree_keys(&db, layout::EXPIRY_INDEX);
    let expected_last_used = tree_keys(&db, layout::LAST_USED_INDEX);
    drop(store);
    db.drop_tree(layout::EXPIRY_INDEX).unwrap();
    db.drop_tree(layout::LAST_USED_INDEX).unwrap();
    let meta = db.open_tree(layout::META).unwrap();
    meta.insert(layout::FORMAT_KEY, &[1u8][..]).unwrap();
    // Every upgrade writes each expiry entry once: how many times the first one is written is how
    // many upgrades ran.
    let mut writes_of_first = db
        .open_tree(layout::EXPIRY_INDEX)
        .unwrap()
        .watch_prefix(layout::expiry_key(1000, "k0000"));

    let openers = 6;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(openers));
    let handles: Vec<_> = (0..openers)
        .map(|_| {
            let (db, barrier, path) = (db.clone(), std::sync::Arc::clone(&barrier), dir.path().to_owned());
            std::thread::spawn(move || {
                barrier.wait();
                let store = SledKeyStore::from_db(db, &path)?;
                // At once, while the other openers may still be at work.
                store.check_consistency()?;
                Ok::<_, ak_core::StoreError>(store)
            })
        })
        .collect();
    for handle in handles {
        handle
            .join()
            .unwrap()
            .expect("every opener gets a consistent store");
    }
    assert_eq!(
        meta.get(layout::FORMAT_KEY).unwrap().as_deref(),
        Some(&[STORE_FORMAT_VERSION][..])
    );
    assert_eq!(tree_keys(&db, layout::EXPIRY_INDEX), expected_expiry);
    assert_eq!(tree_keys(&db, layout::LAST_USED_INDEX), expected_last_used);
    let mut upgrades = 0;
    while let Ok(event) = writes_of_first.next_timeout(std::time::Duration::from_millis(500)) {
        if matches!(event, sled::Event::Insert { .. }) {
            upgrades += 1;
        }
    }
    assert_eq!(upgrades, 1, "the format-1 store was upgraded {upgrades} times");
}
