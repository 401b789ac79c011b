//! A mint allocates two buffers, each once at its final size: the JSON payload (sized for a
//! typical token's claims up front) and the token (pre-sized from the payload). Measured with a
//! counting allocator.

use std::alloc::System;

use ak_token::{KeySet, SessionClaims, SigningKey, TokenMinter};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Claims shaped like an exchange's for a key with one role and two custom claims.
fn typical_claims() -> SessionClaims {
    let mut claims = SessionClaims::new(
        "P2akBenchProject0000000000000",
        "k2mdx7hbq3vnrz5ctwlyp4fs6a",
        1_750_000_000,
        1_750_000_600,
        "ZGV0ZXJtaW5pc3RpYyBqdGk",
    );
    claims.roles = Some(vec!["deployer".into()]);
    claims.permissions = Some(vec!["deploy".into(), "read".into()]);
    claims.custom.insert("plan".into(), json!("gold"));
    claims.custom.insert("region".into(), json!("eu-west-1"));
    claims
}

/// The allocator's counters are global, so this binary has one test.
#[test]
fn a_mint_allocates_its_payload_and_its_token_once_each() {
    let minter = TokenMinter::new(KeySet::new(SigningKey::from_seed(&[3; 32])));
    let claims = typical_claims();
    drop(minter.mint(&claims).unwrap());
    let region = Region::new(GLOBAL);
    let token = minter.mint(&claims).unwrap();
    let change = region.change();
    assert!(token.len() > 300, "a token of typical size: {}", token.len());
    assert_eq!(
        (change.allocations, change.reallocations),
        (2, 0),
        "the payload and the token, each allocated once"
    );
}
