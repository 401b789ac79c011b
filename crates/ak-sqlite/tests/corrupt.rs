//! A record damaged behind the store's back (here: claims nested deeper than serde_json reads, as
//! a store written before the nesting limit could hold, and a body that is not JSON at all) never
//! makes a search of the other keys fail, is reported by id when loaded, and can be deleted.

use ak_core::{KeyStore, SearchQuery, StoreError};
use ak_sqlite::SqliteKeyStore;
use ak_testkit::fixtures::{full_record, record};

/// Replaces the stored body of `id` with raw SQL, as damage or an older writer would.
fn overwrite_body(path: &std::path::Path, id: &str, body: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let changed = conn
        .execute("UPDATE keys SET body = ?1 WHERE id = ?2", [body, id])
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn a_corrupt_record_is_skipped_by_search_reported_on_load_and_deletable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let store = SqliteKeyStore::open(&path).unwrap();
    store.insert(&full_record("deep")).unwrap();
    store.insert(&full_record("garbage")).unwrap();
    store.insert(&record("fine", "fine", 30)).unwrap();

    // A valid body, but with custom claims 200 levels deep: serde_json refuses it.
    let mut body: serde_json::Value = serde_json::to_value(store.get("deep").unwrap().unwrap()).unwrap();
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    body["key"]["customClaims"] = serde_json::json!({ "x": "placeholder" });
    let text = body.to_string().replace("\"placeholder\"", &deep);
    overwrite_body(&path, "deep", &text);
    overwrite_body(&path, "garbage", "not json");

    for id in ["deep", "garbage"] {
        match store.get(id) {
            Err(StoreError::Corrupt { id: Some(named), .. }) => assert_eq!(named, id),
            other => panic!("expected Corrupt naming {id}, got {other:?}"),
        }
    }
    let page = store.search(&SearchQuery::default()).unwrap();
    let found: Vec<_> = page.items.iter().map(|record| record.key.id.as_str()).collect();
    assert_eq!(found, ["fine"]);
    let mut skipped: Vec<_> = page.skipped.iter().map(|skip| skip.id.clone().unwrap()).collect();
    skipped.sort();
    assert_eq!(skipped, ["deep", "garbage"]);
    assert!(
        page.skipped
            .iter()
            .all(|skip| !skip.reason.contains("placeholder") && !skip.reason.contains("$argon2")),
        "a skip names the damage, never the record's content: {:?}",
        page.skipped
    );

    store
        .delete(&["deep".into(), "garbage".into()])
        .expect("corrupt records can be deleted");
    let page = store.search(&SearchQuery::default()).unwrap();
    assert!(page.skipped.is_empty());
    assert_eq!(page.items.len(), 1);
}
