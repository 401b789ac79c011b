//! The conformance suite for [`ManagementKeyStore`]: one function per clause of its contract,
//! plus [`ManagementKeys`] on top of the store.
//!
//! A backend joins with `ak_testkit::management_key_conformance!(factory)`, where the factory
//! returns both views ([`Stores`]) of one storage and, called again after every handle was
//! dropped, re-opens the same storage.

use std::sync::{Arc, Barrier};
use std::thread;

use ak_core::management::{ManagementKey, ManagementKeyRecord, ManagementKeyStore, ManagementKeys};
use ak_core::{AuthError, KeyManager, KeyStore, ManageError, MemoryKeyStore, SearchQuery, StoreError};

use crate::fixtures::record;

/// The two views of one storage: its access keys and its management keys.
#[derive(Debug, Clone)]
pub struct Stores {
    /// The access-key view.
    pub keys: Arc<dyn KeyStore>,
    /// The management-key view.
    pub management: Arc<dyn ManagementKeyStore>,
}

impl Stores {
    /// Both views of `store`.
    pub fn of<S: KeyStore + ManagementKeyStore + 'static>(store: Arc<S>) -> Self {
        Self {
            keys: Arc::clone(&store) as Arc<dyn KeyStore>,
            management: store,
        }
    }
}

/// Opens (or re-opens) one storage, as [`StoreFactory`](crate::StoreFactory) does for access keys.
pub trait ManagementStoreFactory {
    /// Opens (or re-opens) the store.
    fn open(&self) -> Stores;
}

impl<F: Fn() -> Stores> ManagementStoreFactory for F {
    fn open(&self) -> Stores {
        self()
    }
}

/// A factory over one in-memory store ("re-opening" returns the same store).
pub fn memory_factory() -> impl ManagementStoreFactory {
    let stores = Stores::of(Arc::new(MemoryKeyStore::new()));
    move || stores.clone()
}

/// A record with this id, name and creation time.
pub fn management_record(id: &str, name: &str, created_time: i64, read_only: bool) -> ManagementKeyRecord {
    ManagementKeyRecord {
        key: ManagementKey {
            id: id.to_owned(),
            name: name.to_owned(),
            read_only,
            created_time,
            created_by: format!("creator of {id}"),
        },
        secret_hash: format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ${id}"),
    }
}

fn list_ids(store: &dyn ManagementKeyStore) -> Vec<String> {
    store
        .list_management_keys()
        .unwrap()
        .into_iter()
        .map(|record| record.key.id)
        .collect()
}

/// `get` of an unknown id is `Ok(None)`, whatever the id.
pub fn get_unknown_is_none(factory: &dyn ManagementStoreFactory) {
    let store = factory.open().management;
    for id in ["missing", "", "'; DROP TABLE management_keys; --", "ü\0x"] {
        assert!(store.get_management_key(id).unwrap().is_none(), "{id:?}");
    }
    assert!(store.list_management_keys().unwrap().is_empty());
}

/// Records read back exactly as written, and list is ordered by id.
pub fn insert_then_get_and_list(factory: &dyn ManagementStoreFactory) {
    let store = factory.open().management;
    let records = [
        management_record("m-b", "Ünïcødé ✓ name", 20, true),
        management_record("m-a", "first", 30, false),
        management_record("m-c", "", 10, false),
    ];
    for record in &records {
        store.insert_management_key(record).unwrap();
    }
    for record in &records {
        assert_eq!(
            store.get_management_key(record.id()).unwrap().as_ref(),
            Some(record)
        );
    }
    assert_eq!(list_ids(store.as_ref()), ["m-a", "m-b", "m-c"]);
    let listed = store.list_management_keys().unwrap();
    assert_eq!(listed[1], records[0]);
}

