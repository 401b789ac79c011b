//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`) through the same target
//! functions the libFuzzer binaries run (`fuzz/src/targets.rs`), so `cargo test` exercises each
//! seed and each crash regression without the fuzzer.

#[path = "../../fuzz/src/targets.rs"]
#[allow(dead_code, unreachable_pub)]
mod targets;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no seeds", dir.display());
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    for path in corpus(target) {
        let data = std::fs::read(&path).expect("read corpus file");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
    }
}

/// One test per fuzz target, named after it, replaying its corpus through its function.
macro_rules! replay_tests {
    ($($target:ident),+ $(,)?) => {$(
        #[test]
        fn $target() {
            replay(stringify!($target), targets::$target);
        }
    )+};
}

replay_tests!(
    key_parse,
    token_verify,
    jwks_parse,
    claims_validation,
    ip_rule,
    sled_record,
    store_model,
);

/// The seeds that need ak itself to make (a real key, a token signed by the fuzz key); the other
/// seeds are plain files. Regenerate with `cargo test -p ak-benches --test fuzz_corpora -- --ignored`.
#[test]
#[ignore = "writes seed files into fuzz/corpus"]
fn write_generated_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let real = targets::real_key();
    std::fs::write(root.join("key_parse/real_key"), &real).expect("write");
    let signed = targets::token_from_input(
        b"\x01{\"iss\":\"P2fuzz\",\"sub\":\"K2key\",\"iat\":1700000000,\"exp\":1700000600,\"jti\":\"j\"}",
    )
    .expect("a token");
    let mut raw = vec![0u8];
    raw.extend_from_slice(signed.as_bytes());
    std::fs::write(root.join("token_verify/raw_valid_token"), raw).expect("write");

    // Chosen signature bytes (mode 3): the valid ones, and a small-order R (the identity) with S = 0.
    let payload = br#"{"iss":"P2fuzz","sub":"K2key","iat":1700000000,"exp":1700000600,"jti":"j"}"#;
    let mut mode_one = vec![1u8];
    mode_one.extend_from_slice(payload);
    let signed = targets::token_from_input(&mode_one).expect("a token");
    let (_, signature) = signed.rsplit_once('.').expect("three segments");
    use base64::Engine as _;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .expect("base64url");
    let mut identity_r = [0u8; 64];
    identity_r[0] = 1;
    // Mode 4 computes S = k·a itself: R = identity satisfies the plain equation (a forgery by
    // the key holder that strict rules refuse); R = the order-2 point does not.
    let mut order_two_r = [0xffu8; 32];
    order_two_r[0] = 0xec;
    order_two_r[31] = 0x7f;
    for (name, mode, chosen) in [
        ("sig_valid", 3u8, signature.as_slice()),
        ("sig_identity_r", 3, &identity_r[..]),
        ("forged_identity_r", 4, &identity_r[..32]),
        ("forged_order_two_r", 4, &order_two_r[..]),
    ] {
        let mut input = vec![mode];
        input.extend_from_slice(chosen);
        input.extend_from_slice(payload);
        std::fs::write(root.join("token_verify").join(name), input).expect("write");
    }

    // sled records in the current format (the format byte is first).
    use ak_sled::record_codec::encode;
    use ak_testkit::fixtures::{full_record, object, record};
    let id = targets::SLED_RECORD_ID;
    let mut floats = record(id, "floats", 0);
    floats.key.custom_claims =
        object(serde_json::json!({"a": 1e-30, "b": 0.1, "c": 5e-324, "d": -1.7976931348623157e308}));
    floats.key.custom_attributes =
        object(serde_json::json!({"x": 123_456.789, "nested": {"y": [1, 2.5, null]}}));
    let mut stale = encode(&record(id, "n", 0)).expect("encode");
    stale[0] = stale[0].wrapping_sub(1);
    for (name, bytes) in [
        ("full", encode(&full_record(id)).expect("encode")),
        ("minimal", encode(&record(id, "n", 0)).expect("encode")),
        ("floats", encode(&floats).expect("encode")),
        ("wrong_id", encode(&record("other", "n", 0)).expect("encode")),
        ("older_format", stale),
    ] {
        std::fs::write(root.join("sled_record").join(name), bytes).expect("write");
    }
}
