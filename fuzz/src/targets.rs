//! Fuzz target bodies, shared by the libFuzzer binaries (`fuzz/fuzz_targets/*.rs`) and by the
//! corpus replay test of the workspace (`benches/tests/fuzz_corpora.rs`, which includes this file
//! with `#[path]`).
//!
//! Every function takes arbitrary bytes, never panics on hostile input, and asserts a property of
//! the parser it drives (a round trip, an agreement with a reference, or a limit), so a failed
//! assertion is a finding, not noise.
//!
//! Dependencies: `ak` (feature `sled`), `ak-core`, `ak-token`, `ak-sled`, `ak-testkit`, `base64`,
//! `curve25519-dalek`, `ed25519-dalek`, `ipnet`, `serde_json`, `sha2`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

use ak::{AccessKeys, CreateKey, ExchangeError, ExchangeOptions};
use ak_core::limits::{MAX_CUSTOM_ATTRIBUTES_BYTES, MAX_CUSTOM_CLAIMS_BYTES, MAX_EXCHANGE_CLAIMS_BYTES};
use ak_core::validate::{self, RESERVED_CLAIMS};
use ak_core::{AuthError, KeyManager, ManualClock, MemoryKeyStore, SeededRandom, fuzzing, ip};
use ak_testkit::model::{Op, check_sequence};
use ak_token::{
    CacheOptions, Jwks, KeySet, SessionClaims, SigningKey, TokenMinter, VerificationOptions, Verifier,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ipnet::IpNet;
use serde_json::{Map, Value};
use sha2::Digest as _;

/// The fixed "now" of every target (Unix seconds).
pub const NOW: i64 = 1_700_000_000;
/// The seed of the signing key the token targets use.
pub const SIGNING_SEED: [u8; 32] = [7; 32];
/// The id under which [`sled_record`] decodes its input.
pub const SLED_RECORD_ID: &str = "fuzz-record";
/// The seed of the random source behind [`key_parse`]'s one real key.
pub const KEY_SEED: u64 = 8;

// --- access-key parsing -------------------------------------------------------------------------

struct KeyFixture {
    manager: KeyManager,
    cleartext: String,
}

/// A manager over a memory store holding one real key, made deterministically from [`KEY_SEED`].
fn key_fixture() -> &'static KeyFixture {
    static FIXTURE: OnceLock<KeyFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let manager = KeyManager::builder(Arc::new(MemoryKeyStore::new()))
            .clock(Arc::new(ManualClock::new(NOW)))
            .random(Arc::new(SeededRandom::new(KEY_SEED)))
            .build()
            .expect("default manager settings are valid");
        let created = manager
            .create(CreateKey::named("fuzz"))
            .expect("creating a key in memory succeeds");
        KeyFixture {
            cleartext: created.cleartext.expose_secret().to_owned(),
            manager,
        }
    })
}

/// The cleartext of [`key_parse`]'s one real key (for its seed corpus).
pub fn real_key() -> String {
    key_fixture().cleartext.clone()
}

/// Access-key parsing. Anything the parser accepts re-encodes to exactly the input (so the format
/// is canonical: one key, one spelling), uses only `[a-z0-9_]`, and names a key id that is a
/// valid identifier. Authentication never panics, succeeds only for the exact real key, and fails
/// with `InvalidKey` for everything else (garbage, near misses, unknown ids).
pub fn key_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(parsed) = fuzzing::parse_key(text) {
        assert_eq!(
            fuzzing::format_key(&parsed.prefix, &parsed.id, &parsed.secret),
            text,
            "an accepted key re-encodes to itself"
        );
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
        assert!(validate::id("id", &parsed.id).is_ok());
    }
    let fixture = key_fixture();
    let result = fixture.manager.authenticate_at(text, None, NOW);
    // The prefix is not part of the secret, so the real id and secret under another prefix (with
    // its own valid checksum) is the real key too.
    let real = fuzzing::parse_key(&fixture.cleartext);
    let is_real = fuzzing::parse_key(text)
        .zip(real)
        .is_some_and(|(given, real)| given.id == real.id && given.secret == real.secret);
    if is_real {
        assert!(result.is_ok(), "the real key authenticates: {result:?}");
    } else {
        assert!(
            matches!(result, Err(AuthError::InvalidKey)),
            "anything but the real key is InvalidKey: {result:?}"
        );
    }
}

// --- token verification -------------------------------------------------------------------------

