//! One function per clause of the [`ak_core::KeyStore`] contract.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;

use ak_core::limits::{MAX_CUSTOM_ATTRIBUTES_BYTES, MAX_CUSTOM_CLAIMS_BYTES, MAX_PERMITTED_IPS, MAX_TENANTS};
use ak_core::{
    ExpiryFilter, KeyRecord, KeyStatus, KeyStore, KeyTenant, Page, SearchQuery, SortField, StoreError,
};
use serde_json::{Value, json};

use crate::StoreFactory;
use crate::fixtures::{full_record, object, record};

fn ids(page: &Page<KeyRecord>) -> Vec<String> {
    page.items.iter().map(|record| record.key.id.clone()).collect()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

/// Every record in the store, through paged searches of the given size.
pub fn search_all(store: &dyn KeyStore, mut query: SearchQuery) -> Vec<KeyRecord> {
    let mut all = Vec::new();
    loop {
        let page = store.search(&query).expect("search");
        assert!(
            page.items.len() <= query.limit as usize,
            "a page exceeds its limit"
        );
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return all,
        }
    }
}

/// `get` of an unknown id is `Ok(None)`.
pub fn get_unknown_is_none(factory: &dyn StoreFactory) {
    let store = factory.open();
    assert!(store.get("missing").unwrap().is_none());
    assert!(store.get("").unwrap().is_none());
    assert!(store.get("'; DROP TABLE keys; --").unwrap().is_none());
}

/// A record with every field set reads back exactly as written.
pub fn insert_then_get_round_trips_every_field(factory: &dyn StoreFactory) {
    let store = factory.open();
    let full = full_record("full");
    store.insert(&full).unwrap();
    let minimal = record("minimal", "m", 5);
    store.insert(&minimal).unwrap();
    assert_eq!(store.get("full").unwrap().as_ref(), Some(&full));
    assert_eq!(store.get("minimal").unwrap().as_ref(), Some(&minimal));
}

/// A second insert of an id fails with `AlreadyExists` and changes nothing.
pub fn insert_duplicate_is_already_exists(factory: &dyn StoreFactory) {
    let store = factory.open();
    let first = record("dup", "first", 1);
    store.insert(&first).unwrap();
    let second = record("dup", "second", 2);
    assert!(matches!(store.insert(&second), Err(StoreError::AlreadyExists { id }) if id == "dup"));
    assert_eq!(store.get("dup").unwrap(), Some(first));
}

/// `update` with the stored version replaces the record and returns version + 1.
pub fn update_replaces_and_increments_version(factory: &dyn StoreFactory) {
    let store = factory.open();
    store.insert(&full_record("k")).unwrap();
    let mut changed = store.get("k").unwrap().unwrap();
    changed.key.name = "renamed".into();
    changed.key.key_tenants = vec![KeyTenant::new("tenant-z", ["r"])];
    changed.key.custom_attributes = object(json!({"team": "payments"}));
    changed.previous_secret = None;
    assert_eq!(store.update(&changed).unwrap(), 8);
    let stored = store.get("k").unwrap().unwrap();
    assert_eq!(stored.version, 8);
    changed.version = 8;
    assert_eq!(stored, changed);
}

/// `update` with a stale version fails with `VersionConflict` and changes nothing.
pub fn update_with_stale_version_conflicts(factory: &dyn StoreFactory) {
    let store = factory.open();
    store.insert(&record("k", "original", 1)).unwrap();
    let mut first = store.get("k").unwrap().unwrap();
    let mut second = first.clone();
    first.key.name = "first".into();
    store.update(&first).unwrap();
    second.key.name = "second".into();
    assert!(
        matches!(store.update(&second), Err(StoreError::VersionConflict { id, expected: 1 }) if id == "k")
    );
    let stored = store.get("k").unwrap().unwrap();
    assert_eq!((stored.key.name.as_str(), stored.version), ("first", 2));
}

/// `update` of an unknown id fails with `NotFound` and creates nothing.
pub fn update_unknown_is_not_found(factory: &dyn StoreFactory) {
    let store = factory.open();
    let ghost = record("ghost", "g", 1);
    assert!(matches!(store.update(&ghost), Err(StoreError::NotFound { ids }) if ids == ["ghost"]));
    assert!(store.get("ghost").unwrap().is_none());
}

