//! Model-based property test: random operation sequences against the store and a `BTreeMap`.
//!
//! Every operation runs on both; their results must agree (same value, or the same error kind
//! with the same ids), and after every step the whole contents are compared, through `get` of
//! every id and through a paged search. `Reopen` drops every handle and re-opens the store, so
//! persistent stores prove that everything acknowledged survives. The model is a plain map, not
//! `MemoryKeyStore`, so the memory store is itself under test.
//!
//! Set `PROPTEST_CASES` to change the number of sequences (default 32).

use ak_core::{
    ExpiryFilter, KeyRecord, KeyStatus, KeyStore, KeyTenant, Page, SearchQuery, SortField, StoreError,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;
use std::collections::BTreeMap;

use crate::StoreFactory;
use crate::cases::search_all;
use crate::fixtures::{object, record};

const SLOTS: usize = 5;

/// One operation of a sequence. Records are derived from a slot (the id) and a variant number.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert a record.
    Insert {
        /// Which id.
        slot: usize,
        /// Which field values.
        variant: u8,
    },
    /// Load a record.
    Get(usize),
    /// Update a record, from its current version plus `offset` (0 = current, else stale or future).
    Update {
        /// Which id.
        slot: usize,
        /// New field values.
        variant: u8,
        /// Added to the current version.
        offset: i8,
    },
    /// Set the status of several ids.
    SetStatus {
        /// Which ids (may repeat or be unknown).
        slots: Vec<usize>,
        /// Active or inactive.
        active: bool,
    },
    /// Delete several ids.
    Delete(Vec<usize>),
    /// Search with a filter, order and page size.
    Search {
        /// Which filter.
        filter: u8,
        /// Sort by name instead of created time.
        by_name: bool,
        /// Descending.
        descending: bool,
        /// Page size.
        limit: u32,
    },
    /// Drop every handle and re-open the store.
    Reopen,
}

fn slot_id(slot: usize) -> String {
    format!("id-{slot}")
}

/// The record for `slot` with fields chosen by `variant`.
pub fn variant_record(slot: usize, variant: u8) -> KeyRecord {
    let v = usize::from(variant);
    let mut r = record(
        &slot_id(slot),
        ["alpha", "Beta", "gamma", "alpha"][v % 4],
        i64::from(variant % 5),
    );
    let key = &mut r.key;
    key.description = ["", "payments", "Nightly export"][v % 3].to_owned();
    key.key_tenants = ["t1", "t2", "t3"]
        .iter()
        .enumerate()
        .filter(|(bit, _)| v >> bit & 1 == 1)
        .map(|(_, tenant)| KeyTenant::new(*tenant, ["role"]))
        .collect();
    key.bound_user_id = [None, Some("u1".to_owned()), Some("u2".to_owned())][v % 3].clone();
    key.created_by = ["alice", "bob"][(v / 2) % 2].to_owned();
    key.status = if v % 7 == 0 {
        KeyStatus::Inactive
    } else {
        KeyStatus::Active
    };
    key.expire_time = [None, Some(10), Some(40)][(v / 3) % 3];
    let team = ["a", "b"][(v / 5) % 2];
    key.custom_attributes = object(json!({ "team": team }));
    r
}