struct TokenFixture {
    key: SigningKey,
    minter: TokenMinter,
    plain: Verifier,
    cached: Verifier,
    /// The same key as ed25519-dalek sees it: its secret scalar (for mode 4) and public key (for
    /// the `verify_strict` comparison).
    scalar: curve25519_dalek::Scalar,
    verifying: ed25519_dalek::VerifyingKey,
}

fn token_fixture() -> &'static TokenFixture {
    static FIXTURE: OnceLock<TokenFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::from_seed(&SIGNING_SEED);
        let keys = KeySet::new(key.clone());
        let options = VerificationOptions::new()
            .with_issuer("P2fuzz")
            .with_max_token_len(ak::MAX_SESSION_TOKEN_BYTES);
        let dalek = ed25519_dalek::SigningKey::from_bytes(&SIGNING_SEED);
        TokenFixture {
            scalar: dalek.to_scalar(),
            verifying: dalek.verifying_key(),
            plain: Verifier::from_key_set(&keys, options.clone()),
            cached: Verifier::from_key_set(&keys, options.with_cache(CacheOptions::default())),
            minter: TokenMinter::new(keys),
            key,
        }
    })
}

/// The header ak writes, for the fixed signing key.
pub fn token_header() -> String {
    format!(
        r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#,
        token_fixture().key.kid()
    )
}

/// Builds the token a [`token_verify`] input stands for: mode byte 0 is the token text itself; 1
/// signs the rest as the payload under ak's header; 2 takes one length byte, then that many
/// header bytes and the payload, and signs them (so header and claims parsing sit behind a valid
/// signature, where random bytes would never reach); 3 takes 64 signature bytes, then the
/// payload, and puts those bytes where the valid signature of that payload would be (so the
/// signature rules meet chosen `R` and `S` values); 4 takes 32 bytes of `R`, then the payload,
/// and signs with that `R` and `S = k·a` (`k` the challenge hash, `a` the key's scalar), which
/// satisfies the plain Ed25519 equation exactly when `R` is the identity: a forgery only the key
/// holder can make, which strict rules refuse. Other mode bytes count modulo 3.
pub fn token_from_input(data: &[u8]) -> Option<String> {
    let (&mode, rest) = data.split_first()?;
    let fixture = token_fixture();
    let key = &fixture.key;
    if mode == 3 || mode == 4 {
        let (chosen, payload) = rest.split_at_checked(if mode == 3 { 64 } else { 32 })?;
        let signed = key.sign_compact(token_header().as_bytes(), payload);
        let (input, _) = signed.rsplit_once('.')?;
        let signature = if mode == 3 {
            chosen.to_vec()
        } else {
            let k = curve25519_dalek::Scalar::from_hash(
                sha2::Sha512::new()
                    .chain_update(chosen)
                    .chain_update(key.public_key_bytes())
                    .chain_update(input.as_bytes()),
            );
            [chosen, (k * fixture.scalar).as_bytes()].concat()
        };
        return Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)));
    }
    match mode % 3 {
        0 => std::str::from_utf8(rest).ok().map(str::to_owned),
        1 => Some(key.sign_compact(token_header().as_bytes(), rest)),
        _ => {
            let (&len, rest) = rest.split_first()?;
            let len = usize::from(len).min(rest.len());
            let (header, payload) = rest.split_at(len);
            Some(key.sign_compact(header, payload))
        }
    }
}

/// Token verification of arbitrary bytes. Never panics; the cached verifier agrees with the
/// uncached one (first and second time); a verified token has our `kid` and issuer, its claims
/// re-serialize and parse back equal, and re-minting them yields a token that verifies to the
/// same claims.
pub fn token_verify(data: &[u8]) {
    let Some(token) = token_from_input(data) else {
        return;
    };
    let fixture = token_fixture();
    let plain = fixture.plain.verify(&token, NOW);
    signature_rules_agree(&token, &plain);
    assert_eq!(fixture.cached.verify(&token, NOW), plain, "cache miss agrees");
    assert_eq!(fixture.cached.verify(&token, NOW), plain, "cache hit agrees");
    let Ok(verified) = plain else {
        return;
    };
    assert_eq!(verified.kid(), fixture.key.kid());
    let claims = verified.claims();
    assert_eq!(claims.iss, "P2fuzz");
    assert!(claims.exp > NOW - i64::try_from(ak_token::DEFAULT_LEEWAY_SECS).unwrap_or(0));
    let json = serde_json::to_string(claims).expect("verified claims serialize");
    let back: SessionClaims = serde_json::from_str(&json).expect("serialized claims parse");
    assert_eq!(&back, claims, "claims round-trip through JSON");
    let again = fixture
        .minter
        .mint(claims)
        .expect("verified claims can be re-minted");
    let reverified = fixture
        .plain
        .verify(&again, NOW)
        .expect("a re-minted token verifies");
    assert_eq!(reverified.claims(), claims);
}