/// `set_status` changes every listed record and bumps each version, even a no-op one.
pub fn set_status_changes_every_id_and_bumps_versions(factory: &dyn StoreFactory) {
    let store = factory.open();
    for id in ["a", "b", "c"] {
        store.insert(&record(id, id, 1)).unwrap();
    }
    store
        .set_status(&strings(&["a", "b"]), KeyStatus::Inactive)
        .unwrap();
    let status = |id: &str| store.get(id).unwrap().map(|r| (r.key.status, r.version));
    assert_eq!(status("a"), Some((KeyStatus::Inactive, 2)));
    assert_eq!(status("b"), Some((KeyStatus::Inactive, 2)));
    assert_eq!(status("c"), Some((KeyStatus::Active, 1)));
    store
        .set_status(&strings(&["a", "c"]), KeyStatus::Active)
        .unwrap();
    assert_eq!(status("a"), Some((KeyStatus::Active, 3)));
    assert_eq!(
        status("c"),
        Some((KeyStatus::Active, 2)),
        "a no-op status change still bumps the version"
    );
}

/// `set_status` with any unknown id lists every unknown id and changes nothing.
pub fn set_status_with_unknown_id_changes_nothing(factory: &dyn StoreFactory) {
    let store = factory.open();
    store.insert(&record("a", "a", 1)).unwrap();
    store.insert(&record("b", "b", 1)).unwrap();
    let result = store.set_status(&strings(&["a", "x", "b", "y"]), KeyStatus::Inactive);
    assert!(matches!(result, Err(StoreError::NotFound { ids }) if ids == ["x", "y"]));
    for id in ["a", "b"] {
        let stored = store.get(id).unwrap().unwrap();
        assert_eq!((stored.key.status, stored.version), (KeyStatus::Active, 1));
    }
}

/// An update prepared before a deactivation cannot undo it.
pub fn status_change_defeats_a_stale_update(factory: &dyn StoreFactory) {
    let store = factory.open();
    store.insert(&record("k", "k", 1)).unwrap();
    let mut stale = store.get("k").unwrap().unwrap();
    store.set_status(&strings(&["k"]), KeyStatus::Inactive).unwrap();
    stale.key.name = "renamed".into();
    assert!(matches!(
        store.update(&stale),
        Err(StoreError::VersionConflict { .. })
    ));
    assert_eq!(store.get("k").unwrap().unwrap().key.status, KeyStatus::Inactive);
}

/// `delete` removes every listed record.
pub fn delete_removes_every_id(factory: &dyn StoreFactory) {
    let store = factory.open();
    for id in ["a", "b", "c"] {
        store.insert(&record(id, id, 1)).unwrap();
    }
    store.delete(&strings(&["a", "c"])).unwrap();
    assert!(store.get("a").unwrap().is_none());
    assert!(store.get("c").unwrap().is_none());
    assert!(store.get("b").unwrap().is_some());
    assert_eq!(ids(&store.search(&SearchQuery::default()).unwrap()), ["b"]);
    // A deleted id can be inserted again (stores keep no tombstones that block it).
    store.insert(&record("a", "again", 2)).unwrap();
    assert_eq!(store.get("a").unwrap().unwrap().key.name, "again");
}

/// `delete` with any unknown id lists every unknown id and deletes nothing.
pub fn delete_with_unknown_id_changes_nothing(factory: &dyn StoreFactory) {
    let store = factory.open();
    store.insert(&record("a", "a", 1)).unwrap();
    let result = store.delete(&strings(&["a", "missing"]));
    assert!(matches!(result, Err(StoreError::NotFound { ids }) if ids == ["missing"]));
    assert!(store.get("a").unwrap().is_some());
}

