//! An exchange builds nothing for a trail that keeps nothing of it: with only a usage store, a
//! successful exchange notes the key's last use and a failed one leaves nothing, so neither may
//! build the audit event that only an audit store would keep. Measured with a counting
//! allocator: such an exchange allocates exactly what one without any trail does.

use std::alloc::System;
use std::sync::Arc;
use std::time::Duration;

use ak::{
    AccessKeys, AuthError, CreateKey, ExchangeError, ExchangeOptions, KeySet, ManualClock, MemoryKeyStore,
    SeededRandom, SigningKey,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const NOW: i64 = 1_900_000_000;

/// A service over a fresh memory store, with a usage store (the same store) or without any
/// trail. Both draw the same ids, secrets and token ids, so their exchanges do the same work.
fn service(usage: bool) -> AccessKeys {
    let store = Arc::new(MemoryKeyStore::new());
    let mut builder = AccessKeys::builder()
        .shared_store(store.clone())
        .clock(Arc::new(ManualClock::new(NOW)))
        .random(Arc::new(SeededRandom::new(7)))
        .signing_keys(KeySet::new(SigningKey::from_seed(&[7; 32])))
        .issuer("P2p");
    if usage {
        // Written only at the interval's end: the writer thread sleeps through the measurement.
        builder = builder
            .usage_store(store)
            .usage_interval(Duration::from_secs(3600));
    }
    builder.build().unwrap()
}

/// Heap allocations and reallocations of one exchange of `presented`, after two that warmed the
/// secret cache and the tracker's entry for the key; and whether it succeeded.
fn allocations(keys: &AccessKeys, presented: &str) -> ((usize, usize), Result<(), AuthError>) {
    let options = ExchangeOptions::default();
    for _ in 0..2 {
        drop(keys.exchange(presented, &options));
    }
    let region = Region::new(GLOBAL);
    let result = keys.exchange(presented, &options);
    let change = region.change();
    let outcome = match result {
        Ok(_) => Ok(()),
        Err(ExchangeError::Auth(error)) => Err(error),
        Err(other) => panic!("unexpected exchange error: {other}"),
    };
    ((change.allocations, change.reallocations), outcome)
}

/// The allocator's counters are global, so the measurements run one after another in one test.
#[test]
fn an_exchange_allocates_nothing_for_a_trail_that_keeps_nothing_of_it() {
    let plain = service(false);
    let tracked = service(true);
    let key = plain.create(CreateKey::named("k")).unwrap();
    let same = tracked.create(CreateKey::named("k")).unwrap();
    assert_eq!(key.key.id, same.key.id, "both services drew the same key");
    let presented = key.cleartext.expose_secret();

    let (without_trail, outcome) = allocations(&plain, presented);
    assert!(outcome.is_ok(), "{outcome:?}");
    let (with_usage, outcome) = allocations(&tracked, presented);
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(
        with_usage, without_trail,
        "a successful exchange with only a usage store allocates what one without a trail does"
    );
    tracked.flush_audit();
    assert!(
        tracked.load(&key.key.id).unwrap().last_used_time.is_some(),
        "the last use was still noted"
    );

    plain.deactivate(&key.key.id).unwrap();
    tracked.deactivate(&key.key.id).unwrap();
    let (without_trail, outcome) = allocations(&plain, presented);
    assert!(matches!(outcome, Err(AuthError::Inactive)), "{outcome:?}");
    let (with_usage, outcome) = allocations(&tracked, presented);
    assert!(matches!(outcome, Err(AuthError::Inactive)), "{outcome:?}");
    assert_eq!(
        with_usage, without_trail,
        "a failed exchange with only a usage store allocates what one without a trail does"
    );
}
