//! The verified-token cache stays within its byte bound against the worst case a key holder can
//! send (issue 12, finding 3): tokens whose exchange claims are 8 KiB-sized runs of tiny objects,
//! each of which decodes into a B-tree node hundreds of bytes large. Measured with a counting
//! allocator, not estimated.

use std::alloc::System;

use ak_token::{CacheOptions, KeySet, SessionClaims, SigningKey, TokenMinter, VerificationOptions, Verifier};
use serde_json::{Map, Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const NOW: i64 = 1_700_000_000;

/// Claims that fill a default-sized (8 KiB) token with `{"b":0}` objects: ~95 bytes of heap
/// per byte of JSON.
fn worst_case_claims(jti: usize) -> SessionClaims {
    let mut claims = SessionClaims::new("P2p", "K2key", NOW, NOW + 600, format!("jti-{jti}"));
    let objects: Vec<Value> = (0..690).map(|_| json!({"b": 0})).collect();
    let mut nsec = Map::new();
    nsec.insert("a".into(), Value::Array(objects));
    claims.nsec = Some(nsec);
    claims
}

/// Live heap bytes (allocated minus freed) while `f` runs, and its result.
fn live_bytes<T>(f: impl FnOnce() -> T) -> (isize, T) {
    let region = Region::new(GLOBAL);
    let value = f();
    let change = region.change();
    let live =
        isize::try_from(change.bytes_allocated).unwrap() - isize::try_from(change.bytes_deallocated).unwrap();
    (live, value)
}

fn setup(cache: CacheOptions) -> (TokenMinter, Verifier) {
    let keys = KeySet::new(SigningKey::from_seed(&[3; 32]));
    let verifier = Verifier::new(&keys.jwks(), VerificationOptions::new().with_cache(cache)).unwrap();
    (TokenMinter::new(keys), verifier)
}

/// The allocator's counters are global, so the measurements run one after another in one test.
#[test]
fn the_cache_is_bounded_by_what_it_really_holds() {
    an_entry_weighs_at_least_what_it_holds();
    the_cache_holds_at_most_its_byte_bound();
}

fn an_entry_weighs_at_least_what_it_holds() {
    let (minter, verifier) = setup(CacheOptions::default());
    let token = minter.mint(&worst_case_claims(0)).unwrap();
    assert!(
        token.len() <= 8192,
        "the token fits the default size bound: {}",
        token.len()
    );
    let (held, ()) = live_bytes(|| drop(verifier.verify(&token, NOW).unwrap()));
    let held = usize::try_from(held).unwrap();
    let weight = verifier.cached_bytes();
    assert!(held > 100 * 1024, "the worst case really is large: {held} bytes");
    assert!(weight >= held, "weight {weight} < {held} bytes really held");
    assert!(weight <= held * 2, "weight {weight} overstates {held} bytes held");
}

fn the_cache_holds_at_most_its_byte_bound() {
    const BOUND: usize = 4 * 1024 * 1024;
    let (minter, verifier) = setup(CacheOptions::new(10_000).with_max_bytes(BOUND));
    let (held, ()) = live_bytes(|| {
        for jti in 0..120 {
            let token = minter.mint(&worst_case_claims(jti)).unwrap();
            drop(verifier.verify(&token, NOW).unwrap());
        }
    });
    let held = usize::try_from(held).unwrap();
    assert!(verifier.cached_bytes() <= BOUND);
    assert!(held <= BOUND, "{held} bytes held by a cache bound to {BOUND}");
    assert!(
        verifier.cached_tokens() >= 2,
        "it still caches: {}",
        verifier.cached_tokens()
    );
}