/// A second insert of an id fails with `AlreadyExists` and changes nothing.
pub fn insert_duplicate_is_already_exists(factory: &dyn ManagementStoreFactory) {
    let store = factory.open().management;
    let first = management_record("dup", "first", 1, false);
    store.insert_management_key(&first).unwrap();
    let second = management_record("dup", "second", 2, true);
    assert!(matches!(
        store.insert_management_key(&second),
        Err(StoreError::AlreadyExists { id }) if id == "dup"
    ));
    assert_eq!(store.get_management_key("dup").unwrap(), Some(first));
}

/// Delete reports whether it removed a record; the record is gone at once.
pub fn delete_removes_once(factory: &dyn ManagementStoreFactory) {
    let store = factory.open().management;
    store
        .insert_management_key(&management_record("gone", "g", 1, false))
        .unwrap();
    store
        .insert_management_key(&management_record("kept", "k", 1, false))
        .unwrap();
    assert!(store.delete_management_key("gone").unwrap());
    assert!(store.get_management_key("gone").unwrap().is_none());
    assert!(!store.delete_management_key("gone").unwrap());
    assert!(!store.delete_management_key("never").unwrap());
    assert_eq!(list_ids(store.as_ref()), ["kept"]);
}

/// Access keys and management keys never see each other, even with the same id.
pub fn kept_apart_from_access_keys(factory: &dyn ManagementStoreFactory) {
    let stores = factory.open();
    stores
        .management
        .insert_management_key(&management_record("same", "management", 1, false))
        .unwrap();
    assert!(stores.keys.get("same").unwrap().is_none());
    assert!(
        stores
            .keys
            .search(&SearchQuery::default())
            .unwrap()
            .items
            .is_empty()
    );
    stores.keys.insert(&record("same", "access", 2)).unwrap();
    stores.keys.insert(&record("other", "access", 3)).unwrap();
    assert_eq!(stores.keys.get("same").unwrap().unwrap().key.name, "access");
    assert_eq!(
        stores
            .management
            .get_management_key("same")
            .unwrap()
            .unwrap()
            .key
            .name,
        "management"
    );
    assert_eq!(list_ids(stores.management.as_ref()), ["same"]);
    assert!(stores.management.get_management_key("other").unwrap().is_none());
    // Deleting one kind leaves the other.
    stores.keys.delete(&["same".to_owned()]).unwrap();
    assert!(stores.management.get_management_key("same").unwrap().is_some());
    assert!(stores.management.delete_management_key("same").unwrap());
    assert!(stores.keys.get("other").unwrap().is_some());
}

/// Everything acknowledged, deletions included, survives a re-open.
pub fn reopen_keeps_everything(factory: &dyn ManagementStoreFactory) {
    let stores = factory.open();
    for id in ["a", "b", "c"] {
        stores
            .management
            .insert_management_key(&management_record(id, id, 5, id == "b"))
            .unwrap();
    }
    assert!(stores.management.delete_management_key("c").unwrap());
    let before = stores.management.list_management_keys().unwrap();
    drop(stores);
    let stores = factory.open();
    assert_eq!(stores.management.list_management_keys().unwrap(), before);
    assert!(stores.management.get_management_key("c").unwrap().is_none());
}

/// Threads racing to insert one id: exactly one wins, the rest get `AlreadyExists`.
pub fn concurrent_inserts_of_one_id(factory: &dyn ManagementStoreFactory) {
    const RACERS: usize = 8;
    let store = factory.open().management;
    let barrier = Arc::new(Barrier::new(RACERS));
    let results: Vec<Result<(), StoreError>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|n| {
                let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    store.insert_management_key(&management_record("race", &format!("r{n}"), 1, false))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, StoreError::AlreadyExists { .. }))
    );
    assert_eq!(list_ids(store.as_ref()), ["race"]);
}

