//! Damaged data, written with raw sled access, is reported as `StoreError::Corrupt` when it is
//! asked for: never a panic, never a silently wrong result. A search passes damaged records over
//! and lists them in `Page::skipped`, so one bad record never hides the others, and a damaged
//! record can still be deleted.

use ak_core::{KeyRecord, KeyStatus, KeyStore, Page, SearchQuery, SortField, StoreError};
use ak_sled::{SledKeyStore, layout, record_codec};
use ak_testkit::fixtures::{full_record, record};

/// A store on a database we keep raw access to, holding records `a` and `b`.
fn store_with_raw_access() -> (SledKeyStore, sled::Db) {
    let db = sled::Config::new()
        .temporary(true)
        .open()
        .expect("temporary sled db");
    let store = SledKeyStore::from_temporary_db(db.clone()).expect("store on the db");
    store.insert(&full_record("a")).expect("insert a");
    store.insert(&record("b", "bee", 20)).expect("insert b");
    (store, db)
}

fn raw_records(db: &sled::Db) -> sled::Tree {
    db.open_tree(layout::RECORDS).expect("records tree")
}

fn assert_corrupt(result: Result<impl std::fmt::Debug, StoreError>, id: Option<&str>, reason: &str) {
    match result {
        Err(StoreError::Corrupt {
            id: actual,
            reason: text,
            ..
        }) => {
            assert_eq!(actual.as_deref(), id, "{text}");
            assert!(text.contains(reason), "reason {text:?} should mention {reason:?}");
        }
        other => panic!("expected Corrupt ({reason}), got {other:?}"),
    }
}

/// The page's result ids, and checks it skipped exactly one record, `id`, for `reason`.
fn ids_skipping(page: Page<KeyRecord>, id: Option<&str>, reason: &str) -> Vec<String> {
    assert_eq!(page.skipped.len(), 1, "{:?}", page.skipped);
    assert_eq!(page.skipped[0].id.as_deref(), id);
    assert!(
        page.skipped[0].reason.contains(reason),
        "reason {:?} should mention {reason:?}",
        page.skipped[0].reason
    );
    page.items.into_iter().map(|record| record.key.id).collect()
}

#[test]
fn unknown_record_version_is_corrupt() {
    let (store, db) = store_with_raw_access();
    let mut bytes = raw_records(&db).get("a").unwrap().unwrap().to_vec();
    bytes[0] = 9;
    raw_records(&db).insert("a", bytes).unwrap();
    assert_corrupt(store.get("a"), Some("a"), "unknown record format version 9");
    // Writes that must read the record refuse too, and change nothing.
    assert_corrupt(
        store.set_status(&["a".into()], KeyStatus::Inactive),
        Some("a"),
        "version 9",
    );
    assert!(store.get("b").unwrap().is_some());
    assert_corrupt(store.check_consistency(), Some("a"), "version 9");
    // A search of everything still finds the other key, and says what it passed over.
    let page = store.search(&SearchQuery::default()).unwrap();
    assert_eq!(ids_skipping(page, Some("a"), "version 9"), ["b"]);
    // The damaged record is deleted with every index entry naming it.
    store
        .delete(&["a".into()])
        .expect("a corrupt record can be deleted");
    assert!(store.get("a").unwrap().is_none());
    store
        .check_consistency()
        .expect("no index entry of the deleted record is left");
    let page = store.search(&SearchQuery::default()).unwrap();
    assert!(page.skipped.is_empty());
    assert_eq!(page.items.len(), 1);
}

#[test]
fn truncated_record_is_corrupt_with_its_source() {
    let (store, db) = store_with_raw_access();
    let bytes = raw_records(&db).get("a").unwrap().unwrap();
    raw_records(&db).insert("a", &bytes[..bytes.len() / 2]).unwrap();
    let err = store.get("a").expect_err("truncated record");
    let StoreError::Corrupt { id, source, .. } = &err else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert_eq!(id.as_deref(), Some("a"));
    assert!(source.is_some(), "the decoding error is kept: {err}");
    assert!(store.get("b").unwrap().is_some(), "other records still load");
}

#[test]
fn empty_and_misplaced_records_are_corrupt() {
    let (store, db) = store_with_raw_access();
    raw_records(&db).insert("a", &[] as &[u8]).unwrap();
    assert_corrupt(store.get("a"), Some("a"), "empty record");
    // A valid record stored under another id.
    let b = raw_records(&db).get("b").unwrap().unwrap();
    raw_records(&db).insert("c", b).unwrap();
    assert_corrupt(store.get("c"), Some("c"), "has id \"b\"");
}

#[test]
fn decode_never_panics_on_arbitrary_bytes() {
    let valid = record_codec::encode(&full_record("x")).unwrap();
    assert_eq!(record_codec::decode("x", &valid).unwrap(), full_record("x"));
    for len in 0..valid.len() {
        assert!(record_codec::decode("x", &valid[..len]).is_err());
    }
    for garbage in [
        &[1u8, 0xFF, 0xFE][..],
        &[1, b'{', b'}'],
        &[1, b'n', b'u', b'l', b'l'],
        &[0],
    ] {
        assert!(matches!(
            record_codec::decode("x", garbage),
            Err(StoreError::Corrupt { .. })
        ));
    }
}