/// ak's signature check accepts exactly what ed25519-dalek's `verify_strict` accepts: a token
/// that verifies has a signature `verify_strict` accepts, and one refused for its signature has
/// none.
fn signature_rules_agree(token: &str, outcome: &Result<ak_token::VerifiedToken, ak_token::VerifyError>) {
    let strict = || -> Option<bool> {
        let (input, signature) = token.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let signature = ed25519_dalek::Signature::from_slice(&signature).ok()?;
        Some(
            token_fixture()
                .verifying
                .verify_strict(input.as_bytes(), &signature)
                .is_ok(),
        )
    };
    use ak_token::VerifyError as E;
    match outcome {
        // Refused before the signature was looked at.
        Err(
            E::TooLarge
            | E::Malformed
            | E::UnsupportedAlgorithm
            | E::CriticalHeader
            | E::MissingKeyId
            | E::UnknownKeyId,
        ) => {}
        Err(E::BadSignature) => {
            assert_ne!(
                strict(),
                Some(true),
                "ak refused a signature verify_strict accepts"
            );
        }
        // Accepted, or refused by a check that runs after the signature was accepted.
        _ => assert_eq!(
            strict(),
            Some(true),
            "ak accepted a signature verify_strict refuses"
        ),
    }
}

// --- JWKS parsing -------------------------------------------------------------------------------

/// JWKS (and private key-set file) parsing. A parsed JWKS re-serializes and re-parses equal, with
/// a stable serialization; a verifier built from it knows exactly its keys; any JWK that loads as
/// a signing key has the `x` it claims. A parsed private key-set file round-trips its kids.
pub fn jwks_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(jwks) = Jwks::from_json(text) {
        let json = jwks.to_json();
        let again = Jwks::from_json(&json).expect("a serialized JWKS parses");
        assert_eq!(again, jwks, "JWKS round-trip");
        assert_eq!(again.to_json(), json, "stable serialization");
        for jwk in &jwks.keys {
            let _ = jwk.thumbprint();
            let _ = format!("{jwk:?}");
            if let Ok(key) = SigningKey::from_jwk(jwk) {
                assert_eq!(key.public_jwk().x, jwk.x);
            }
        }
        if let Ok(verifier) = Verifier::new(&jwks, VerificationOptions::new()) {
            let mut kids = verifier.kids();
            kids.sort();
            kids.dedup();
            assert_eq!(kids.len(), jwks.keys.len(), "one verifying key per JWK");
            for jwk in &jwks.keys {
                assert!(!jwk.is_private(), "private keys never verify");
            }
        }
    }
    if let Ok(set) = KeySet::from_json(text) {
        let json = set.to_json();
        let again = KeySet::from_json(&json).expect("a serialized key set parses");
        assert_eq!(again.kids(), set.kids());
        assert_eq!(again.active().kid(), set.active().kid());
    }
}

// --- custom claims and custom attributes --------------------------------------------------------

struct ServiceFixture {
    keys: AccessKeys,
}

fn service_fixture() -> &'static ServiceFixture {
    static FIXTURE: OnceLock<ServiceFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| ServiceFixture {
        keys: AccessKeys::builder()
            .store(MemoryKeyStore::new())
            .signing_keys(KeySet::new(SigningKey::from_seed(&SIGNING_SEED)))
            .issuer("P2fuzz")
            .clock(Arc::new(ManualClock::new(NOW)))
            .random(Arc::new(SeededRandom::new(KEY_SEED)))
            .build()
            .expect("service settings are valid"),
    })
}

fn json_len(map: &Map<String, Value>) -> usize {
    serde_json::to_vec(map).map_or(usize::MAX, |bytes| bytes.len())
}

