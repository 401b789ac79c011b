//! The committed golden vectors: regeneration is byte-identical, valid vectors mint to the committed bytes and
//! verify to their claims, and every invalid vector fails with its expected error.

#[path = "vector_gen/mod.rs"]
mod vector_gen;

use std::collections::BTreeSet;
use std::path::Path;

use ak_token::{KeySet, SigningKey, TokenMinter, VerificationOptions, Verifier};
use vector_gen::{InvalidVector, KeysFile, ValidVector, VerifierConfig};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn files_in(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn keys() -> KeysFile {
    serde_json::from_str(&read(&root().join("tests/vectors/keys.json"))).unwrap()
}

fn verifier(config: &VerifierConfig) -> Verifier {
    let mut options = VerificationOptions::new();
    options.issuer.clone_from(&config.issuer);
    options.audience.clone_from(&config.audience);
    Verifier::new(&keys().jwks, options).unwrap()
}

#[test]
fn regeneration_matches_committed_files() {
    let generated = vector_gen::generate();
    for (path, contents) in &generated {
        let committed = read(&root().join(path));
        assert!(
            committed == *contents,
            "{path} differs from a fresh generation; run `cargo run -p ak-token --example gen_vectors`"
        );
    }
    // No stale committed files.
    let expected: BTreeSet<_> = generated.iter().map(|(p, _)| root().join(p)).collect();
    for dir in ["tests/vectors/valid", "tests/vectors/invalid"] {
        for file in files_in(dir) {
            assert!(expected.contains(&file), "stale vector {}", file.display());
        }
    }
}

#[test]
fn keys_file_is_consistent() {
    let keys = keys();
    let from_jwk = SigningKey::from_jwk(&keys.active_private_jwk).unwrap();
    let from_pem = SigningKey::from_pkcs8_pem(&keys.active_pkcs8_pem).unwrap();
    assert_eq!(from_jwk, from_pem);
    assert_eq!(keys.jwks.keys.len(), 1);
    assert_eq!(keys.jwks.keys[0], from_jwk.public_jwk());
    assert!(keys.jwks.keys.iter().all(|k| k.d.is_none()));
}

#[test]
fn valid_vectors_mint_and_verify() {
    let keys = keys();
    let minter = TokenMinter::new(KeySet::new(
        SigningKey::from_jwk(&keys.active_private_jwk).unwrap(),
    ));
    let files = files_in("tests/vectors/valid");
    assert!(files.len() >= 8);
    for file in files {
        let v: ValidVector = serde_json::from_str(&read(&file)).unwrap();
        assert_eq!(
            minter.mint(&v.claims).unwrap(),
            v.token,
            "{}: minted bytes differ",
            v.name
        );
        let verified = verifier(&v.verifier)
            .verify(&v.token, v.now)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(verified.claims(), &v.claims, "{}", v.name);
        assert_eq!(verified.kid(), minter.key_set().active().kid());
    }
}

#[test]
fn invalid_vectors_are_rejected_with_the_expected_error() {
    let files = files_in("tests/vectors/invalid");
    assert!(files.len() >= 30);
    let mut seen = BTreeSet::new();
    for file in files {
        let v: InvalidVector = serde_json::from_str(&read(&file)).unwrap();
        let err = verifier(&v.verifier).verify(&v.token, v.now).err();
        assert_eq!(
            err.map(|e| e.code()),
            Some(v.expected_error.as_str()),
            "{}",
            v.name
        );
        seen.insert(v.expected_error.clone());
        // The same answer with the cache on (twice: miss, then whatever the cache holds).
        let mut config = VerificationOptions::new().with_cache(ak_token::CacheOptions::default());
        config.issuer.clone_from(&v.verifier.issuer);
        config.audience.clone_from(&v.verifier.audience);
        let cached = Verifier::new(&keys().jwks, config).unwrap();
        for _ in 0..2 {
            assert_eq!(
                cached.verify(&v.token, v.now).err().map(|e| e.code()),
                Some(v.expected_error.as_str())
            );
        }
    }
    // Every error kind is exercised by the catalog.
    for code in [
        "too_large",
        "malformed",
        "unsupported_algorithm",
        "critical_header",
        "missing_key_id",
        "unknown_key_id",
        "bad_signature",
        "invalid_claims",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "wrong_issuer",
        "wrong_audience",
    ] {
        assert!(seen.contains(code), "no vector for {code}");
    }
}
