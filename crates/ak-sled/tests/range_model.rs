//! Random writes, uses and range-filtered searches against the sled store and `MemoryKeyStore`:
//! every search, whichever index the planner picks, finds what the memory store finds.
//!
//! The shared model test in ak-testkit covers the other filters but records no usage; this one
//! drives the expiry-time and last-used indexes.

use ak_core::usage::{KeyUsage, KeyUsageStore};
use ak_core::{KeyStatus, KeyStore, MemoryKeyStore, SearchQuery, SortField};
use ak_sled::SledKeyStore;
use ak_testkit::cases::search_all;
use ak_testkit::fixtures::record;
use proptest::prelude::*;

const SLOTS: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Insert { slot: usize, expires: Option<i64> },
    Update { slot: usize, expires: Option<i64> },
    Deactivate(usize),
    Delete(usize),
    Use { slot: usize, time: i64 },
    Search(SearchQuery),
}

fn id(slot: usize) -> String {
    format!("k{slot}")
}

fn time() -> impl Strategy<Value = i64> {
    prop_oneof![0..6i64, Just(i64::MIN), Just(i64::MAX)]
}

fn query() -> impl Strategy<Value = SearchQuery> {
    (
        proptest::option::of(time()),
        proptest::option::of(time()),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(Just(KeyStatus::Active)),
        1..4u32,
    )
        .prop_map(
            |(expires_before, not_used_since, by_name, descending, status, limit)| SearchQuery {
                expires_before,
                not_used_since,
                status,
                sort: if by_name {
                    SortField::Name
                } else {
                    SortField::CreatedTime
                },
                descending,
                limit,
                ..SearchQuery::default()
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    let expires = || proptest::option::of(time());
    prop_oneof![
        3 => (slot.clone(), expires()).prop_map(|(slot, expires)| Op::Insert { slot, expires }),
        2 => (slot.clone(), expires()).prop_map(|(slot, expires)| Op::Update { slot, expires }),
        1 => slot.clone().prop_map(Op::Deactivate),
        1 => slot.clone().prop_map(Op::Delete),
        3 => (slot, time()).prop_map(|(slot, time)| Op::Use { slot, time }),
        3 => query().prop_map(Op::Search),
    ]
}

fn apply<S: KeyStore + KeyUsageStore>(store: &S, op: &Op) -> Result<(), String> {
    let result = match op {
        Op::Insert { slot, expires } => {
            let mut r = record(
                &id(*slot),
                ["b", "a"][slot % 2],
                i64::try_from(*slot % 3).unwrap(),
            );
            r.key.expire_time = *expires;
            store.insert(&r)
        }
        Op::Update { slot, expires } => match store.get(&id(*slot)) {
            Ok(Some(mut r)) => {
                r.key.expire_time = *expires;
                store.update(&r).map(drop)
            }
            other => other.map(drop),
        },
        Op::Deactivate(slot) => store.set_status(&[id(*slot)], KeyStatus::Inactive),
        Op::Delete(slot) => store.delete(&[id(*slot)]),
        Op::Use { slot, time } => store.record_key_usage(&[KeyUsage {
            key_id: id(*slot),
            time: *time,
            ip: None,
        }]),
        Op::Search(_) => Ok(()),
    };
    result.map_err(|err| format!("{err:?}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn range_searches_match_the_memory_store(ops in proptest::collection::vec(op(), 1..30)) {
        let sled = SledKeyStore::temporary().unwrap();
        let memory = MemoryKeyStore::new();
        for (step, op) in ops.iter().enumerate() {
            let outcome = apply(&sled, op).map_err(|e| e.split('{').next().unwrap_or("").to_owned());
            let expected = apply(&memory, op).map_err(|e| e.split('{').next().unwrap_or("").to_owned());
            prop_assert_eq!(outcome, expected, "step {} {:?}", step, op);
            if let Op::Search(query) = op {
                prop_assert_eq!(
                    search_all(&sled, query.clone()),
                    search_all(&memory, query.clone()),
                    "step {} {:?}", step, query
                );
            }
        }
        sled.check_consistency().unwrap();
    }
}
