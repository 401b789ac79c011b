//! Property tests: every claim shape round-trips through mint and verify, and any single flipped bit or replaced
//! byte anywhere in a token is rejected (with and without the verified-token cache).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use ak_token::{
    Audience, CacheOptions, KeySet, REGISTERED_CLAIMS, SessionClaims, SigningKey, TenantClaims, TokenMinter,
    VerificationOptions, Verifier,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

const NOW: i64 = 1_700_000_000;

static MINTER: LazyLock<TokenMinter> =
    LazyLock::new(|| TokenMinter::new(KeySet::new(SigningKey::from_seed(&[42; 32]))));
static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::from_key_set(MINTER.key_set(), VerificationOptions::new().with_issuer("P2proj"))
});
static CACHED: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::from_key_set(
        MINTER.key_set(),
        VerificationOptions::new()
            .with_issuer("P2proj")
            .with_cache(CacheOptions::default()),
    )
});

/// A token exercising every claim.
static TOKEN: LazyLock<String> = LazyLock::new(|| {
    let mut c = SessionClaims::new("P2proj", "K2key", NOW, NOW + 600, "jti-1");
    c.aud = Some(Audience::Many(vec!["P2proj".into()]));
    c.roles = Some(vec!["admin".into()]);
    c.permissions = Some(vec!["read".into(), "write".into()]);
    c.tenants = Some(BTreeMap::from([(
        "T1".to_owned(),
        TenantClaims {
            roles: vec!["r".into()],
            permissions: vec!["p".into()],
        },
    )]));
    c.dct = Some("T1".into());
    c.nsec = Some(Map::from_iter([("n".to_owned(), Value::from("v"))]));
    c.custom.insert("k1".into(), Value::from("v1"));
    let token = MINTER.mint(&c).unwrap();
    // Warm the cache with the genuine token so that a tampered copy cannot ride on it.
    CACHED.verify(&token, NOW).unwrap();
    token
});

fn rejected(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        // Not even a string: cannot be presented as a token.
        Err(_) => true,
        Ok(text) => VERIFIER.verify(text, NOW).is_err() && CACHED.verify(text, NOW).is_err(),
    }
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9:_\\-]{1,12}"
}

fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.chars().take(16).collect())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(text(), json_value(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn custom_claims() -> impl Strategy<Value = Map<String, Value>> {
    object().prop_map(|mut m| {
        m.retain(|k, _| !REGISTERED_CLAIMS.contains(&k.as_str()));
        m
    })
}

fn tenant() -> impl Strategy<Value = TenantClaims> {
    (
        prop::collection::vec(name(), 0..3),
        prop::collection::vec(name(), 0..3),
    )
        .prop_map(|(roles, permissions)| TenantClaims { roles, permissions })
}

prop_compose! {
    fn claims()(
        sub in text(),
        jti in text(),
        iat in (NOW - 1000)..=NOW,
        ttl in 6i64..100_000,
        nbf in prop::option::of((NOW - 1000)..=NOW),
        aud in prop::option::of(prop_oneof![
            text().prop_map(Audience::Single),
            prop::collection::vec(text(), 0..3).prop_map(Audience::Many),
        ]),
        roles in prop::option::of(prop::collection::vec(name(), 0..4)),
        permissions in prop::option::of(prop::collection::vec(name(), 0..4)),
        tenants in prop::option::of(prop::collection::btree_map(name(), tenant(), 0..3)),
        dct in prop::option::of(name()),
        nsec in prop::option::of(object()),
        custom in custom_claims(),
    ) -> SessionClaims {
        SessionClaims {
            iss: "P2proj".into(), sub, aud, iat, exp: NOW + ttl, nbf, jti, roles, permissions, tenants, dct, nsec, custom,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mint_then_verify_returns_the_same_claims(claims in claims()) {
        let token = MINTER.mint(&claims).unwrap();
        let verified = VERIFIER.verify(&token, NOW).unwrap();
        prop_assert_eq!(verified.claims(), &claims);
        for _ in 0..2 {
            let cached = CACHED.verify(&token, NOW).unwrap();
            prop_assert_eq!(cached.claims(), &claims);
        }
    }

    #[test]
    fn any_flipped_bit_is_rejected(index in 0usize..4096, bit in 0u8..8) {
        let mut bytes = TOKEN.as_bytes().to_vec();
        let index = index % bytes.len();
        bytes[index] ^= 1 << bit;
        prop_assert!(rejected(&bytes), "flipping bit {} of byte {} was accepted", bit, index);
    }

    #[test]
    fn any_replaced_byte_is_rejected(index in 0usize..4096, byte in any::<u8>()) {
        let mut bytes = TOKEN.as_bytes().to_vec();
        let index = index % bytes.len();
        prop_assume!(bytes[index] != byte);
        bytes[index] = byte;
        prop_assert!(rejected(&bytes));
    }

    #[test]
    fn arbitrary_input_never_panics(input in any::<String>()) {
        let _ = VERIFIER.verify(&input, NOW);
        let _ = CACHED.verify(&input, NOW);
    }

    #[test]
    fn arbitrary_segments_never_panic(parts in prop::collection::vec("[A-Za-z0-9_\\-]{0,40}", 0..5)) {
        let _ = VERIFIER.verify(&parts.join("."), NOW);
    }
}

#[test]
fn every_single_bit_flip_is_rejected_exhaustively() {
    let token = TOKEN.as_bytes();
    for index in 0..token.len() {
        for bit in 0..8 {
            let mut bytes = token.to_vec();
            bytes[index] ^= 1 << bit;
            assert!(rejected(&bytes), "bit {bit} of byte {index}");
        }
    }
    // Truncation and extension too.
    for len in 0..token.len() {
        assert!(rejected(&token[..len]));
    }
    assert!(VERIFIER.verify(&TOKEN, NOW).is_ok());
}
