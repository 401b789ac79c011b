//! The conformance suite for [`AuditEventStore`] and the [`AuditRecorder`] over it: one function
//! per clause.
//!
//! A backend joins with `ak_testkit::audit_event_conformance!(factory)`, where the factory returns
//! the store's views ([`AuditStores`]) of one storage and, called again after every handle was
//! dropped, re-opens the same storage.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ak_core::audit::{
    AuditConfig, AuditEvent, AuditEventStore, AuditQuery, AuditRecorder, Outcome, actions, reasons,
};
use ak_core::{Cursor, KeyStore, ManualClock, MemoryKeyStore, SearchQuery};
use serde_json::json;

use crate::fixtures::record;

/// The views of one storage the audit cases use: access keys and audit events.
#[derive(Debug, Clone)]
pub struct AuditStores {
    /// The access-key view.
    pub keys: Arc<dyn KeyStore>,
    /// The audit-event view.
    pub audit: Arc<dyn AuditEventStore>,
}

impl AuditStores {
    /// Both views of `store`.
    pub fn of<S: KeyStore + AuditEventStore + 'static>(store: Arc<S>) -> Self {
        Self {
            keys: Arc::clone(&store) as Arc<dyn KeyStore>,
            audit: store,
        }
    }
}

/// Opens (or re-opens) one storage, as [`StoreFactory`](crate::StoreFactory) does for access keys.
pub trait AuditStoreFactory {
    /// Opens (or re-opens) the store.
    fn open(&self) -> AuditStores;
}

impl<F: Fn() -> AuditStores> AuditStoreFactory for F {
    fn open(&self) -> AuditStores {
        self()
    }
}

/// A factory over one in-memory store ("re-opening" returns the same store).
pub fn memory_factory() -> impl AuditStoreFactory {
    let stores = AuditStores::of(Arc::new(MemoryKeyStore::new()));
    move || stores.clone()
}

/// The time of the first corpus event (Unix ms).
pub const T0: i64 = 1_700_000_000_000;

/// A deterministic event: id `ev{n:03}`, two events per second from [`T0`], actions, keys,
/// actors, addresses and outcomes cycling so that every filter splits the corpus.
pub fn corpus_event(n: usize) -> AuditEvent {
    const ACTIONS: [&str; 5] = [
        actions::ACCESS_KEY_CREATE,
        actions::ACCESS_KEY_EXCHANGE,
        actions::ACCESS_KEY_EXCHANGE_FAILED,
        actions::ACCESS_KEY_DELETE,
        "app.deploy",
    ];
    let step = i64::try_from(n / 2).unwrap();
    let key = format!("K{}", n % 4);
    let mut event = AuditEvent::new(
        ACTIONS[n % 5],
        ["cli:alice", "M1", key.as_str()][n % 3],
        T0 + step * 1000,
    );
    event.id = format!("ev{n:03}");
    event.key_ids = if n.is_multiple_of(10) {
        vec![key, "K9".into()]
    } else {
        vec![key]
    };
    event.client_address = (!n.is_multiple_of(3)).then(|| format!("10.0.0.{}", n % 3));
    if event.action == actions::ACCESS_KEY_EXCHANGE_FAILED {
        event.outcome = Outcome::Failure;
        event.reason = Some(
            if n.is_multiple_of(2) {
                reasons::IP_DENIED
            } else {
                reasons::EXPIRED
            }
            .into(),
        );
    }
    if n % 5 == 4 {
        event.data.insert("note".into(), json!(format!("Deploy #{n}")));
        event.tenants = vec!["acme".into()];
    }
    event
}

/// The first `count` corpus events, appended in two batches, in an order that is not time order.
pub fn append_corpus(store: &dyn AuditEventStore, count: usize) -> Vec<AuditEvent> {
    let events: Vec<AuditEvent> = (0..count).map(corpus_event).collect();
    let (odd, even): (Vec<_>, Vec<_>) = events
        .iter()
        .cloned()
        .partition(|event| event.id.ends_with(['1', '3', '5', '7', '9']));
    store.append_audit_events(&odd).unwrap();
    store.append_audit_events(&even).unwrap();
    events
}

