//! Opening stores, the format marker, and the index key encodings.

use std::cmp::Ordering;

use ak_core::{BackendErrorKind, KeyStatus, KeyStore, SearchQuery, SortField};
use ak_sled::{STORE_FORMAT_VERSION, SledKeyStore, layout};
use ak_testkit::cases::search_all;
use ak_testkit::fixtures::record;
use proptest::prelude::*;

#[test]
fn open_creates_missing_directories_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("deeper").join("store");
    let store = SledKeyStore::open(&path).expect("open creates the directories");
    assert_eq!(store.location(), path.display().to_string());
    store.insert(&record("k", "kay", 1)).unwrap();
    drop(store);
    let store = SledKeyStore::open(&path).unwrap();
    assert_eq!(store.get("k").unwrap().unwrap().key.name, "kay");
}

/// The `use_compression` line of sled's `conf` file in `dir`.
fn conf_compression(dir: &std::path::Path) -> String {
    let conf = std::fs::read(dir.join("conf")).expect("sled wrote its conf file");
    String::from_utf8_lossy(&conf)
        .lines()
        .find(|line| line.starts_with("use_compression"))
        .expect("conf names the compression setting")
        .to_owned()
}

#[test]
fn new_stores_are_compressed() {
    const { assert!(ak_sled::COMPRESS_NEW_STORES) };
    let dir = tempfile::tempdir().unwrap();
    let store = SledKeyStore::open(dir.path()).unwrap();
    store.insert(&record("k", "kay", 1)).unwrap();
    drop(store);
    assert_eq!(conf_compression(dir.path()), "use_compression: true");
    let store = SledKeyStore::open(dir.path()).expect("reopens with the recorded setting");
    assert_eq!(store.get("k").unwrap().unwrap().key.name, "kay");
}

#[test]
fn an_uncompressed_store_keeps_its_setting() {
    // A store created before compression was the default: marked, but with sled's default config.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(ak_sled::MARKER_FILE), "ak-sled store, format 1\n").unwrap();
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    let store = SledKeyStore::from_db(db, dir.path()).unwrap();
    store.insert(&record("old", "from before", 1)).unwrap();
    drop(store);
    assert_eq!(conf_compression(dir.path()), "use_compression: false");

    let store = SledKeyStore::open(dir.path()).expect("an uncompressed store still opens");
    assert_eq!(store.get("old").unwrap().unwrap().key.name, "from before");
    store.insert(&record("new", "after", 2)).unwrap();
    drop(store);
    assert_eq!(conf_compression(dir.path()), "use_compression: false");
    let store = SledKeyStore::open(dir.path()).unwrap();
    assert_eq!(store.get("new").unwrap().unwrap().key.name, "after");
}

#[test]
fn a_store_whose_sled_conf_is_lost_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledKeyStore::open(dir.path()).unwrap();
    store.insert(&record("k", "kay", 1)).unwrap();
    drop(store);
    let conf = std::fs::read(dir.path().join("conf")).unwrap();
    let db = std::fs::read(dir.path().join("db")).unwrap();
    for damaged in [None, Some(&b""[..]), Some(&b"segment_size: 524288\n"[..])] {
        match damaged {
            None => std::fs::remove_file(dir.path().join("conf")).unwrap(),
            Some(bytes) => std::fs::write(dir.path().join("conf"), bytes).unwrap(),
        }
        let err = SledKeyStore::open(dir.path()).expect_err("no guessing the compression");
        assert_eq!(err.backend_kind(), Some(BackendErrorKind::Incompatible), "{err}");
        assert!(err.to_string().contains("conf"), "{err}");
        assert_eq!(
            std::fs::read(dir.path().join("db")).unwrap(),
            db,
            "data untouched"
        );
        assert_eq!(
            std::fs::read(dir.path().join("conf")).ok().as_deref(),
            damaged,
            "conf untouched"
        );
    }
    std::fs::write(dir.path().join("conf"), conf).unwrap();
    let store = SledKeyStore::open(dir.path()).expect("opens once conf is restored");
    assert_eq!(store.get("k").unwrap().unwrap().key.name, "kay");
}

#[test]
fn temporary_stores_are_independent_and_debug_is_short() {
    let one = SledKeyStore::temporary().unwrap();
    let two = SledKeyStore::temporary().unwrap();
    one.insert(&record("k", "kay", 1)).unwrap();
    assert!(two.get("k").unwrap().is_none());
    let debug = format!("{one:?}");
    assert!(
        debug.contains("SledKeyStore") && !debug.contains("kay"),
        "{debug}"
    );
    one.check_consistency().unwrap();
}

#[test]
fn a_newer_store_format_is_incompatible() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    drop(SledKeyStore::from_temporary_db(db.clone()).unwrap());
    let meta = db.open_tree(layout::META).unwrap();
    assert_eq!(
        meta.get(layout::FORMAT_KEY).unwrap().as_deref(),
        Some(&[STORE_FORMAT_VERSION][..])
    );
    meta.insert(layout::FORMAT_KEY, &[STORE_FORMAT_VERSION + 1])
        .unwrap();
    let err = SledKeyStore::from_temporary_db(db).expect_err("a newer format is refused");
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Incompatible), "{err}");
}

#[test]
fn from_db_leaves_other_trees_alone() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    db.insert("app-key", "app-value").unwrap();
    let store = SledKeyStore::from_temporary_db(db.clone()).unwrap();
    store.insert(&record("k", "kay", 1)).unwrap();
    store.delete(&["k".into()]).unwrap();
    assert_eq!(db.get("app-key").unwrap().as_deref(), Some(&b"app-value"[..]));
    assert!(search_all(&store, SearchQuery::default()).is_empty());
}