fn query(filter: u8, by_name: bool, descending: bool, limit: u32) -> SearchQuery {
    let mut query = SearchQuery {
        sort: if by_name {
            SortField::Name
        } else {
            SortField::CreatedTime
        },
        descending,
        limit,
        ..SearchQuery::default()
    };
    match filter % 11 {
        0 => {}
        1 => query.tenant_ids = vec!["t1".into()],
        2 => query.tenant_ids = vec!["t2".into(), "t3".into()],
        3 => query.bound_user_id = Some("u1".into()),
        4 => query.created_by = Some("bob".into()),
        5 => query.custom_attributes = object(json!({"team": "a"})),
        6 => query.text = Some("PAY".into()),
        7 => query.status = Some(KeyStatus::Inactive),
        8 => query.expiry = Some(ExpiryFilter::ExpiredAt(20)),
        // Records expire at 10, 40 or never: a bound between them.
        9 => query.expires_before = Some(30),
        // No use is recorded here, so every key is never used and matches.
        _ => query.not_used_since = Some(5),
    }
    query
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    let slots = proptest::collection::vec(0..SLOTS + 1, 1..4);
    prop_oneof![
        4 => (slot.clone(), any::<u8>()).prop_map(|(slot, variant)| Op::Insert { slot, variant }),
        2 => slot.clone().prop_map(Op::Get),
        4 => (slot, any::<u8>(), prop_oneof![6 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)])
            .prop_map(|(slot, variant, offset)| Op::Update { slot, variant, offset }),
        2 => (slots.clone(), any::<bool>()).prop_map(|(slots, active)| Op::SetStatus { slots, active }),
        1 => slots.prop_map(Op::Delete),
        2 => (any::<u8>(), any::<bool>(), any::<bool>(), 1..4u32)
            .prop_map(|(filter, by_name, descending, limit)| Op::Search { filter, by_name, descending, limit }),
        1 => Just(Op::Reopen),
    ]
}

/// The outcome of an operation, comparable between the store and the model.
#[derive(Debug, PartialEq)]
enum Outcome {
    Unit,
    Version(u64),
    Record(Box<Option<KeyRecord>>),
    Records(Vec<KeyRecord>),
    AlreadyExists,
    NotFound(Vec<String>),
    Conflict,
    Other(String),
}

fn outcome<T>(result: Result<T, StoreError>, ok: impl FnOnce(T) -> Outcome) -> Outcome {
    match result {
        Ok(value) => ok(value),
        Err(StoreError::AlreadyExists { .. }) => Outcome::AlreadyExists,
        Err(StoreError::NotFound { ids }) => Outcome::NotFound(ids),
        Err(StoreError::VersionConflict { .. }) => Outcome::Conflict,
        Err(other) => Outcome::Other(other.to_string()),
    }
}

/// The reference implementation: a plain ordered map.
#[derive(Debug, Default)]
struct Model(BTreeMap<String, KeyRecord>);

impl Model {
    fn missing(&self, ids: &[String]) -> Option<Outcome> {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.0.contains_key(*id))
            .cloned()
            .collect();
        (!missing.is_empty()).then_some(Outcome::NotFound(missing))
    }

    fn search_all(&self, mut query: SearchQuery) -> Vec<KeyRecord> {
        let mut all = Vec::new();
        loop {
            let page: Page<KeyRecord> = query
                .page_from_unsorted(self.0.values().cloned().map(Ok))
                .expect("the model holds no corrupt records");
            all.extend(page.items);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return all,
            }
        }
    }
}

fn ids_of(slots: &[usize]) -> Vec<String> {
    slots.iter().map(|slot| slot_id(*slot)).collect()
}