#[test]
fn index_entry_without_record_is_corrupt_on_search() {
    let (store, db) = store_with_raw_access();
    let created = db.open_tree(layout::CREATED_INDEX).unwrap();
    created
        .insert(layout::created_key(5, "ghost"), &[] as &[u8])
        .unwrap();
    let everything = ids_skipping(
        store.search(&SearchQuery::default()).unwrap(),
        Some("ghost"),
        "does not exist",
    );
    assert_eq!(everything.len(), 2);
    let descending = SearchQuery {
        descending: true,
        ..SearchQuery::default()
    };
    let everything = ids_skipping(
        store.search(&descending).unwrap(),
        Some("ghost"),
        "does not exist",
    );
    assert_eq!(everything.len(), 2);
    assert_corrupt(store.check_consistency(), None, "names no record");

    let tenants = db.open_tree(layout::TENANT_INDEX).unwrap();
    tenants
        .insert(layout::prefixed_key("acme", "phantom").unwrap(), &[] as &[u8])
        .unwrap();
    let by_tenant = SearchQuery {
        tenant_ids: vec!["acme".into()],
        ..SearchQuery::default()
    };
    let found = ids_skipping(
        store.search(&by_tenant).unwrap(),
        Some("phantom"),
        "does not exist",
    );
    assert!(!found.contains(&"phantom".to_owned()));
}

#[test]
fn index_entry_with_a_wrong_value_is_corrupt_on_search() {
    let (store, db) = store_with_raw_access();
    // Index says record `b` has name "aaa"; the record says "bee".
    let names = db.open_tree(layout::NAME_INDEX).unwrap();
    names.insert(layout::name_key("aaa", "b"), &[] as &[u8]).unwrap();
    let by_name = SearchQuery {
        sort: SortField::Name,
        ..SearchQuery::default()
    };
    // `b` is still found once, through its true entry.
    let found = ids_skipping(
        store.search(&by_name).unwrap(),
        Some("b"),
        "does not match the record",
    );
    assert_eq!(found.iter().filter(|id| *id == "b").count(), 1, "{found:?}");
    assert_corrupt(store.check_consistency(), None, "names no record with that value");
}

#[test]
fn record_missing_from_an_index_fails_the_check() {
    let (store, db) = store_with_raw_access();
    store.check_consistency().expect("consistent before the damage");
    let creators = db.open_tree(layout::CREATOR_INDEX).unwrap();
    let key = layout::prefixed_key(&record("b", "bee", 20).key.created_by, "b").unwrap();
    assert!(creators.remove(key).unwrap().is_some(), "the entry existed");
    assert_corrupt(
        store.check_consistency(),
        None,
        "missing from ak/index/created-by",
    );
}

#[test]
fn malformed_index_key_is_corrupt() {
    let (store, db) = store_with_raw_access();
    let names = db.open_tree(layout::NAME_INDEX).unwrap();
    names.insert(b"no terminator".as_slice(), &[] as &[u8]).unwrap();
    let by_name = SearchQuery {
        sort: SortField::Name,
        ..SearchQuery::default()
    };
    let found = ids_skipping(store.search(&by_name).unwrap(), None, "malformed key");
    assert_eq!(found.len(), 2);
}

#[test]
fn an_undecodable_usage_value_is_replaced_by_the_next_use_and_the_batch_still_commits() {
    use ak_core::usage::{KeyUsage, KeyUsageStore};
    let (store, db) = store_with_raw_access();
    store.insert(&record("c", "sea", 30)).expect("insert c");
    let uses = |time: i64| -> Vec<KeyUsage> {
        ["a", "b", "c"]
            .into_iter()
            .map(|id| KeyUsage {
                key_id: id.into(),
                time,
                ip: Some("10.0.0.1".into()),
            })
            .collect()
    };
    store.record_key_usage(&uses(100)).unwrap();
    // b's value damaged (an unknown format byte): its time, and so its index entry's key, is lost.
    let usage = db.open_tree(layout::USAGE).unwrap();
    usage.insert("b", &[7u8, 1, 2][..]).unwrap();
    assert_corrupt(store.get("b"), Some("b"), "unknown usage value format");
    assert_eq!(store.unreadable_usage_replaced(), 0);

    // An older use than the lost one, even: the damaged value tells nothing, so it is replaced.
    store
        .record_key_usage(&uses(50))
        .expect("one damaged value does not fail the batch");
    assert_eq!(store.get("a").unwrap().unwrap().key.last_used_time, Some(100));
    assert_eq!(store.get("c").unwrap().unwrap().key.last_used_time, Some(100));
    let b = store.get("b").unwrap().unwrap();
    assert_eq!(b.key.last_used_time, Some(50));
    assert_eq!(b.key.last_used_ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(store.unreadable_usage_replaced(), 1);
    store
        .check_consistency()
        .expect("the damaged value's last-used entry went with it");

    // The others keep moving in the same batches.
    store.record_key_usage(&uses(200)).unwrap();
    for id in ["a", "b", "c"] {
        assert_eq!(
            store.get(id).unwrap().unwrap().key.last_used_time,
            Some(200),
            "{id}"
        );
    }
    assert_eq!(store.unreadable_usage_replaced(), 1);
    store.check_consistency().unwrap();
}
