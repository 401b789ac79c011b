//! Behaviour tests: rotation and retirement, time and size boundaries, the verified-token cache, key formats and
//! secrets never appearing in `Debug`.

use std::time::Instant;

use ak_token::{
    Audience, CacheOptions, Jwks, KeyError, KeySet, MintError, SessionClaims, SigningKey, TokenMinter,
    VerificationOptions, Verifier, VerifyError,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const NOW: i64 = 1_700_000_000;

fn key(n: u8) -> SigningKey {
    SigningKey::from_seed(&[n; 32])
}

fn claims(iat: i64, exp: i64) -> SessionClaims {
    SessionClaims::new("P2proj", "K2key", iat, exp, "jti")
}

fn mint(keys: &KeySet, claims: &SessionClaims) -> String {
    TokenMinter::new(keys.clone()).mint(claims).unwrap()
}

#[test]
fn rotation_keeps_old_tokens_valid_until_retired() {
    let mut keys = KeySet::new(key(1));
    let old_token = mint(&keys, &claims(NOW, NOW + 600));
    keys.rotate(key(2));
    let new_token = mint(&keys, &claims(NOW, NOW + 600));
    assert_ne!(
        old_token.split('.').next(),
        new_token.split('.').next(),
        "new kid in the header"
    );

    // A JWKS-only verifier sees both keys.
    let jwks = Jwks::from_json(&keys.jwks().to_json()).unwrap();
    let verifier = Verifier::new(&jwks, VerificationOptions::new()).unwrap();
    assert_eq!(verifier.verify(&old_token, NOW).unwrap().kid(), key(1).kid());
    assert_eq!(verifier.verify(&new_token, NOW).unwrap().kid(), key(2).kid());

    keys.retire(key(1).kid()).unwrap();
    verifier.replace_key_set(&keys);
    assert_eq!(
        verifier.verify(&old_token, NOW).unwrap_err(),
        VerifyError::UnknownKeyId
    );
    assert!(verifier.verify(&new_token, NOW).is_ok());
    assert_eq!(
        Verifier::from_key_set(&keys, VerificationOptions::new()).kids(),
        vec![key(2).kid().to_owned()]
    );
}

#[test]
fn jwks_verifier_rejects_unusable_keys() {
    let mut jwks = KeySet::new(key(1)).jwks();
    assert!(Verifier::new(&jwks, VerificationOptions::new()).is_ok());

    let mut private = jwks.clone();
    private.keys[0] = key(1).to_private_jwk();
    assert!(matches!(
        Verifier::new(&private, VerificationOptions::new()),
        Err(KeyError::InvalidJwk(_))
    ));

    let mut dup = jwks.clone();
    dup.keys.push(dup.keys[0].clone());
    assert_eq!(
        Verifier::new(&dup, VerificationOptions::new()).err(),
        Some(KeyError::DuplicateKid)
    );

    // The identity point is a small-order (weak) key.
    let mut weak = jwks.clone();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    weak.keys[0].x = URL_SAFE_NO_PAD.encode(identity);
    assert_eq!(
        Verifier::new(&weak, VerificationOptions::new()).err(),
        Some(KeyError::WeakKey)
    );

    // Without a kid, the thumbprint is used.
    jwks.keys[0].kid = None;
    let verifier = Verifier::new(&jwks, VerificationOptions::new()).unwrap();
    assert_eq!(verifier.kids(), vec![key(1).kid().to_owned()]);

    assert_eq!(
        Jwks::from_json(r#"{"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]}"#).err(),
        Some(KeyError::InvalidJson)
    );
}

#[test]
fn time_boundaries_with_leeway() {
    let keys = KeySet::new(key(1));
    let verifier = Verifier::from_key_set(&keys, VerificationOptions::new());
    let token = mint(&keys, &claims(NOW, NOW + 100));
    assert!(verifier.verify(&token, NOW + 104).is_ok());
    assert_eq!(
        verifier.verify(&token, NOW + 105).unwrap_err(),
        VerifyError::Expired
    );
    assert!(verifier.verify(&token, NOW - 5).is_ok());
    assert_eq!(
        verifier.verify(&token, NOW - 6).unwrap_err(),
        VerifyError::IssuedInFuture
    );

    let mut c = claims(NOW - 100, NOW + 100);
    c.nbf = Some(NOW);
    let token = mint(&keys, &c);
    assert!(verifier.verify(&token, NOW - 5).is_ok());
    assert_eq!(
        verifier.verify(&token, NOW - 6).unwrap_err(),
        VerifyError::NotYetValid
    );

    let strict = Verifier::from_key_set(&keys, VerificationOptions::new().with_leeway_secs(0));
    let token = mint(&keys, &claims(NOW, NOW + 100));
    assert!(strict.verify(&token, NOW + 99).is_ok());
    assert_eq!(
        strict.verify(&token, NOW + 100).unwrap_err(),
        VerifyError::Expired
    );

    // Extreme values never panic.
    let lax = Verifier::from_key_set(&keys, VerificationOptions::new().with_leeway_secs(u64::MAX));
    let extreme = mint(&keys, &claims(i64::MIN, i64::MAX));
    for now in [i64::MIN, -1, 0, NOW, i64::MAX] {
        let _ = verifier.verify(&extreme, now);
        let _ = lax.verify(&extreme, now);
        let _ = lax.verify(&token, now);
    }
    assert!(lax.verify(&token, i64::MAX).is_ok());
}

#[test]
fn issuer_and_audience() {
    let keys = KeySet::new(key(1));
    let mut c = claims(NOW, NOW + 100);
    let plain = mint(&keys, &c);
    c.aud = Some(Audience::Single("svc".into()));
    let single = mint(&keys, &c);
    c.aud = Some(Audience::Many(vec!["a".into(), "svc".into()]));
    let many = mint(&keys, &c);

    let any = Verifier::from_key_set(&keys, VerificationOptions::new());
    for token in [&plain, &single, &many] {
        assert!(
            any.verify(token, NOW).is_ok(),
            "aud is not checked unless configured"
        );
    }
    let svc = Verifier::from_key_set(
        &keys,
        VerificationOptions::new()
            .with_audience("svc")
            .with_issuer("P2proj"),
    );
    assert_eq!(svc.verify(&plain, NOW).unwrap_err(), VerifyError::WrongAudience);
    assert!(svc.verify(&single, NOW).is_ok());
    assert!(svc.verify(&many, NOW).is_ok());
    let other = Verifier::from_key_set(&keys, VerificationOptions::new().with_issuer("P2other"));
    assert_eq!(other.verify(&plain, NOW).unwrap_err(), VerifyError::WrongIssuer);
}

#[test]
fn size_bound_is_checked_first() {
    let keys = KeySet::new(key(1));
    let token = mint(&keys, &claims(NOW, NOW + 100));
    let exact = Verifier::from_key_set(&keys, VerificationOptions::new().with_max_token_len(token.len()));
    assert!(exact.verify(&token, NOW).is_ok());
    let smaller = Verifier::from_key_set(
        &keys,
        VerificationOptions::new().with_max_token_len(token.len() - 1),
    );
    assert_eq!(smaller.verify(&token, NOW).unwrap_err(), VerifyError::TooLarge);
    let huge = "a".repeat(10 * 1024 * 1024);
    assert_eq!(exact.verify(&huge, NOW).unwrap_err(), VerifyError::TooLarge);
}

#[test]
fn reserved_custom_claims_are_refused() {
    let minter = TokenMinter::new(KeySet::new(key(1)));
    for name in ak_token::REGISTERED_CLAIMS {
        let mut c = claims(NOW, NOW + 100);
        c.custom.insert((*name).to_owned(), serde_json::json!("x"));
        assert_eq!(minter.mint(&c), Err(MintError::ReservedClaim((*name).to_owned())));
    }
}

#[test]
fn errors_do_not_echo_token_contents() {
    let keys = KeySet::new(key(1));
    let verifier = Verifier::from_key_set(&keys, VerificationOptions::new().with_issuer("nope"));
    let mut c = claims(NOW, NOW + 100);
    c.custom
        .insert("marker".into(), serde_json::json!("SECRET-MARKER"));
    let token = mint(&keys, &c);
    let err = verifier.verify(&token, NOW).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET-MARKER") && !shown.contains("P2proj") && !shown.contains(&token[..20]));
}

fn cached_verifier(keys: &KeySet, max_entries: usize) -> Verifier {
    Verifier::from_key_set(
        keys,
        VerificationOptions::new().with_cache(CacheOptions::new(max_entries)),
    )
}

#[test]
fn cache_hits_follow_the_uncached_rules() {
    let keys = KeySet::new(key(1));
    let uncached = Verifier::from_key_set(&keys, VerificationOptions::new());
    let cached = cached_verifier(&keys, 100);
    let mut c = claims(NOW, NOW + 100);
    c.nbf = Some(NOW + 2);
    let token = mint(&keys, &c);
    assert!(cached.verify(&token, NOW).is_ok());
    assert_eq!(cached.cached_tokens(), 1);
    // The same answers as the uncached path at every instant around every boundary.
    for now in (NOW - 20..NOW + 20)
        .chain(NOW + 90..NOW + 120)
        .chain([i64::MIN, i64::MAX])
    {
        assert_eq!(
            cached.verify(&token, now),
            uncached.verify(&token, now),
            "now = {now}"
        );
        // Put it back in the cache if an expired check dropped it.
        let _ = cached.verify(&token, NOW);
    }
    assert_eq!(
        cached.verify(&token, NOW + 105).unwrap_err(),
        VerifyError::Expired
    );
}

#[test]
fn cache_forgets_retired_and_replaced_keys() {
    let mut keys = KeySet::new(key(1));
    let token = mint(&keys, &claims(NOW, NOW + 100));
    keys.rotate(key(2));
    let verifier = cached_verifier(&keys, 100);
    assert!(verifier.verify(&token, NOW).is_ok());
    assert_eq!(verifier.cached_tokens(), 1);
    keys.retire(key(1).kid()).unwrap();
    verifier.replace_key_set(&keys);
    assert_eq!(verifier.cached_tokens(), 0);
    assert_eq!(
        verifier.verify(&token, NOW).unwrap_err(),
        VerifyError::UnknownKeyId
    );

    // Same kid mapped to a different public key: the cached entry is not served.
    let keys = KeySet::new(key(1));
    let token = mint(&keys, &claims(NOW, NOW + 100));
    let verifier = cached_verifier(&keys, 100);
    assert!(verifier.verify(&token, NOW).is_ok());
    let mut swapped = KeySet::new(key(3)).jwks();
    swapped.keys[0].kid = Some(key(1).kid().to_owned());
    verifier.replace_keys(&swapped).unwrap();
    assert_eq!(
        verifier.verify(&token, NOW).unwrap_err(),
        VerifyError::BadSignature
    );

    verifier.replace_key_set(&keys);
    assert!(verifier.verify(&token, NOW).is_ok());
    verifier.clear_cache();
    assert_eq!(verifier.cached_tokens(), 0);
}

#[test]
fn cache_is_bounded() {
    let keys = KeySet::new(key(1));
    let minter = TokenMinter::new(keys.clone());
    let verifier = cached_verifier(&keys, 8);
    for i in 0..50 {
        let mut c = claims(NOW, NOW + 100);
        c.jti = format!("jti-{i}");
        verifier.verify(&minter.mint(&c).unwrap(), NOW).unwrap();
        assert!(verifier.cached_tokens() <= 8);
    }
}

#[test]
fn cache_hit_is_much_cheaper_than_a_signature_check() {
    let keys = KeySet::new(key(1));
    let token = mint(&keys, &claims(NOW, NOW + 100));
    let uncached = Verifier::from_key_set(&keys, VerificationOptions::new());
    let cached = cached_verifier(&keys, 100);
    cached.verify(&token, NOW).unwrap();
    let time = |v: &Verifier| {
        let start = Instant::now();
        for _ in 0..200 {
            v.verify(&token, NOW).unwrap();
        }
        start.elapsed()
    };
    let (slow, fast) = (time(&uncached), time(&cached));
    println!("200 verifies: uncached {slow:?}, cached {fast:?}");
    assert!(fast < slow, "cached {fast:?} vs uncached {slow:?}");
}

#[test]
fn key_formats_round_trip() {
    let k = SigningKey::generate();
    assert_eq!(SigningKey::from_pkcs8_pem(&k.to_pkcs8_pem()).unwrap(), k);
    assert_eq!(SigningKey::from_jwk(&k.to_private_jwk()).unwrap(), k);
    let json = serde_json::to_string(&k.to_private_jwk()).unwrap();
    let back: ak_token::Jwk = serde_json::from_str(&json).unwrap();
    assert_eq!(SigningKey::from_jwk(&back).unwrap(), k);
    assert_eq!(k.public_jwk().thumbprint().unwrap(), k.kid());
    let public = serde_json::to_value(k.public_jwk()).unwrap();
    assert_eq!(
        public
            .as_object()
            .unwrap()
            .keys()
            .collect::<std::collections::BTreeSet<_>>(),
        ["alg", "crv", "kid", "kty", "use", "x"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .iter()
            .collect()
    );
    assert_eq!(public["kty"], "OKP");
    assert_eq!(public["crv"], "Ed25519");
    assert_eq!(public["alg"], "EdDSA");
    assert_eq!(public["use"], "sig");
    // Minting is deterministic.
    let keys = KeySet::new(k);
    assert_eq!(
        mint(&keys, &claims(NOW, NOW + 1)),
        mint(&keys, &claims(NOW, NOW + 1))
    );
}

#[test]
fn secrets_never_appear_in_debug() {
    let k = key(7);
    let jwk = k.to_private_jwk();
    let d = jwk.d.as_deref().unwrap().clone();
    let pem = k.to_pkcs8_pem();
    let pem_body = pem.lines().nth(1).unwrap().to_owned();
    let mut keys = KeySet::new(k.clone());
    keys.rotate(key(8));
    let minter = TokenMinter::new(keys.clone());
    let verifier = Verifier::from_key_set(&keys, VerificationOptions::new());
    let seed_hex: String = [7u8; 32].iter().map(|b| format!("{b:02x}")).collect();
    for shown in [
        format!("{k:?}"),
        format!("{k:#?}"),
        format!("{keys:?}"),
        format!("{keys:#?}"),
        format!("{jwk:?}"),
        format!("{minter:?}"),
        format!("{verifier:?}"),
    ] {
        assert!(!shown.contains(&d), "{shown}");
        assert!(!shown.contains(&pem_body), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(!shown.contains(&seed_hex), "{shown}");
        assert!(!shown.contains("[7, 7, 7"), "{shown}");
    }
    assert!(format!("{k:?}").contains(k.kid()));
}

/// Found by the claims_validation fuzz target: without serde_json's `float_roundtrip`, a claim of
/// `1e-30` came back from a verified token as `9.999999999999999e-31`.
#[test]
fn float_claims_keep_their_exact_value_through_a_token() {
    use ak_token::{KeySet, SessionClaims, SigningKey, TokenMinter, VerificationOptions, Verifier};
    let keys = KeySet::new(SigningKey::from_seed(&[3; 32]));
    let minter = TokenMinter::new(keys.clone());
    let verifier = Verifier::from_key_set(&keys, VerificationOptions::new());
    for value in [
        1e-30,
        0.1,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        5e-324,
        123456.789,
    ] {
        let mut claims = SessionClaims::new("p", "k", 1_700_000_000, 1_700_000_600, "j");
        claims.custom.insert("n".into(), serde_json::json!(value));
        let token = minter.mint(&claims).unwrap();
        let verified = verifier.verify(&token, 1_700_000_000).unwrap();
        assert_eq!(
            verified.custom_claim("n"),
            Some(&serde_json::json!(value)),
            "{value:e}"
        );
    }
}
