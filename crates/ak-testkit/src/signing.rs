//! The conformance suite for [`SigningKeyStore`]: one function per clause of its contract.
//!
//! A backend joins with `ak_testkit::signing_key_conformance!(factory)`, where the factory returns
//! the store's views ([`SigningStores`]) of one storage and, called again after every handle was
//! dropped, re-opens the same storage.

use std::sync::{Arc, Barrier};
use std::thread;

use ak_core::management::ManagementKeyStore;
use ak_core::signing::{SIGNING_KEYS_RECORD_ID, SigningKeyStore};
use ak_core::{KeyStore, MemoryKeyStore, SearchQuery, StoreError};

use crate::fixtures::record;
use crate::management::management_record;

/// The three views of one storage: access keys, management keys and the signing-key set.
#[derive(Debug, Clone)]
pub struct SigningStores {
    /// The access-key view.
    pub keys: Arc<dyn KeyStore>,
    /// The management-key view.
    pub management: Arc<dyn ManagementKeyStore>,
    /// The signing-key view.
    pub signing: Arc<dyn SigningKeyStore>,
}

impl SigningStores {
    /// All views of `store`.
    pub fn of<S: KeyStore + ManagementKeyStore + SigningKeyStore + 'static>(store: Arc<S>) -> Self {
        Self {
            keys: Arc::clone(&store) as Arc<dyn KeyStore>,
            management: Arc::clone(&store) as Arc<dyn ManagementKeyStore>,
            signing: store,
        }
    }
}

/// Opens (or re-opens) one storage, as [`StoreFactory`](crate::StoreFactory) does for access keys.
pub trait SigningStoreFactory {
    /// Opens (or re-opens) the store.
    fn open(&self) -> SigningStores;
}

impl<F: Fn() -> SigningStores> SigningStoreFactory for F {
    fn open(&self) -> SigningStores {
        self()
    }
}

/// A factory over one in-memory store ("re-opening" returns the same store).
pub fn memory_factory() -> impl SigningStoreFactory {
    let stores = SigningStores::of(Arc::new(MemoryKeyStore::new()));
    move || stores.clone()
}

fn is_conflict(result: &Result<u64, StoreError>, expected: u64) -> bool {
    matches!(result, Err(StoreError::VersionConflict { id, expected: e })
        if id == SIGNING_KEYS_RECORD_ID && *e == expected)
}

/// Nothing stored is `Ok(None)`, however often it is asked.
pub fn load_before_any_replace_is_none(factory: &dyn SigningStoreFactory) {
    let store = factory.open().signing;
    assert!(store.load_signing_keys().unwrap().is_none());
    assert!(store.load_signing_keys().unwrap().is_none());
}

/// The first replace (expecting nothing) returns version 1; each later one increments it, and a
/// load returns exactly the last bytes with their version.
pub fn replace_increments_and_load_round_trips(factory: &dyn SigningStoreFactory) {
    let store = factory.open().signing;
    assert_eq!(store.replace_signing_keys(None, b"first").unwrap(), 1);
    let loaded = store.load_signing_keys().unwrap().unwrap();
    assert_eq!((loaded.version, loaded.sealed.as_slice()), (1, &b"first"[..]));
    assert_eq!(store.replace_signing_keys(Some(1), b"second").unwrap(), 2);
    assert_eq!(store.replace_signing_keys(Some(2), b"third").unwrap(), 3);
    let loaded = store.load_signing_keys().unwrap().unwrap();
    assert_eq!((loaded.version, loaded.sealed.as_slice()), (3, &b"third"[..]));
}

/// A replace with the wrong expectation is a `VersionConflict` naming the signing-key record and
/// the caller's expectation, and changes nothing.
pub fn stale_replace_conflicts_and_changes_nothing(factory: &dyn SigningStoreFactory) {
    let store = factory.open().signing;
    // Nothing stored: expecting a version conflicts.
    assert!(is_conflict(&store.replace_signing_keys(Some(1), b"x"), 1));
    assert!(is_conflict(&store.replace_signing_keys(Some(0), b"x"), 0));
    assert!(store.load_signing_keys().unwrap().is_none());

    store.replace_signing_keys(None, b"one").unwrap();
    store.replace_signing_keys(Some(1), b"two").unwrap();
    for expected in [None, Some(0), Some(1), Some(3), Some(u64::MAX)] {
        let result = store.replace_signing_keys(expected, b"stale");
        assert!(
            is_conflict(&result, expected.unwrap_or(0)),
            "{expected:?}: {result:?}"
        );
    }
    let loaded = store.load_signing_keys().unwrap().unwrap();
    assert_eq!((loaded.version, loaded.sealed.as_slice()), (2, &b"two"[..]));
}

/// Empty, every byte value, and 1 MiB all round-trip exactly.
pub fn bytes_round_trip_exactly(factory: &dyn SigningStoreFactory) {
    let store = factory.open().signing;
    let every_byte: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let large: Vec<u8> = (0..1024 * 1024u32)
        .map(|n| n.wrapping_mul(2_654_435_761).to_le_bytes()[2])
        .collect();
    let mut version = None;
    for sealed in [Vec::new(), every_byte, vec![0; 17], large] {
        let new = store.replace_signing_keys(version, &sealed).unwrap();
        let loaded = store.load_signing_keys().unwrap().unwrap();
        assert_eq!(loaded.version, new);
        assert!(
            loaded.sealed == sealed,
            "length {} came back as {}",
            sealed.len(),
            loaded.sealed.len()
        );
        version = Some(new);
    }
}