/// An empty filter lists everything, page by page, in created order, each record once.
pub fn search_pages_through_everything(factory: &dyn StoreFactory) {
    let store = factory.open();
    let mut expected = Vec::new();
    for index in 0..25i64 {
        // Several records share a created time so the id tie-break matters.
        let id = format!("key-{:02}", (index * 7) % 25);
        store
            .insert(&record(&id, &format!("n{index}"), 100 + index / 3))
            .unwrap();
        expected.push((100 + index / 3, id));
    }
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    for limit in [1, 7, 25, 1000] {
        let query = SearchQuery {
            limit,
            ..SearchQuery::default()
        };
        let found: Vec<String> = search_all(store.as_ref(), query)
            .into_iter()
            .map(|r| r.key.id)
            .collect();
        assert_eq!(found, expected, "limit {limit}");
    }
    let exact = store
        .search(&SearchQuery {
            limit: 25,
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(exact.items.len(), 25);
    assert!(exact.next_cursor.is_none(), "no cursor when nothing remains");
}

/// Each filter alone and together, against hand-computed expectations.
pub fn search_filters(factory: &dyn StoreFactory) {
    let store = factory.open();
    let mut a = record("a", "Payments Gateway", 1);
    a.key.key_tenants = vec![KeyTenant::new("t1", ["r"]), KeyTenant::new("t2", ["r"])];
    a.key.bound_user_id = Some("u1".into());
    a.key.created_by = "alice".into();
    a.key.custom_attributes = object(json!({"team": "pay", "tier": 1}));
    let mut b = record("b", "reporting", 2);
    b.key.key_tenants = vec![KeyTenant::new("t2", Vec::<String>::new())];
    b.key.description = "nightly PAYMENTS export".into();
    b.key.created_by = "bob".into();
    b.key.status = KeyStatus::Inactive;
    b.key.custom_attributes = object(json!({"team": "pay", "tier": 2}));
    b.key.expire_time = Some(50);
    let mut c = record("c", "ci", 3);
    c.key.role_names = vec!["builder".into()];
    c.key.bound_user_id = Some("u2".into());
    c.key.created_by = "alice".into();
    c.key.expire_time = Some(500);
    for r in [&a, &b, &c] {
        store.insert(r).unwrap();
    }
    let run = |query: SearchQuery| -> Vec<String> {
        search_all(store.as_ref(), query)
            .into_iter()
            .map(|r| r.key.id)
            .collect()
    };
    let q = SearchQuery::default;
    assert_eq!(
        run(SearchQuery {
            tenant_ids: strings(&["t1"]),
            ..q()
        }),
        ["a"]
    );
    assert_eq!(
        run(SearchQuery {
            tenant_ids: strings(&["t2"]),
            ..q()
        }),
        ["a", "b"]
    );
    assert_eq!(
        run(SearchQuery {
            tenant_ids: strings(&["t1", "t2", "nope"]),
            ..q()
        }),
        ["a", "b"]
    );
    assert!(
        run(SearchQuery {
            tenant_ids: strings(&["nope"]),
            ..q()
        })
        .is_empty()
    );
    assert_eq!(
        run(SearchQuery {
            bound_user_id: Some("u2".into()),
            ..q()
        }),
        ["c"]
    );
    assert_eq!(
        run(SearchQuery {
            created_by: Some("alice".into()),
            ..q()
        }),
        ["a", "c"]
    );
    assert_eq!(
        run(SearchQuery {
            custom_attributes: object(json!({"team": "pay"})),
            ..q()
        }),
        ["a", "b"]
    );
    assert_eq!(
        run(SearchQuery {
            custom_attributes: object(json!({"team": "pay", "tier": 2})),
            ..q()
        }),
        ["b"]
    );
    assert!(
        run(SearchQuery {
            custom_attributes: object(json!({"tier": "2"})),
            ..q()
        })
        .is_empty()
    );
    assert_eq!(
        run(SearchQuery {
            text: Some("payments".into()),
            ..q()
        }),
        ["a", "b"],
        "name or description"
    );
    assert_eq!(
        run(SearchQuery {
            text: Some("CI".into()),
            ..q()
        }),
        ["c"]
    );
    assert_eq!(
        run(SearchQuery {
            text: Some("%".into()),
            ..q()
        }),
        Vec::<String>::new(),
        "no LIKE wildcards"
    );
    assert_eq!(
        run(SearchQuery {
            status: Some(KeyStatus::Inactive),
            ..q()
        }),
        ["b"]
    );
    assert_eq!(
        run(SearchQuery {
            status: Some(KeyStatus::Active),
            ..q()
        }),
        ["a", "c"]
    );
    assert_eq!(
        run(SearchQuery {
            expiry: Some(ExpiryFilter::ExpiredAt(100)),
            ..q()
        }),
        ["b"]
    );
    assert_eq!(
        run(SearchQuery {
            expiry: Some(ExpiryFilter::UnexpiredAt(100)),
            ..q()
        }),
        ["a", "c"]
    );
    assert_eq!(
        run(SearchQuery {
            expiry: Some(ExpiryFilter::ExpiredAt(500)),
            ..q()
        }),
        ["b", "c"]
    );
    let combined = SearchQuery {
        tenant_ids: strings(&["t2"]),
        created_by: Some("alice".into()),
        status: Some(KeyStatus::Active),
        text: Some("gate".into()),
        ..q()
    };
    assert_eq!(run(combined), ["a"]);
}

/// Sorting by created time and name, ascending and descending, ties broken by id.
pub fn search_sort_orders(factory: &dyn StoreFactory) {
    let store = factory.open();
    for (id, name, created) in [
        ("k1", "beta", 2),
        ("k2", "alpha", 2),
        ("k3", "Zulu", 1),
        ("k4", "alpha", 3),
    ] {
        store.insert(&record(id, name, created)).unwrap();
    }
    let run = |sort: SortField, descending: bool| -> Vec<String> {
        let query = SearchQuery {
            sort,
            descending,
            limit: 1,
            ..SearchQuery::default()
        };
        search_all(store.as_ref(), query)
            .into_iter()
            .map(|r| r.key.id)
            .collect()
    };
    assert_eq!(run(SortField::CreatedTime, false), ["k3", "k1", "k2", "k4"]);
    assert_eq!(run(SortField::CreatedTime, true), ["k4", "k2", "k1", "k3"]);
    assert_eq!(
        run(SortField::Name, false),
        ["k3", "k2", "k4", "k1"],
        "byte order: 'Z' < 'a'"
    );
    assert_eq!(run(SortField::Name, true), ["k1", "k4", "k2", "k3"]);
}

/// Records inserted between pages never cause a duplicate or a skipped older record.
pub fn search_cursor_survives_concurrent_inserts(factory: &dyn StoreFactory) {
    let store = factory.open();
    for index in 0..10i64 {
        store
            .insert(&record(&format!("k{index}"), "n", index * 10))
            .unwrap();
    }
    let mut query = SearchQuery {
        limit: 4,
        ..SearchQuery::default()
    };
    let first = store.search(&query).unwrap();
    // One record lands before the cursor, one after it.
    store.insert(&record("early", "n", 5)).unwrap();
    store.insert(&record("late", "n", 95)).unwrap();
    let mut seen = ids(&first);
    query.cursor = first.next_cursor;
    seen.extend(search_all(store.as_ref(), query).into_iter().map(|r| r.key.id));
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates: {seen:?}");
    for index in 0..10 {
        assert!(
            seen.contains(&format!("k{index}")),
            "k{index} missing from {seen:?}"
        );
    }
    assert!(seen.contains(&"late".to_owned()));
    assert!(
        !seen.contains(&"early".to_owned()),
        "a record before the cursor is not revisited"
    );
}

/// Indexes follow updates and deletes: old tenants, users and statuses stop matching.
pub fn search_follows_updated_and_deleted_records(factory: &dyn StoreFactory) {
    let store = factory.open();
    let mut r = record("k", "n", 1);
    r.key.key_tenants = vec![KeyTenant::new("old", ["r"])];
    r.key.created_by = "carol".into();
    store.insert(&r).unwrap();
    let mut changed = store.get("k").unwrap().unwrap();
    changed.key.key_tenants = vec![KeyTenant::new("new", ["r"])];
    store.update(&changed).unwrap();
    let by_tenant = |tenant: &str| {
        ids(&store
            .search(&SearchQuery {
                tenant_ids: strings(&[tenant]),
                ..SearchQuery::default()
            })
            .unwrap())
    };
    assert!(by_tenant("old").is_empty());
    assert_eq!(by_tenant("new"), ["k"]);
    store.set_status(&strings(&["k"]), KeyStatus::Inactive).unwrap();
    let inactive = SearchQuery {
        status: Some(KeyStatus::Inactive),
        ..SearchQuery::default()
    };
    assert_eq!(ids(&store.search(&inactive).unwrap()), ["k"]);
    store.delete(&strings(&["k"])).unwrap();
    assert!(by_tenant("new").is_empty());
    assert!(
        store
            .search(&SearchQuery {
                created_by: Some("carol".into()),
                ..SearchQuery::default()
            })
            .unwrap()
            .items
            .is_empty()
    );
}

/// Records at every documented size limit round-trip.
pub fn limits_round_trip(factory: &dyn StoreFactory) {
    let store = factory.open();
    let mut big = full_record("big");
    big.key.name = "n".repeat(256);
    big.key.description = "d".repeat(1024);
    big.key.key_tenants = (0..MAX_TENANTS)
        .map(|i| KeyTenant::new(format!("{i:0>128}"), ["role"]))
        .collect();
    big.key.permitted_ips = (0..MAX_PERMITTED_IPS)
        .map(|i| format!("10.0.{}.{}/32", i / 250, i % 250))
        .collect();
    big.key.custom_claims = filler(MAX_CUSTOM_CLAIMS_BYTES);
    big.key.custom_attributes = filler(MAX_CUSTOM_ATTRIBUTES_BYTES);
    store.insert(&big).unwrap();
    assert_eq!(store.get("big").unwrap(), Some(big));
    let query = SearchQuery {
        tenant_ids: vec![format!("{:0>128}", MAX_TENANTS - 1)],
        ..SearchQuery::default()
    };
    assert_eq!(ids(&store.search(&query).unwrap()), ["big"]);
}

/// A JSON object whose compact encoding is exactly `bytes` long.
fn filler(bytes: usize) -> serde_json::Map<String, Value> {
    // {"x":"…"} is 8 bytes of syntax around the string.
    object(json!({ "x": "f".repeat(bytes - 8) }))
}

/// Everything acknowledged is there after every handle is dropped and the store re-opened.
pub fn reopen_keeps_everything(factory: &dyn StoreFactory) {
    let store = factory.open();
    store.insert(&full_record("a")).unwrap();
    store.insert(&record("b", "b", 2)).unwrap();
    store.insert(&record("c", "c", 3)).unwrap();
    store.set_status(&strings(&["b"]), KeyStatus::Inactive).unwrap();
    store.delete(&strings(&["c"])).unwrap();
    let before = search_all(store.as_ref(), SearchQuery::default());
    drop(store);
    let store = factory.open();
    assert_eq!(search_all(store.as_ref(), SearchQuery::default()), before);
    assert_eq!(store.get("b").unwrap().unwrap().key.status, KeyStatus::Inactive);
    assert!(store.get("c").unwrap().is_none());
}

const RACERS: usize = 8;

/// Threads racing to insert one id: exactly one wins, the rest get `AlreadyExists`.
pub fn concurrent_inserts_of_one_id(factory: &dyn StoreFactory) {
    let store = factory.open();
    let barrier = Arc::new(Barrier::new(RACERS));
    let results: Vec<Result<(), StoreError>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|n| {
                let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    store.insert(&record("race", &format!("writer {n}"), 1))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("no panic")).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, StoreError::AlreadyExists { .. }))
    );
    assert!(
        store
            .get("race")
            .unwrap()
            .unwrap()
            .key
            .name
            .starts_with("writer ")
    );
}