/// Custom claims and custom attributes validation. With a JSON object, each validator accepts
/// exactly what is within its limits (and, for key claims, has no empty or reserved names), and
/// accepted key claims always mint and verify unchanged. With a JSON `CreateKey` request, a key
/// that is created always exchanges (or, only when the token would exceed the size limit, fails
/// with `TokenTooLarge`), and its token carries exactly the key's claims.
pub fn claims_validation(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Value::Object(map) = &value {
        let len = json_len(map);
        let claims_ok = len <= MAX_CUSTOM_CLAIMS_BYTES
            && map
                .keys()
                .all(|name| !name.is_empty() && !RESERVED_CLAIMS.contains(&name.as_str()));
        assert_eq!(validate::custom_claims(map).is_ok(), claims_ok, "customClaims");
        assert_eq!(
            validate::custom_attributes(map).is_ok(),
            len <= MAX_CUSTOM_ATTRIBUTES_BYTES,
            "customAttributes"
        );
        assert_eq!(
            validate::exchange_claims(map).is_ok(),
            len <= MAX_EXCHANGE_CLAIMS_BYTES,
            "exchange claims"
        );
        if claims_ok {
            let fixture = token_fixture();
            let mut claims = SessionClaims::new("P2fuzz", "K2fuzz", NOW, NOW + 600, "jti");
            claims.custom = map.clone();
            claims.nsec = Some(map.clone());
            let token = fixture
                .minter
                .mint(&claims)
                .expect("accepted custom claims always mint");
            let verified = fixture.plain.verify(&token, NOW).expect("and verify");
            assert_eq!(verified.claims(), &claims, "custom claims survive the token");
        }
    }
    let Ok(request) = serde_json::from_value::<CreateKey>(value) else {
        return;
    };
    let keys = &service_fixture().keys;
    let Ok(created) = keys.create(request.clone()) else {
        return;
    };
    assert!(validate::custom_claims(&request.custom_claims).is_ok());
    assert!(validate::custom_attributes(&request.custom_attributes).is_ok());
    assert!(validate::permitted_ips(&request.permitted_ips).is_ok());
    assert_eq!(created.key.custom_claims, request.custom_claims);
    assert_eq!(created.key.custom_attributes, request.custom_attributes);
    let loaded = keys.load(&created.key.id).expect("a created key loads");
    assert_eq!(loaded, created.key);
    let options = ExchangeOptions {
        client_ip: Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))),
        ..ExchangeOptions::default()
    };
    match keys.exchange(created.cleartext.expose_secret(), &options) {
        Ok(session) => {
            let verified = keys
                .validate_session(&session.session_jwt)
                .expect("a fresh session token validates");
            assert_eq!(verified.key_id(), created.key.id);
            let mut expected = created.key.custom_claims.clone();
            if let Some(user) = &created.key.bound_user_id {
                expected.insert(ak::BOUND_USER_CLAIM.to_owned(), Value::String(user.clone()));
            }
            assert_eq!(verified.custom_claims(), &expected);
        }
        Err(ExchangeError::TokenTooLarge) => {}
        // Keys with permitted IPs that exclude the client fail closed, as they must.
        Err(ExchangeError::Auth(AuthError::IpNotPermitted)) => {
            assert!(!ip::is_permitted(&created.key.permitted_ips, options.client_ip));
        }
        Err(other) => panic!("a created key failed to exchange: {other:?}"),
    }
    keys.delete(&created.key.id).expect("a created key deletes");
}

// --- permitted IPs ------------------------------------------------------------------------------

/// Splits an [`ip_rule`] input: flag byte (bit 0: IPv4 client, else IPv6), the client's address
/// bytes, then the entry text.
pub fn ip_input(data: &[u8]) -> Option<(IpAddr, &str)> {
    let (&flags, rest) = data.split_first()?;
    let (client, rest) = if flags & 1 == 1 {
        let (bytes, rest) = rest.split_first_chunk::<4>()?;
        (IpAddr::V4(Ipv4Addr::from(*bytes)), rest)
    } else {
        let (bytes, rest) = rest.split_first_chunk::<16>()?;
        (IpAddr::V6(Ipv6Addr::from(*bytes)), rest)
    };
    Some((client, std::str::from_utf8(rest).ok()?))
}

