//! The conformance suite for [`WebhookStore`]: one function per clause of its contract.
//!
//! A backend joins with `ak_testkit::webhook_conformance!(factory)`, where the factory returns
//! the store's views ([`WebhookStores`]) of one storage and, called again after every handle was
//! dropped, re-opens the same storage.

use std::sync::{Arc, Barrier};
use std::thread;

use ak_core::management::ManagementKeyStore;
use ak_core::webhook::{Webhook, WebhookRecord, WebhookStore};
use ak_core::{KeyStore, MemoryKeyStore, SearchQuery, StoreError};

use crate::fixtures::record;
use crate::management::management_record;

/// The views of one storage the webhook cases use: access keys, management keys and webhooks.
#[derive(Debug, Clone)]
pub struct WebhookStores {
    /// The access-key view.
    pub keys: Arc<dyn KeyStore>,
    /// The management-key view.
    pub management: Arc<dyn ManagementKeyStore>,
    /// The webhook view.
    pub webhooks: Arc<dyn WebhookStore>,
}

impl WebhookStores {
    /// All views of `store`.
    pub fn of<S: KeyStore + ManagementKeyStore + WebhookStore + 'static>(store: Arc<S>) -> Self {
        Self {
            keys: Arc::clone(&store) as Arc<dyn KeyStore>,
            management: Arc::clone(&store) as Arc<dyn ManagementKeyStore>,
            webhooks: store,
        }
    }
}

/// Opens (or re-opens) one storage, as [`StoreFactory`](crate::StoreFactory) does for access keys.
pub trait WebhookStoreFactory {
    /// Opens (or re-opens) the store.
    fn open(&self) -> WebhookStores;
}

impl<F: Fn() -> WebhookStores> WebhookStoreFactory for F {
    fn open(&self) -> WebhookStores {
        self()
    }
}

/// A factory over one in-memory store ("re-opening" returns the same store).
pub fn memory_factory() -> impl WebhookStoreFactory {
    let stores = WebhookStores::of(Arc::new(MemoryKeyStore::new()));
    move || stores.clone()
}

/// A webhook record with this id, every field set, and sealed bytes derived from the id.
pub fn webhook_record(id: &str) -> WebhookRecord {
    WebhookRecord {
        webhook: Webhook {
            id: id.to_owned(),
            url: format!("https://hooks.example.com/{id}?q=1"),
            actions: vec!["accesskey.*".into(), "webhook.delivery.failed".into()],
            created_time: 1_700_000_000,
            created_by: "cli:alice".into(),
        },
        sealed_secret: [b"sealed:".as_slice(), id.as_bytes(), &[0, 255, 10]].concat(),
    }
}

/// Nothing stored: get is `Ok(None)`, list is empty, delete is `Ok(false)`.
pub fn get_unknown_is_none(factory: &dyn WebhookStoreFactory) {
    let store = factory.open().webhooks;
    assert!(store.get_webhook("nope").unwrap().is_none());
    assert!(store.list_webhooks().unwrap().is_empty());
    assert!(!store.delete_webhook("nope").unwrap());
}

/// An inserted record comes back from get and list exactly, list ordered by id.
pub fn insert_then_get_and_list(factory: &dyn WebhookStoreFactory) {
    let store = factory.open().webhooks;
    for id in ["whc", "wha", "whb"] {
        store.insert_webhook(&webhook_record(id)).unwrap();
    }
    assert_eq!(store.get_webhook("wha").unwrap(), Some(webhook_record("wha")));
    let listed = store.list_webhooks().unwrap();
    assert_eq!(
        listed,
        vec![
            webhook_record("wha"),
            webhook_record("whb"),
            webhook_record("whc")
        ]
    );
}

/// Every field round-trips: an empty filter, an empty creator, sealed bytes of every value and
/// of 4 KiB, a URL at the length limit.
pub fn fields_round_trip_exactly(factory: &dyn WebhookStoreFactory) {
    let store = factory.open().webhooks;
    let mut bare = webhook_record("wh-bare");
    bare.webhook.actions.clear();
    bare.webhook.created_by.clear();
    bare.sealed_secret.clear();
    let mut big = webhook_record("wh-big");
    big.sealed_secret = (0..4096u32).map(|n| u8::try_from(n % 256).unwrap()).collect();
    big.webhook.url = format!(
        "https://e.co/{}",
        "é".repeat(ak_core::limits::MAX_WEBHOOK_URL_CHARS - 13)
    );
    big.webhook.created_time = -1;
    for record in [&bare, &big] {
        store.insert_webhook(record).unwrap();
        assert_eq!(store.get_webhook(record.id()).unwrap().as_ref(), Some(record));
    }
}

