//! Mint and verify costs. Floors on the reference 2-vCPU machine (`performance.md`): sign ~21 µs, strict verify
//! ~45 µs, a cache hit well under 1 µs.

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn.

use std::hint::black_box;

use ak_token::{CacheOptions, KeySet, SessionClaims, SigningKey, TokenMinter, VerificationOptions, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};

const NOW: i64 = 1_700_000_000;

fn claims() -> SessionClaims {
    let mut c = SessionClaims::new(
        "P2akBenchProject0000000000000",
        "K2akBenchAccessKey000000000000",
        NOW,
        NOW + 600,
        "0123456789abcdef0123456789abcdef",
    );
    c.roles = Some(vec!["admin".into(), "viewer".into()]);
    c.permissions = Some(vec![
        "keys:read".into(),
        "keys:write".into(),
        "billing:read".into(),
    ]);
    c.custom.insert("k1".into(), "v1".into());
    c
}

fn bench(c: &mut Criterion) {
    let keys = KeySet::new(SigningKey::from_seed(&[1; 32]));
    let minter = TokenMinter::new(keys.clone());
    let claims = claims();
    let token = minter.mint(&claims).unwrap_or_default();
    assert!((400..700).contains(&token.len()), "token length {}", token.len());
    let verifier = Verifier::from_key_set(&keys, VerificationOptions::new());
    let cached = Verifier::from_key_set(
        &keys,
        VerificationOptions::new().with_cache(CacheOptions::default()),
    );
    assert!(cached.verify(&token, NOW).is_ok());

    c.bench_function("mint", |b| b.iter(|| minter.mint(black_box(&claims))));
    c.bench_function("verify", |b| b.iter(|| verifier.verify(black_box(&token), NOW)));
    c.bench_function("verify_cached", |b| {
        b.iter(|| cached.verify(black_box(&token), NOW))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