/// The set and the other records never see each other.
pub fn kept_apart_from_other_records(factory: &dyn SigningStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("signing-keys", "access", 1)).unwrap();
    stores
        .management
        .insert_management_key(&management_record("signing-keys", "m", 1, false))
        .unwrap();
    assert!(stores.signing.load_signing_keys().unwrap().is_none());
    stores.signing.replace_signing_keys(None, b"set").unwrap();
    assert_eq!(
        stores.keys.search(&SearchQuery::default()).unwrap().items.len(),
        1
    );
    assert_eq!(stores.management.list_management_keys().unwrap().len(), 1);
    stores.keys.delete(&["signing-keys".to_owned()]).unwrap();
    assert!(stores.management.delete_management_key("signing-keys").unwrap());
    assert_eq!(
        stores.signing.load_signing_keys().unwrap().unwrap().sealed,
        b"set"
    );
}

/// The last acknowledged set and its version survive a re-open.
pub fn reopen_keeps_the_last_set(factory: &dyn SigningStoreFactory) {
    let stores = factory.open();
    stores.signing.replace_signing_keys(None, b"one").unwrap();
    stores.signing.replace_signing_keys(Some(1), b"two").unwrap();
    drop(stores);
    let stores = factory.open();
    let loaded = stores.signing.load_signing_keys().unwrap().unwrap();
    assert_eq!((loaded.version, loaded.sealed.as_slice()), (2, &b"two"[..]));
    assert_eq!(stores.signing.replace_signing_keys(Some(2), b"three").unwrap(), 3);
}

/// Threads racing to replace one version: exactly one wins, the rest conflict.
pub fn concurrent_replaces_of_one_version(factory: &dyn SigningStoreFactory) {
    const RACERS: usize = 8;
    let store = factory.open().signing;
    for expected in [None, Some(1)] {
        let barrier = Arc::new(Barrier::new(RACERS));
        let results: Vec<Result<u64, StoreError>> = thread::scope(|scope| {
            let handles: Vec<_> = (0..RACERS)
                .map(|n| {
                    let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                    scope.spawn(move || {
                        barrier.wait();
                        store.replace_signing_keys(expected, format!("racer {n}").as_bytes())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<usize> = (0..RACERS).filter(|n| results[*n].is_ok()).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let expected_new = expected.map_or(1, |v| v + 1);
        assert_eq!(*results[winners[0]].as_ref().unwrap(), expected_new);
        assert!(
            results
                .iter()
                .filter(|r| r.is_err())
                .all(|r| is_conflict(r, expected.unwrap_or(0)))
        );
        let loaded = store.load_signing_keys().unwrap().unwrap();
        assert_eq!(loaded.version, expected_new);
        assert_eq!(loaded.sealed, format!("racer {}", winners[0]).as_bytes());
    }
}

/// Writers that load, then replace, retrying on conflict, lose no update: linearizable.
pub fn concurrent_read_modify_write_loses_nothing(factory: &dyn SigningStoreFactory) {
    const WRITERS: usize = 4;
    const ROUNDS: usize = 10;
    let store = factory.open().signing;
    store.replace_signing_keys(None, b"").unwrap();
    thread::scope(|scope| {
        for n in 0..WRITERS {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    loop {
                        let current = store.load_signing_keys().unwrap().unwrap();
                        let mut next = current.sealed.clone();
                        next.push(u8::try_from(n).unwrap());
                        match store.replace_signing_keys(Some(current.version), &next) {
                            Ok(version) => {
                                assert_eq!(version, current.version + 1);
                                break;
                            }
                            Err(StoreError::VersionConflict { .. }) => continue,
                            Err(other) => panic!("{other}"),
                        }
                    }
                }
            });
        }
    });
    let loaded = store.load_signing_keys().unwrap().unwrap();
    assert_eq!(loaded.version, 1 + u64::try_from(WRITERS * ROUNDS).unwrap());
    assert_eq!(loaded.sealed.len(), WRITERS * ROUNDS);
    for n in 0..WRITERS {
        let count = loaded.sealed.iter().filter(|b| usize::from(**b) == n).count();
        assert_eq!(count, ROUNDS, "writer {n}");
    }
}

/// Expands to one `#[test]` per signing-key conformance case, each with a fresh factory.
#[macro_export]
macro_rules! signing_key_conformance {
    ($factory:expr) => {
        $crate::__signing_tests! { $factory;
            load_before_any_replace_is_none,
            replace_increments_and_load_round_trips,
            stale_replace_conflicts_and_changes_nothing,
            bytes_round_trip_exactly,
            kept_apart_from_other_records,
            reopen_keeps_the_last_set,
            concurrent_replaces_of_one_version,
            concurrent_read_modify_write_loses_nothing,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __signing_tests {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let factory = $factory;
                $crate::signing::$case(&factory);
            }
        )*
    };
}