/// Every result of `query`, through pages of at most `page_size`, checking each page's size and
/// that a next cursor comes exactly when more results follow.
pub fn search_all(store: &dyn AuditEventStore, query: &AuditQuery, page_size: u32) -> Vec<AuditEvent> {
    let mut query = AuditQuery {
        limit: page_size,
        cursor: None,
        ..query.clone()
    };
    let mut all = Vec::new();
    loop {
        let page = store.search_audit_events(&query).unwrap();
        assert!(page.items.len() <= usize::try_from(page_size).unwrap());
        assert!(page.skipped.is_empty(), "{:?}", page.skipped);
        all.extend(page.items.iter().cloned());
        match page.next_cursor {
            Some(cursor) => {
                assert_eq!(
                    page.items.len(),
                    usize::try_from(page_size).unwrap(),
                    "a short page with a cursor"
                );
                query.cursor = Some(cursor);
            }
            None => return all,
        }
        assert!(all.len() < 1_000_000, "paging does not end");
    }
}

/// What `query` must return from `events`: the matches, newest first, ties by id descending.
pub fn expected(events: &[AuditEvent], query: &AuditQuery) -> Vec<AuditEvent> {
    let mut matching: Vec<AuditEvent> = events
        .iter()
        .filter(|event| query.matches(event))
        .cloned()
        .collect();
    matching.sort_by(|a, b| (b.occurred, &b.id).cmp(&(a.occurred, &a.id)));
    matching
}

/// Checks that `query` returns exactly [`expected`] (in pages of 1, 3 and 1000) and returns it.
fn check(store: &dyn AuditEventStore, events: &[AuditEvent], query: &AuditQuery) -> Vec<AuditEvent> {
    let want = expected(events, query);
    for page_size in [1, 3, 1000] {
        let got = search_all(store, query, page_size);
        let ids = |list: &[AuditEvent]| list.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&want), "{query:?} in pages of {page_size}");
        assert_eq!(got, want);
    }
    want
}

fn ids(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|event| event.id.as_str()).collect()
}

/// An empty trail has no events, whatever the query.
pub fn search_of_an_empty_trail_is_empty(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let page = store.search_audit_events(&AuditQuery::default()).unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_none() && page.skipped.is_empty());
    assert_eq!(store.prune_audit_events(i64::MAX, 0).unwrap(), 0);
}

/// Every field of an event comes back exactly, including non-ASCII text and nested data.
pub fn append_then_search_round_trips_every_field(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let mut full = AuditEvent::new("app.ünïcødé ✓", "cli:bøb", T0 + 7)
        .with_keys(["K1", "K2"])
        .with_client(Some("2001:db8::1".into()))
        .failed(reasons::RATE_LIMITED)
        .with_data(
            "nested",
            json!({"list": [1, 2.5, "three", null, {"deep": true}], "quote": "it's \"x\""}),
        )
        .with_data("n", -3);
    full.tenants = vec!["acme".into(), "globex".into()];
    let bare = AuditEvent::new(actions::SIGNING_KEY_ROTATE, "", T0 - 5);
    store.append_audit_events(&[full.clone(), bare.clone()]).unwrap();
    let page = store.search_audit_events(&AuditQuery::default()).unwrap();
    assert_eq!(page.items, vec![full, bare]);
}