fn apply(store: &dyn KeyStore, model: &mut Model, op: &Op) -> (Outcome, Outcome) {
    match op {
        Op::Insert { slot, variant } => {
            let new = variant_record(*slot, *variant);
            let actual = outcome(store.insert(&new), |()| Outcome::Unit);
            let expected = if model.0.contains_key(new.id()) {
                Outcome::AlreadyExists
            } else {
                model.0.insert(new.id().to_owned(), new);
                Outcome::Unit
            };
            (actual, expected)
        }
        Op::Get(slot) => {
            let id = slot_id(*slot);
            (
                outcome(store.get(&id), |r| Outcome::Record(Box::new(r))),
                Outcome::Record(Box::new(model.0.get(&id).cloned())),
            )
        }
        Op::Update {
            slot,
            variant,
            offset,
        } => {
            let id = slot_id(*slot);
            let current = model.0.get(&id).map_or(1, |r| r.version);
            let mut changed = variant_record(*slot, *variant);
            changed.version = current.saturating_add_signed(i64::from(*offset));
            let actual = outcome(store.update(&changed), Outcome::Version);
            let expected = match model.0.get_mut(&id) {
                None => Outcome::NotFound(vec![id]),
                Some(stored) if stored.version != changed.version => Outcome::Conflict,
                Some(stored) => {
                    *stored = changed;
                    stored.version += 1;
                    Outcome::Version(stored.version)
                }
            };
            (actual, expected)
        }
        Op::SetStatus { slots, active } => {
            let ids = ids_of(slots);
            let status = if *active {
                KeyStatus::Active
            } else {
                KeyStatus::Inactive
            };
            let actual = outcome(store.set_status(&ids, status), |()| Outcome::Unit);
            let expected = model.missing(&ids).unwrap_or_else(|| {
                for id in &ids {
                    if let Some(stored) = model.0.get_mut(id) {
                        stored.key.status = status;
                        stored.version += 1;
                    }
                }
                Outcome::Unit
            });
            (actual, expected)
        }
        Op::Delete(slots) => {
            // A batch never names an id twice (the manager rejects that); dedupe here likewise.
            let mut ids = ids_of(slots);
            ids.sort();
            ids.dedup();
            let actual = outcome(store.delete(&ids), |()| Outcome::Unit);
            let expected = model.missing(&ids).unwrap_or_else(|| {
                ids.iter().for_each(|id| {
                    model.0.remove(id);
                });
                Outcome::Unit
            });
            (actual, expected)
        }
        Op::Search {
            filter,
            by_name,
            descending,
            limit,
        } => {
            let query = query(*filter, *by_name, *descending, *limit);
            (
                Outcome::Records(search_all(store, query.clone())),
                Outcome::Records(model.search_all(query)),
            )
        }
        Op::Reopen => (Outcome::Unit, Outcome::Unit),
    }
}

fn check_contents(store: &dyn KeyStore, model: &Model) -> Result<(), TestCaseError> {
    for slot in 0..=SLOTS {
        let id = slot_id(slot);
        prop_assert_eq!(
            store.get(&id).map_err(|e| TestCaseError::fail(e.to_string()))?,
            model.0.get(&id).cloned()
        );
    }
    let everything = SearchQuery {
        limit: 2,
        ..SearchQuery::default()
    };
    prop_assert_eq!(
        search_all(store, everything.clone()),
        model.search_all(everything)
    );
    Ok(())
}

fn run_sequence(factory: &dyn StoreFactory, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut store = factory.open();
    // Start each sequence from an empty store.
    let leftovers: Vec<String> = search_all(store.as_ref(), SearchQuery::default())
        .into_iter()
        .map(|r| r.key.id)
        .collect();
    if !leftovers.is_empty() {
        store
            .delete(&leftovers)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        if matches!(op, Op::Reopen) {
            drop(store);
            store = factory.open();
        }
        let (actual, expected) = apply(store.as_ref(), &mut model, op);
        prop_assert_eq!(actual, expected, "step {} {:?}", step, op);
        check_contents(store.as_ref(), &model)?;
    }
    Ok(())
}

/// Runs one operation sequence against the store `factory` opens and the model, comparing after
/// every step; the error describes the first disagreement. For the store-model fuzz target.
pub fn check_sequence(factory: &dyn StoreFactory, ops: &[Op]) -> Result<(), String> {
    run_sequence(factory, ops).map_err(|failure| failure.to_string())
}

/// Runs the model-based property test against the store `factory` opens.
pub fn model_based(factory: &dyn StoreFactory) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(32);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = proptest::collection::vec(op_strategy(), 1..40);
    if let Err(failure) = runner.run(&strategy, |ops| run_sequence(factory, &ops)) {
        panic!("model test failed: {failure}");
    }
}