/// The manager: create, authenticate, read-only flag, and a deletion seen by another manager on
/// the same store at its next call.
pub fn create_authenticate_delete(factory: &dyn ManagementStoreFactory) {
    let stores = factory.open();
    let admin = ManagementKeys::new(Arc::clone(&stores.management)).unwrap();
    let other = ManagementKeys::new(Arc::clone(&stores.management)).unwrap();
    let full = admin.create("full", false, "cli:alice").unwrap();
    let reader = admin.create("reader", true, "").unwrap();
    let full_text = full.cleartext.expose_secret().to_owned();
    assert!(!full_text.contains(':'));
    assert!(!other.authenticate(&full_text).unwrap().read_only);
    assert!(
        other
            .authenticate(reader.cleartext.expose_secret())
            .unwrap()
            .read_only
    );
    assert_eq!(other.authenticate(&full_text).unwrap(), full.key);
    let mut listed = admin.list().unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(listed, [full.key.clone(), reader.key.clone()]);

    admin.delete(&full.key.id).unwrap();
    assert!(matches!(
        other.authenticate(&full_text),
        Err(AuthError::InvalidKey)
    ));
    assert!(matches!(
        admin.delete(&full.key.id),
        Err(ManageError::NotFound { .. })
    ));
    assert!(other.authenticate(reader.cleartext.expose_secret()).is_ok());
}

/// Malformed, unknown and wrong keys are all `InvalidKey`; management keys never authenticate as
/// access keys, nor access keys as management keys, on the same store.
pub fn wrong_keys_and_kinds_never_authenticate(factory: &dyn ManagementStoreFactory) {
    let stores = factory.open();
    let management = ManagementKeys::new(Arc::clone(&stores.management)).unwrap();
    let access = KeyManager::builder(Arc::clone(&stores.keys)).build().unwrap();
    let created = management.create("m", false, "").unwrap();
    let text = created.cleartext.expose_secret();
    let access_key = access.create(ak_core::CreateKey::named("a")).unwrap();
    assert!(matches!(
        access.authenticate(text, None),
        Err(AuthError::InvalidKey)
    ));
    assert!(matches!(
        management.authenticate(access_key.cleartext.expose_secret()),
        Err(AuthError::InvalidKey)
    ));
    let deleted = management.create("d", false, "").unwrap();
    management.delete(&deleted.key.id).unwrap();
    let mut wrong_secret = text.to_owned();
    wrong_secret.replace_range(40..41, if &text[40..41] == "a" { "b" } else { "a" });
    for bad in [
        "",
        ":",
        "akmgmt-",
        &wrong_secret,
        deleted.cleartext.expose_secret(),
        &"x".repeat(10_000),
    ] {
        assert!(
            matches!(management.authenticate(bad), Err(AuthError::InvalidKey)),
            "{bad:?}"
        );
    }
    // Management keys are never listed by access-key search.
    let found = access.search(&SearchQuery::default()).unwrap().items;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, access_key.key.id);
}

/// A deleted management key stays deleted after a re-open.
pub fn revocation_survives_reopen(factory: &dyn ManagementStoreFactory) {
    let stores = factory.open();
    let keys = ManagementKeys::new(Arc::clone(&stores.management)).unwrap();
    let created = keys.create("m", false, "").unwrap();
    let text = created.cleartext.expose_secret().to_owned();
    keys.delete(&created.key.id).unwrap();
    drop((keys, stores));
    let keys = ManagementKeys::new(factory.open().management).unwrap();
    assert!(keys.authenticate(&text).is_err());
    assert!(keys.list().unwrap().is_empty());
}

/// Expands to one `#[test]` per management-key conformance case, each with a fresh factory.
#[macro_export]
macro_rules! management_key_conformance {
    ($factory:expr) => {
        $crate::__management_tests! { $factory;
            get_unknown_is_none,
            insert_then_get_and_list,
            insert_duplicate_is_already_exists,
            delete_removes_once,
            kept_apart_from_access_keys,
            reopen_keeps_everything,
            concurrent_inserts_of_one_id,
            create_authenticate_delete,
            wrong_keys_and_kinds_never_authenticate,
            revocation_survives_reopen,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __management_tests {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let factory = $factory;
                $crate::management::$case(&factory);
            }
        )*
    };
}