/// Threads racing to update one version: exactly one wins, the rest get `VersionConflict`.
pub fn concurrent_updates_of_one_version(factory: &dyn StoreFactory) {
    let store = factory.open();
    store.insert(&record("race", "start", 1)).unwrap();
    let base = store.get("race").unwrap().unwrap();
    let barrier = Arc::new(Barrier::new(RACERS));
    let results: Vec<Result<u64, StoreError>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|n| {
                let (store, barrier, mut mine) = (Arc::clone(&store), Arc::clone(&barrier), base.clone());
                scope.spawn(move || {
                    mine.key.name = format!("writer {n}");
                    barrier.wait();
                    store.update(&mine)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("no panic")).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, StoreError::VersionConflict { .. }))
    );
    assert_eq!(store.get("race").unwrap().unwrap().version, 2);
}

/// Readers running beside a writer only ever see whole records.
pub fn concurrent_reads_see_whole_records(factory: &dyn StoreFactory) {
    let store = factory.open();
    store.insert(&record("k", "0", 1)).unwrap();
    thread::scope(|scope| {
        let writer = {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for round in 1..=50u32 {
                    let mut current = store.get("k").unwrap().unwrap();
                    current.key.name = round.to_string();
                    current.key.description = round.to_string().repeat(50);
                    store.update(&current).unwrap();
                }
            })
        };
        for _ in 0..2 {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for _ in 0..200 {
                    let seen = store.get("k").unwrap().unwrap();
                    let expected = if seen.key.name == "0" {
                        String::new()
                    } else {
                        seen.key.name.repeat(50)
                    };
                    assert_eq!(seen.key.description, expected, "torn read");
                }
            });
        }
        writer.join().expect("writer");
    });
}