/// Newest first: by time descending, ties by id descending, whatever the append order.
pub fn search_is_newest_first_with_ties_by_id(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 20);
    let got = check(store.as_ref(), &events, &AuditQuery::default());
    assert_eq!(got.len(), 20);
    assert_eq!(ids(&got[..4]), ["ev019", "ev018", "ev017", "ev016"]);
    assert_eq!(got[19].id, "ev000");
    // A late append of an old event lands in its place, not at the top.
    let mut late = corpus_event(100);
    late.occurred = T0 + 2500;
    store.append_audit_events(std::slice::from_ref(&late)).unwrap();
    let got = search_all(store.as_ref(), &AuditQuery::default(), 1000);
    let at = got.iter().position(|event| event.id == late.id).unwrap();
    assert_eq!(got[at - 1].occurred, T0 + 3000);
    assert_eq!(got[at + 1].occurred, T0 + 2000);
}

/// Paging visits every event once; the last page has no cursor, even when it is full.
pub fn paging_visits_every_event_once(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 8);
    let first = store
        .search_audit_events(&AuditQuery {
            limit: 4,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&first.items), ["ev007", "ev006", "ev005", "ev004"]);
    let second = store
        .search_audit_events(&AuditQuery {
            limit: 4,
            cursor: first.next_cursor.clone(),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&second.items), ["ev003", "ev002", "ev001", "ev000"]);
    assert!(second.next_cursor.is_none());
    // A cursor survives appends: newer events do not appear in later pages, older ones do.
    let mut newer = corpus_event(200);
    newer.occurred = T0 + 1_000_000;
    let mut older = corpus_event(201);
    older.occurred = T0 - 1;
    store.append_audit_events(&[newer, older]).unwrap();
    let rest = store
        .search_audit_events(&AuditQuery {
            limit: 100,
            cursor: first.next_cursor,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&rest.items), ["ev003", "ev002", "ev001", "ev000", "ev201"]);
    check(
        store.as_ref(),
        &events,
        &AuditQuery {
            to: Some(T0 + 100_000),
            from: Some(T0),
            ..AuditQuery::default()
        },
    );
}

/// A cursor that is not one the store issued matches nothing, and the query does not validate.
pub fn invalid_cursor_matches_nothing(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    append_corpus(store.as_ref(), 5);
    for text in ["", "not base64 !", "eyJ4IjoxfQ", "e30"] {
        let query = AuditQuery {
            cursor: Some(Cursor::from_string(text)),
            ..AuditQuery::default()
        };
        assert!(query.validate().is_err(), "{text}");
        assert!(
            store.search_audit_events(&query).unwrap().items.is_empty(),
            "{text}"
        );
    }
}

/// Appending an event whose id is stored changes nothing: the stored one stays.
pub fn append_is_idempotent_by_id(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 6);
    let mut changed = events[2].clone();
    changed.action = "app.changed".into();
    store.append_audit_events(&events).unwrap();
    store.append_audit_events(&[changed, corpus_event(6)]).unwrap();
    let got = search_all(store.as_ref(), &AuditQuery::default(), 1000);
    assert_eq!(got.len(), 7);
    assert_eq!(got.iter().find(|event| event.id == "ev002").unwrap(), &events[2]);
}

/// Key ids: events naming any listed key (events may name several).
pub fn filter_by_key_id(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    let one = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            key_ids: vec!["K1".into()],
            ..AuditQuery::default()
        },
    );
    assert_eq!(one.len(), 10);
    let second_key = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            key_ids: vec!["K9".into()],
            ..AuditQuery::default()
        },
    );
    assert_eq!(ids(&second_key), ["ev030", "ev020", "ev010", "ev000"]);
    let two = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            key_ids: vec!["K1".into(), "K9".into()],
            ..AuditQuery::default()
        },
    );
    assert_eq!(two.len(), 14);
    let none = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            key_ids: vec!["K".into()],
            ..AuditQuery::default()
        },
    );
    assert!(none.is_empty());
}