/// Permitted-IP / CIDR parsing. `parse_rule` agrees with `std` address parsing (an accepted entry
/// is a std address, or a std address and a decimal prefix length within range, and a bare
/// address std accepts is accepted), an accepted rule's display re-parses to itself, validation
/// agrees with parsing, and `is_permitted` is exactly containment of the canonical client address
/// (failing closed without a client, open with no entries).
pub fn ip_rule(data: &[u8]) {
    let Some((client, entry)) = ip_input(data) else {
        return;
    };
    let parsed = ip::parse_rule(entry);
    match (&parsed, entry.split_once('/')) {
        (Ok(net), None) => {
            assert_eq!(entry.parse::<IpAddr>().ok(), Some(net.addr()));
            assert_eq!(net.prefix_len(), net.max_prefix_len());
        }
        (Ok(net), Some((address, prefix))) => {
            assert_eq!(address.parse::<IpAddr>().ok(), Some(net.addr()));
            assert_eq!(prefix.parse::<u8>().ok(), Some(net.prefix_len()));
        }
        (Err(_), None) => assert!(entry.parse::<IpAddr>().is_err()),
        (Err(_), Some((address, prefix))) => {
            // A canonical decimal prefix within range on a std address must be accepted.
            let canonical = !prefix.is_empty()
                && prefix.len() <= 3
                && prefix.bytes().all(|b| b.is_ascii_digit())
                && (prefix == "0" || !prefix.starts_with('0'));
            if let (true, Ok(address), Ok(len)) = (canonical, address.parse::<IpAddr>(), prefix.parse::<u8>())
            {
                let max = if address.is_ipv4() { 32 } else { 128 };
                assert!(len > max, "{entry:?} rejected");
            }
        }
    }
    if let Ok(net) = &parsed {
        assert_eq!(ip::parse_rule(&net.to_string()).as_ref(), Ok(net));
    }
    let entries = [entry.to_owned()];
    assert_eq!(validate::permitted_ips(&entries).is_ok(), parsed.is_ok());
    let expected = parsed
        .as_ref()
        .is_ok_and(|net: &IpNet| net.contains(&client.to_canonical()));
    assert_eq!(ip::is_permitted(&entries, Some(client)), expected);
    assert!(
        !ip::is_permitted(&entries, None),
        "no client address fails closed"
    );
    assert!(ip::is_permitted(&[], Some(client)));
}

// --- sled record decoding -----------------------------------------------------------------------

/// sled record decoding. `decode` never panics; whatever it accepts carries the id it was asked
/// for, and encodes to bytes that decode to an equal record (and re-encode identically).
pub fn sled_record(data: &[u8]) {
    use ak_sled::record_codec::{decode, encode};
    let Ok(record) = decode(SLED_RECORD_ID, data) else {
        return;
    };
    assert_eq!(record.id(), SLED_RECORD_ID);
    let bytes = encode(&record).expect("a decoded record encodes");
    let back = decode(SLED_RECORD_ID, &bytes).expect("an encoded record decodes");
    assert_eq!(back, record, "decode(encode(r)) == r");
    assert_eq!(encode(&back).expect("encodes again"), bytes, "encoding is stable");
}

// --- store model --------------------------------------------------------------------------------

/// Decodes a [`store_model`] input into at most 64 operations, a few bytes each.
pub fn model_ops(data: &[u8]) -> Vec<Op> {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let mut ops = Vec::new();
    while ops.len() < 64 {
        let Some(tag) = next() else { break };
        let Some(arg) = next() else { break };
        let slot = usize::from(arg % 5);
        let op = match tag % 16 {
            0..=3 => Op::Insert {
                slot,
                variant: next().unwrap_or(0),
            },
            4 | 5 => Op::Get(slot),
            6..=8 => {
                let variant = next().unwrap_or(0);
                let offset = match arg / 5 % 8 {
                    6 => -1,
                    7 => 1,
                    _ => 0,
                };
                Op::Update {
                    slot,
                    variant,
                    offset,
                }
            }
            9 | 10 => Op::SetStatus {
                slots: slots(arg, next()),
                active: tag & 0x80 != 0,
            },
            11 => Op::Delete(slots(arg, next())),
            12..=14 => Op::Search {
                filter: next().unwrap_or(0),
                by_name: arg & 1 != 0,
                descending: arg & 2 != 0,
                limit: 1 + u32::from(arg >> 2) % 3,
            },
            _ => Op::Reopen,
        };
        ops.push(op);
    }
    ops
}

/// One to three slots (0..=5; slot 5 is never inserted, so it is an unknown id).
fn slots(arg: u8, more: Option<u8>) -> Vec<usize> {
    let more = more.unwrap_or(0);
    let count = 1 + usize::from(arg % 3);
    [arg / 3, more, more / 6]
        .iter()
        .take(count)
        .map(|byte| usize::from(*byte % 6))
        .collect()
}

/// The store model: operation sequences decoded from the bytes run against a fresh
/// `MemoryKeyStore` and `ak_testkit`'s `BTreeMap` model, which must agree on every result and on
/// the whole contents (by `get` and by paged search) after every step.
pub fn store_model(data: &[u8]) {
    let ops = model_ops(data);
    let factory = ak_testkit::memory_factory();
    if let Err(failure) = check_sequence(&factory, &ops) {
        panic!("store and model disagree: {failure}\n{ops:?}");
    }
}