/// Ids and names with 0 bytes, prefixes of one another, and non-ASCII text stay unambiguous and
/// ordered.
#[test]
fn awkward_ids_and_names_search_correctly() {
    let store = SledKeyStore::temporary().unwrap();
    let specs = [
        ("a", "x\0", -5),
        ("a\0", "x", -5),
        ("a\0b", "x\0\u{1}", i64::MIN),
        ("ab", "x\0\0", i64::MAX),
        ("é", "", 0),
        ("\0", "\u{10FFFF}", -1),
    ];
    for (id, name, created) in specs {
        let mut r = record(id, name, created);
        r.key.created_by = name.to_owned();
        r.key.bound_user_id = Some(id.to_owned());
        r.key.key_tenants = vec![ak_core::KeyTenant::new(name, ["role"])];
        store.insert(&r).unwrap();
    }
    store.set_status(&["a\0".into()], KeyStatus::Inactive).unwrap();
    store.check_consistency().unwrap();
    let memory = ak_core::MemoryKeyStore::new();
    for r in search_all(&store, SearchQuery::default()) {
        memory.insert(&r).unwrap();
    }
    assert_eq!(search_all(&memory, SearchQuery::default()).len(), specs.len());
    let mut queries = Vec::new();
    for sort in [SortField::CreatedTime, SortField::Name] {
        for descending in [false, true] {
            for limit in [1, 2, 100] {
                let base = SearchQuery {
                    sort,
                    descending,
                    limit,
                    ..SearchQuery::default()
                };
                queries.push(base.clone());
                queries.push(SearchQuery {
                    status: Some(KeyStatus::Active),
                    ..base.clone()
                });
                for (id, name, _) in specs {
                    queries.push(SearchQuery {
                        tenant_ids: vec![name.into()],
                        ..base.clone()
                    });
                    queries.push(SearchQuery {
                        bound_user_id: Some(id.into()),
                        ..base.clone()
                    });
                    queries.push(SearchQuery {
                        created_by: Some(name.into()),
                        ..base.clone()
                    });
                }
            }
        }
    }
    for query in queries {
        assert_eq!(
            search_all(&store, query.clone()),
            search_all(&memory, query.clone()),
            "{query:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn created_keys_sort_like_time_then_id(a in any::<(i64, String)>(), b in any::<(i64, String)>()) {
        let order = a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1));
        prop_assert_eq!(layout::created_key(a.0, &a.1).cmp(&layout::created_key(b.0, &b.1)), order);
    }

    #[test]
    fn name_keys_sort_like_name_then_id(
        a in ("[a\\x00\\x01\u{FF}é]{0,4}", "[a\\x00\\x01]{0,3}"),
        b in ("[a\\x00\\x01\u{FF}é]{0,4}", "[a\\x00\\x01]{0,3}"),
    ) {
        let order = a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1));
        let key_a = layout::name_key(&a.0, &a.1);
        prop_assert_eq!(key_a.cmp(&layout::name_key(&b.0, &b.1)), order);
        prop_assert_eq!(layout::id_of_name_key(&key_a), Some(a.1.as_bytes()));
    }

    #[test]
    fn prefixed_keys_are_unambiguous(
        a in ("[a\\x00]{0,4}", "[a\\x00]{0,4}"),
        b in ("[a\\x00]{0,4}", "[a\\x00]{0,4}"),
    ) {
        let same = layout::prefixed_key(&a.0, &a.1).unwrap() == layout::prefixed_key(&b.0, &b.1).unwrap();
        prop_assert_eq!(same, a == b);
        let prefix = layout::component(&a.0).unwrap();
        prop_assert!(layout::prefixed_key(&a.0, &a.1).unwrap().starts_with(&prefix));
        if a.0 != b.0 {
            prop_assert!(!layout::prefixed_key(&b.0, &b.1).unwrap().starts_with(&prefix));
        }
    }
}

#[test]
fn time_bytes_order_extremes() {
    let times = [i64::MIN, -1, 0, 1, i64::MAX];
    for pair in times.windows(2) {
        assert_eq!(
            layout::time_bytes(pair[0]).cmp(&layout::time_bytes(pair[1])),
            Ordering::Less
        );
    }
}

/// A snapshot of a directory tree: every path and file content.
fn snapshot(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
                out.push((path, Vec::new()));
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn foreign_directories_and_files_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("home");
    std::fs::create_dir_all(foreign.join("notes")).unwrap();
    std::fs::write(foreign.join("notes/todo.txt"), b"buy milk").unwrap();
    let before = snapshot(&foreign);
    let error = ak_sled::SledKeyStore::open(&foreign).unwrap_err();
    assert_eq!(
        error.backend_kind(),
        Some(ak_core::BackendErrorKind::Incompatible),
        "{error}"
    );
    assert!(error.to_string().contains("home"), "{error}");
    assert_eq!(snapshot(&foreign), before, "nothing was written");

    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"data").unwrap();
    let error = ak_sled::SledKeyStore::open(&file).unwrap_err();
    assert_eq!(
        error.backend_kind(),
        Some(ak_core::BackendErrorKind::Incompatible),
        "{error}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"data");
}

#[test]
fn empty_directories_become_marked_stores() {
    let dir = tempfile::tempdir().unwrap();
    let store = ak_sled::SledKeyStore::open(dir.path()).unwrap();
    assert!(dir.path().join(ak_sled::MARKER_FILE).is_file());
    drop(store);
    ak_sled::SledKeyStore::open(dir.path()).expect("a marked store opens again");
}

#[test]
fn from_db_refuses_a_directory_without_the_data_file() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let err = SledKeyStore::from_db(db, elsewhere.path()).expect_err("not the database's directory");
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Incompatible), "{err}");
}