/// Actions: included ones, excluded ones, and both together.
pub fn filter_by_actions_included_and_excluded(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    let exchanges = vec![
        actions::ACCESS_KEY_EXCHANGE.to_owned(),
        actions::ACCESS_KEY_EXCHANGE_FAILED.to_owned(),
    ];
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            actions: exchanges.clone(),
            ..AuditQuery::default()
        },
    );
    assert_eq!(got.len(), 16);
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            excluded_actions: exchanges.clone(),
            ..AuditQuery::default()
        },
    );
    assert_eq!(got.len(), 24);
    assert!(
        got.iter()
            .all(|event| !event.action.starts_with("accesskey.exchange"))
    );
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            actions: exchanges,
            excluded_actions: vec![actions::ACCESS_KEY_EXCHANGE.to_owned()],
            ..AuditQuery::default()
        },
    );
    assert_eq!(got.len(), 8);
    // An action is matched whole, not as a prefix.
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            actions: vec!["accesskey".into()],
            ..AuditQuery::default()
        },
    );
    assert!(got.is_empty());
}

/// Actor: exact match.
pub fn filter_by_actor(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            actor: Some("M1".into()),
            ..AuditQuery::default()
        },
    );
    assert_eq!(got.len(), 13);
    assert!(
        check(
            store.as_ref(),
            &events,
            &AuditQuery {
                actor: Some("m1".into()),
                ..AuditQuery::default()
            }
        )
        .is_empty()
    );
}

/// Client address: any of the listed; events without an address never match.
pub fn filter_by_client_address(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            client_addresses: vec!["10.0.0.1".into()],
            ..AuditQuery::default()
        },
    );
    assert_eq!(got.len(), 13);
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            client_addresses: vec!["10.0.0.1".into(), "10.0.0.2".into()],
            ..AuditQuery::default()
        },
    );
    assert_eq!(got.len(), 26);
}

/// Outcome: successes or failures.
pub fn filter_by_outcome(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    let failures = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            outcome: Some(Outcome::Failure),
            ..AuditQuery::default()
        },
    );
    assert_eq!(failures.len(), 8);
    assert!(failures.iter().all(|event| event.reason.is_some()));
    let successes = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            outcome: Some(Outcome::Success),
            ..AuditQuery::default()
        },
    );
    assert_eq!(successes.len(), 32);
}

/// Free text: in the action, actor, key ids, address, reason, tenants or data, ignoring ASCII case.
pub fn filter_by_text(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    for (text, count) in [
        ("DEPLOY #1", 2),
        ("ip-denied", 4),
        ("ACME", 8),
        ("cli:ALICE", 14),
        ("10.0.0.2", 13),
        ("nothing like it", 0),
    ] {
        let got = check(
            store.as_ref(),
            &events,
            &AuditQuery {
                text: Some(text.into()),
                ..AuditQuery::default()
            },
        );
        assert_eq!(got.len(), count, "{text}");
    }
}

/// Time range: `from` and `to` are both inclusive, in Unix ms.
pub fn filter_by_time_range(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            from: Some(T0 + 5000),
            to: Some(T0 + 7000),
            ..AuditQuery::default()
        },
    );
    assert_eq!(ids(&got), ["ev015", "ev014", "ev013", "ev012", "ev011", "ev010"]);
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            from: Some(T0 + 19_000),
            ..AuditQuery::default()
        },
    );
    assert_eq!(ids(&got), ["ev039", "ev038"]);
    let got = check(
        store.as_ref(),
        &events,
        &AuditQuery {
            to: Some(T0 + 999),
            ..AuditQuery::default()
        },
    );
    assert_eq!(ids(&got), ["ev001", "ev000"]);
    assert!(
        check(
            store.as_ref(),
            &events,
            &AuditQuery {
                from: Some(T0 + 2000),
                to: Some(T0 + 1000),
                ..AuditQuery::default()
            }
        )
        .is_empty()
    );
}