/// A second insert of one id is `AlreadyExists` and changes nothing.
pub fn insert_duplicate_is_already_exists(factory: &dyn WebhookStoreFactory) {
    let store = factory.open().webhooks;
    store.insert_webhook(&webhook_record("wh1")).unwrap();
    let mut other = webhook_record("wh1");
    other.webhook.url = "https://other.example.com/".into();
    other.sealed_secret = b"other".to_vec();
    assert!(matches!(
        store.insert_webhook(&other),
        Err(StoreError::AlreadyExists { id }) if id == "wh1"
    ));
    assert_eq!(store.get_webhook("wh1").unwrap(), Some(webhook_record("wh1")));
    assert_eq!(store.list_webhooks().unwrap().len(), 1);
}

/// Delete removes the record once: `true`, then `false`; get and list no longer see it, and the
/// other records stay.
pub fn delete_removes_once(factory: &dyn WebhookStoreFactory) {
    let store = factory.open().webhooks;
    store.insert_webhook(&webhook_record("wh1")).unwrap();
    store.insert_webhook(&webhook_record("wh2")).unwrap();
    assert!(store.delete_webhook("wh1").unwrap());
    assert!(!store.delete_webhook("wh1").unwrap());
    assert!(store.get_webhook("wh1").unwrap().is_none());
    assert_eq!(store.list_webhooks().unwrap(), vec![webhook_record("wh2")]);
}

/// Webhooks and other records never see each other, even with the same ids.
pub fn kept_apart_from_other_records(factory: &dyn WebhookStoreFactory) {
    let stores = factory.open();
    stores.webhooks.insert_webhook(&webhook_record("same")).unwrap();
    assert!(stores.keys.get("same").unwrap().is_none());
    assert!(stores.management.get_management_key("same").unwrap().is_none());
    assert!(
        stores
            .keys
            .search(&SearchQuery::default())
            .unwrap()
            .items
            .is_empty()
    );
    stores.keys.insert(&record("same", "key", 1)).unwrap();
    stores
        .management
        .insert_management_key(&management_record("same", "mgmt", 1, false))
        .unwrap();
    assert_eq!(
        stores.webhooks.list_webhooks().unwrap(),
        vec![webhook_record("same")]
    );
    assert!(stores.webhooks.delete_webhook("same").unwrap());
    assert!(stores.keys.get("same").unwrap().is_some());
    assert!(stores.management.get_management_key("same").unwrap().is_some());
    assert!(stores.keys.delete(&["same".to_owned()]).is_ok());
    assert!(stores.webhooks.get_webhook("same").unwrap().is_none());
}

/// Inserts and deletes survive a re-open.
pub fn reopen_keeps_everything(factory: &dyn WebhookStoreFactory) {
    {
        let store = factory.open().webhooks;
        for id in ["wha", "whb", "whc"] {
            store.insert_webhook(&webhook_record(id)).unwrap();
        }
        assert!(store.delete_webhook("whb").unwrap());
    }
    let store = factory.open().webhooks;
    assert_eq!(
        store.list_webhooks().unwrap(),
        vec![webhook_record("wha"), webhook_record("whc")]
    );
}

/// Of racing inserts of one id, exactly one succeeds, and its record is the one stored.
pub fn concurrent_inserts_of_one_id(factory: &dyn WebhookStoreFactory) {
    const RACERS: usize = 8;
    let store = factory.open().webhooks;
    let barrier = Arc::new(Barrier::new(RACERS));
    let handles: Vec<_> = (0..RACERS)
        .map(|n| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let mut record = webhook_record("race");
                record.sealed_secret = vec![u8::try_from(n).unwrap()];
                barrier.wait();
                store.insert_webhook(&record).map(|()| record)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1);
    for result in &results {
        if let Err(error) = result {
            assert!(matches!(error, StoreError::AlreadyExists { .. }), "{error:?}");
        }
    }
    assert_eq!(store.get_webhook("race").unwrap().as_ref(), Some(winners[0]));
}

/// Expands to one `#[test]` per webhook conformance case, each with a fresh factory.
#[macro_export]
macro_rules! webhook_conformance {
    ($factory:expr) => {
        $crate::__webhook_tests! { $factory;
            get_unknown_is_none,
            insert_then_get_and_list,
            fields_round_trip_exactly,
            insert_duplicate_is_already_exists,
            delete_removes_once,
            kept_apart_from_other_records,
            reopen_keeps_everything,
            concurrent_inserts_of_one_id,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __webhook_tests {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let factory = $factory;
                $crate::webhook::$case(&factory);
            }
        )*
    };
}