/// All filters together narrow to their intersection.
pub fn filters_combine(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    let query = AuditQuery {
        key_ids: vec!["K0".into(), "K2".into()],
        actions: vec![
            actions::ACCESS_KEY_EXCHANGE_FAILED.into(),
            actions::ACCESS_KEY_CREATE.into(),
        ],
        outcome: Some(Outcome::Failure),
        from: Some(T0 + 1000),
        ..AuditQuery::default()
    };
    let got = check(store.as_ref(), &events, &query);
    assert!(!got.is_empty() && got.len() < 8, "{}", got.len());
    let query = AuditQuery {
        actor: Some("cli:alice".into()),
        client_addresses: vec!["10.0.0.1".into()],
        text: Some("k".into()),
        ..AuditQuery::default()
    };
    check(store.as_ref(), &events, &query);
}

/// Pruning by age removes exactly the events before the cut, and reports how many.
pub fn prune_by_age(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    append_corpus(store.as_ref(), 40);
    assert_eq!(store.prune_audit_events(T0 + 10_000, u64::MAX).unwrap(), 20);
    let left = search_all(store.as_ref(), &AuditQuery::default(), 1000);
    assert_eq!(left.len(), 20);
    assert!(left.iter().all(|event| event.occurred >= T0 + 10_000));
    assert_eq!(store.prune_audit_events(T0 + 10_000, u64::MAX).unwrap(), 0);
    assert_eq!(store.prune_audit_events(i64::MIN, u64::MAX).unwrap(), 0);
    // Key-id searches agree after pruning (an index must lose the entries too).
    let got = search_all(
        store.as_ref(),
        &AuditQuery {
            key_ids: vec!["K9".into()],
            ..AuditQuery::default()
        },
        10,
    );
    assert_eq!(ids(&got), ["ev030", "ev020"]);
}

/// Pruning by count keeps the newest `max_events` (ties broken as in the search order).
pub fn prune_by_count(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    let events = append_corpus(store.as_ref(), 40);
    assert_eq!(store.prune_audit_events(i64::MIN, 15).unwrap(), 25);
    let left = search_all(store.as_ref(), &AuditQuery::default(), 1000);
    assert_eq!(left, expected(&events, &AuditQuery::default())[..15]);
    assert_eq!(store.prune_audit_events(i64::MIN, 15).unwrap(), 0);
    assert_eq!(store.prune_audit_events(T0 + 15_000, 100).unwrap(), 5);
    assert_eq!(store.prune_audit_events(i64::MIN, 0).unwrap(), 10);
    assert!(search_all(store.as_ref(), &AuditQuery::default(), 10).is_empty());
}

/// Appended events survive a re-open.
pub fn reopen_keeps_events(factory: &dyn AuditStoreFactory) {
    let stores = factory.open();
    let events = append_corpus(stores.audit.as_ref(), 12);
    drop(stores);
    let stores = factory.open();
    check(stores.audit.as_ref(), &events, &AuditQuery::default());
    check(
        stores.audit.as_ref(),
        &events,
        &AuditQuery {
            key_ids: vec!["K3".into()],
            ..AuditQuery::default()
        },
    );
}

/// Events and key records never see each other.
pub fn kept_apart_from_key_records(factory: &dyn AuditStoreFactory) {
    let stores = factory.open();
    stores.keys.insert(&record("K1", "k", 1)).unwrap();
    let events = append_corpus(stores.audit.as_ref(), 10);
    assert_eq!(
        stores.keys.search(&SearchQuery::default()).unwrap().items.len(),
        1
    );
    stores.keys.delete(&["K1".to_owned()]).unwrap();
    check(
        stores.audit.as_ref(),
        &events,
        &AuditQuery {
            key_ids: vec!["K1".into()],
            ..AuditQuery::default()
        },
    );
}

/// Threads appending at once lose nothing.
pub fn concurrent_appends_lose_nothing(factory: &dyn AuditStoreFactory) {
    const THREADS: usize = 4;
    const BATCHES: usize = 10;
    let store = factory.open().audit;
    thread::scope(|scope| {
        for t in 0..THREADS {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for b in 0..BATCHES {
                    let batch: Vec<AuditEvent> = (0..5)
                        .map(|n| corpus_event(((t * BATCHES) + b) * 5 + n))
                        .collect();
                    store.append_audit_events(&batch).unwrap();
                }
            });
        }
    });
    let all: Vec<AuditEvent> = (0..THREADS * BATCHES * 5).map(corpus_event).collect();
    check(store.as_ref(), &all, &AuditQuery::default());
}

/// A recorder over the store: a clean shutdown (drop) writes every recorded event.
pub fn recorder_clean_shutdown_loses_nothing(factory: &dyn AuditStoreFactory) {
    let stores = factory.open();
    let config = AuditConfig {
        flush_interval: Duration::from_secs(3600),
        queue_capacity: 100_000,
        ..AuditConfig::default()
    };
    let recorder = AuditRecorder::with_config(
        Arc::clone(&stores.audit),
        config,
        Arc::new(ManualClock::new(1_700_000_000)),
    );
    let events: Vec<AuditEvent> = (0..3000).map(corpus_event).collect();
    thread::scope(|scope| {
        for chunk in events.chunks(1000) {
            let recorder = &recorder;
            scope.spawn(move || {
                for event in chunk {
                    assert!(recorder.record(event.clone()));
                }
            });
        }
    });
    drop(recorder);
    drop(stores);
    let stores = factory.open();
    let got = search_all(stores.audit.as_ref(), &AuditQuery::default(), 1000);
    assert_eq!(got.len(), 3000);
    assert_eq!(got, expected(&events, &AuditQuery::default()));
}

/// A recorder writes on its own within its flush interval, and prunes by retention and count.
pub fn recorder_flushes_and_prunes_on_its_own(factory: &dyn AuditStoreFactory) {
    let store = factory.open().audit;
    // Old events, from before the retention window of the recorder's clock.
    store
        .append_audit_events(&(0..10).map(corpus_event).collect::<Vec<_>>())
        .unwrap();
    let now_secs = (T0 / 1000) + 40 * 24 * 3600;
    let config = AuditConfig {
        flush_interval: Duration::from_millis(20),
        max_events: 5,
        ..AuditConfig::default()
    };
    let recorder =
        AuditRecorder::with_config(Arc::clone(&store), config, Arc::new(ManualClock::new(now_secs)));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !search_all(store.as_ref(), &AuditQuery::default(), 100).is_empty() {
        assert!(Instant::now() < deadline, "the writer never pruned");
        thread::sleep(Duration::from_millis(10));
    }
    let fresh = AuditEvent::new(actions::ACCESS_KEY_CREATE, "cli:alice", now_secs * 1000);
    assert!(recorder.record(fresh.clone()));
    while search_all(store.as_ref(), &AuditQuery::default(), 100).is_empty() {
        assert!(Instant::now() < deadline, "the writer never flushed");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        search_all(store.as_ref(), &AuditQuery::default(), 100),
        vec![fresh]
    );
    assert_eq!(recorder.dropped(), 0);
}

/// Expands to one `#[test]` per audit conformance case, each with a fresh factory.
#[macro_export]
macro_rules! audit_event_conformance {
    ($factory:expr) => {
        $crate::__audit_tests! { $factory;
            search_of_an_empty_trail_is_empty,
            append_then_search_round_trips_every_field,
            search_is_newest_first_with_ties_by_id,
            paging_visits_every_event_once,
            invalid_cursor_matches_nothing,
            append_is_idempotent_by_id,
            filter_by_key_id,
            filter_by_actions_included_and_excluded,
            filter_by_actor,
            filter_by_client_address,
            filter_by_outcome,
            filter_by_text,
            filter_by_time_range,
            filters_combine,
            prune_by_age,
            prune_by_count,
            reopen_keeps_events,
            kept_apart_from_key_records,
            concurrent_appends_lose_nothing,
            recorder_clean_shutdown_loses_nothing,
            recorder_flushes_and_prunes_on_its_own,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __audit_tests {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let factory = $factory;
                $crate::audit::$case(&factory);
            }
        )*
    };
}
