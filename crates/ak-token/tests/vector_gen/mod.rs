//! Deterministic generator of the committed token vectors under `tests/vectors/`.
//!
//! Shared by `examples/gen_vectors.rs` (which writes the files) and `tests/vectors.rs` (which checks that the
//! committed files equal a fresh generation). Keys come from fixed seeds: the active key's seed is the bytes
//! `0x00..=0x1f`, the "other" (never published) key's seed the bytes `0x20..=0x3f`. Every vector is verified at
//! [`NOW`] by a verifier for the active key only, configured as in its `verifier` member.

#![allow(dead_code)]

use ak_token::{Audience, Jwk, Jwks, KeySet, SessionClaims, SigningKey, TenantClaims, TokenMinter};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The verification time of every vector (2023-11-14T22:13:20Z).
pub(crate) const NOW: i64 = 1_700_000_000;
/// The issuer every verifier requires.
pub(crate) const ISSUER: &str = "P2akTestProject";
/// The audience of the vectors that configure one.
pub(crate) const AUDIENCE: &str = "P2akTestProject";

/// The active key.
pub(crate) fn active_key() -> SigningKey {
    SigningKey::from_seed(&core::array::from_fn(|i| u8::try_from(i).unwrap_or(0)))
}

/// A key that is not in the published JWKS.
pub(crate) fn other_key() -> SigningKey {
    SigningKey::from_seed(&core::array::from_fn(|i| u8::try_from(i + 32).unwrap_or(0)))
}

/// How the verifier of a vector is configured (leeway and size bound are the defaults: 5 s, 8 KiB).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VerifierConfig {
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
}

/// `tests/vectors/keys.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct KeysFile {
    pub(crate) description: String,
    pub(crate) active_private_jwk: Jwk,
    pub(crate) active_pkcs8_pem: String,
    pub(crate) other_private_jwk: Jwk,
    pub(crate) jwks: Jwks,
}

/// `tests/vectors/valid/*.json`: minting `claims` with the active key gives exactly `token`, and verifying `token`
/// at `now` gives back `claims`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ValidVector {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) now: i64,
    pub(crate) verifier: VerifierConfig,
    pub(crate) claims: SessionClaims,
    pub(crate) token: String,
}

/// `tests/vectors/invalid/*.json`: verifying `token` at `now` fails with `expected_error`
/// (a [`ak_token::VerifyError::code`]).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InvalidVector {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) now: i64,
    pub(crate) verifier: VerifierConfig,
    pub(crate) token: String,
    pub(crate) expected_error: String,
}

fn config(audience: bool) -> VerifierConfig {
    VerifierConfig {
        issuer: Some(ISSUER.to_owned()),
        audience: audience.then(|| AUDIENCE.to_owned()),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn object(pairs: &[(&str, Value)]) -> Map<String, Value> {
    // Inserted in sorted order so that the bytes are the same with or without serde_json's `preserve_order`.
    let mut sorted: Vec<_> = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn base_claims() -> SessionClaims {
    SessionClaims::new(ISSUER, "K2akTestAccessKey", NOW - 10, NOW + 590, "jti-0001")
}

fn tenants(entries: &[(&str, &[&str], &[&str])]) -> Option<std::collections::BTreeMap<String, TenantClaims>> {
    Some(
        entries
            .iter()
            .map(|(id, roles, perms)| {
                (
                    (*id).to_owned(),
                    TenantClaims {
                        roles: strings(roles),
                        permissions: strings(perms),
                    },
                )
            })
            .collect(),
    )
}

fn valid_vectors() -> Vec<ValidVector> {
    let mut out = Vec::new();
    let mut push = |name: &str, description: &str, audience: bool, claims: SessionClaims| {
        out.push(ValidVector {
            name: name.to_owned(),
            description: description.to_owned(),
            now: NOW,
            verifier: config(audience),
            claims,
            token: String::new(),
        });
    };

    push("minimal", "only the required claims", false, base_claims());

    let mut c = base_claims();
    c.roles = Some(strings(&["admin", "viewer"]));
    c.permissions = Some(strings(&["keys:read", "keys:write"]));
    push(
        "project_roles_permissions",
        "a key without tenants: top-level roles and permissions",
        false,
        c,
    );

    let mut c = base_claims();
    c.tenants = tenants(&[
        ("T2tenantOne", &["tenant-admin"], &["billing:read"]),
        ("T2tenantTwo", &[], &[]),
    ]);
    push(
        "tenants",
        "a key with tenants; an empty tenant object still associates",
        false,
        c,
    );

    let mut c = base_claims();
    c.tenants = tenants(&[("T2tenantOne", &["tenant-admin"], &["billing:read"])]);
    c.dct = Some("T2tenantOne".to_owned());
    push("selected_tenant", "a tenant selected at exchange (dct)", false, c);

    let mut c = base_claims();
    c.custom = object(&[
        ("k1", json!("v1")),
        ("tier", json!(3)),
        ("flags", json!({"beta": true})),
    ]);
    push(
        "custom_claims",
        "the key's custom claims at the top level",
        false,
        c,
    );

    let mut c = base_claims();
    c.nsec = Some(object(&[("nsec-k1", json!("nsec-v1")), ("n", json!([1, 2, 3]))]));
    push("nsec", "exchange-time custom claims under nsec", false, c);

    let mut c = base_claims();
    c.aud = Some(Audience::Many(strings(&[AUDIENCE, "other-audience"])));
    c.nbf = Some(NOW - 10);
    push(
        "aud_array_nbf",
        "aud as an array, with nbf; the verifier requires the audience",
        true,
        c,
    );

    let mut c = base_claims();
    c.aud = Some(Audience::Single(AUDIENCE.to_owned()));
    push(
        "aud_string",
        "aud as a single string; the verifier requires the audience",
        true,
        c,
    );

    let mut c = base_claims();
    c.aud = Some(Audience::Many(strings(&[AUDIENCE])));
    c.nbf = Some(NOW - 10);
    c.roles = Some(strings(&["admin"]));
    c.permissions = Some(strings(&["keys:read"]));
    c.tenants = tenants(&[
        ("T2tenantOne", &["r1", "r2"], &["p1"]),
        ("T2tenantTwo", &["r3"], &[]),
    ]);
    c.dct = Some("T2tenantTwo".to_owned());
    c.nsec = Some(object(&[("session", json!("s-1"))]));
    c.custom = object(&[
        ("name", json!("Zoë \"quoted\" \u{1F511}")),
        ("nothing", Value::Null),
    ]);
    push(
        "full",
        "every claim at once, with escaped and non-ASCII strings",
        true,
        c,
    );

    let minter = TokenMinter::new(KeySet::new(active_key()));
    for v in &mut out {
        v.token = minter.mint(&v.claims).unwrap_or_default();
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap_or_default()
}

/// HMAC-SHA-256 (RFC 2104), for the "HS256 with the public key as secret" vector.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The Ed25519 group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Replaces the signature's `S` by `S + L`: the same point equation holds, but the encoding is non-canonical.
fn add_l_to_s(signature: &mut [u8]) {
    let mut carry = 0u16;
    for (s, l) in signature[32..64].iter_mut().zip(L) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
}

fn header_json(alg: &str, kid: Option<&str>, extra: &str) -> String {
    match kid {
        Some(kid) => format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"{extra}}}"#),
        None => format!(r#"{{"alg":"{alg}","typ":"JWT"{extra}}}"#),
    }
}

fn payload_json(claims: &SessionClaims) -> String {
    serde_json::to_string(claims).unwrap_or_default()
}

fn invalid_vectors() -> Vec<InvalidVector> {
    let active = active_key();
    let other = other_key();
    let kid = active.kid().to_owned();
    let minter = TokenMinter::new(KeySet::new(active_key()));
    let mint = |c: &SessionClaims| minter.mint(c).unwrap_or_default();
    let good = mint(&base_claims());
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let base_payload = payload_json(&base_claims());
    let signed = |header: &str, payload: &str| active.sign_compact(header.as_bytes(), payload.as_bytes());
    let eddsa = header_json("EdDSA", Some(&kid), "");

    let mut out = Vec::new();
    let mut push = |name: &str, description: &str, audience: bool, token: String, expected: &str| {
        out.push(InvalidVector {
            name: name.to_owned(),
            description: description.to_owned(),
            now: NOW,
            verifier: config(audience),
            token,
            expected_error: expected.to_owned(),
        });
    };

    // Algorithm confusion.
    let none_header = b64(header_json("none", Some(&kid), "").as_bytes());
    push(
        "alg_none",
        "alg none with an empty signature",
        false,
        format!("{none_header}.{p}."),
        "unsupported_algorithm",
    );
    let hs_input = format!("{}.{p}", b64(header_json("HS256", Some(&kid), "").as_bytes()));
    let public_key = active.public_key_bytes();
    let mac = hmac_sha256(&public_key, hs_input.as_bytes());
    push(
        "alg_hs256_public_key_as_secret",
        "HS256 keyed with the raw Ed25519 public key (the classic key-confusion attack)",
        false,
        format!("{hs_input}.{}", b64(&mac)),
        "unsupported_algorithm",
    );
    let jwk_x = active.public_jwk().x;
    let hs_input = format!("{}.{p}", b64(header_json("HS256", Some(&kid), "").as_bytes()));
    let mac = hmac_sha256(jwk_x.as_bytes(), hs_input.as_bytes());
    push(
        "alg_hs256_jwk_x_as_secret",
        "HS256 keyed with the JWK's base64url x string",
        false,
        format!("{hs_input}.{}", b64(&mac)),
        "unsupported_algorithm",
    );
    push(
        "alg_rs256",
        "RS256 header (signature bytes are an Ed25519 signature)",
        false,
        signed(&header_json("RS256", Some(&kid), ""), &base_payload),
        "unsupported_algorithm",
    );
    push(
        "alg_lowercase",
        "alg eddsa: algorithm names are case-sensitive",
        false,
        signed(&header_json("eddsa", Some(&kid), ""), &base_payload),
        "unsupported_algorithm",
    );
    push(
        "alg_missing",
        "header without alg",
        false,
        signed(&format!(r#"{{"typ":"JWT","kid":"{kid}"}}"#), &base_payload),
        "malformed",
    );

    // Header extensions and keys.
    push(
        "crit_header",
        "a crit header naming an extension",
        false,
        signed(
            &header_json("EdDSA", Some(&kid), r#","crit":["exp"],"exp":1"#),
            &base_payload,
        ),
        "critical_header",
    );
    push(
        "crit_empty",
        "an empty crit header is still rejected",
        false,
        signed(&header_json("EdDSA", Some(&kid), r#","crit":[]"#), &base_payload),
        "critical_header",
    );
    push(
        "missing_kid",
        "header without kid",
        false,
        signed(&header_json("EdDSA", None, ""), &base_payload),
        "missing_key_id",
    );
    push(
        "unknown_kid",
        "signed by a key that is not in the JWKS (or was retired)",
        false,
        TokenMinter::new(KeySet::new(other_key()))
            .mint(&base_claims())
            .unwrap_or_default(),
        "unknown_key_id",
    );
    push(
        "kid_of_other_key",
        "names the published kid but is signed by another key",
        false,
        other.sign_compact(eddsa.as_bytes(), base_payload.as_bytes()),
        "bad_signature",
    );

    // Shape.
    push("empty", "the empty string", false, String::new(), "malformed");
    push(
        "two_segments",
        "header.payload without a signature",
        false,
        format!("{h}.{p}"),
        "malformed",
    );
    push(
        "four_segments",
        "an extra segment",
        false,
        format!("{good}.{s}"),
        "malformed",
    );
    push(
        "signature_padding",
        "base64 padding on the signature",
        false,
        format!("{good}=="),
        "malformed",
    );
    push(
        "whitespace_inside",
        "a space inside the payload",
        false,
        format!("{h}.{} {}.{s}", &p[..10], &p[10..]),
        "malformed",
    );
    push(
        "trailing_newline",
        "a trailing newline",
        false,
        format!("{good}\n"),
        "malformed",
    );
    push(
        "leading_space",
        "a leading space",
        false,
        format!(" {good}"),
        "malformed",
    );
    let mut noncanonical = s.to_owned();
    let last = noncanonical.pop().unwrap_or('A');
    let idx = URL_SAFE_NO_PAD_ALPHABET.find(last).unwrap_or(0);
    noncanonical.push(char::from(URL_SAFE_NO_PAD_ALPHABET.as_bytes()[(idx + 1) % 64]));
    push(
        "signature_trailing_bits",
        "non-zero unused bits in the last base64url character (a second encoding of the same bytes)",
        false,
        format!("{h}.{p}.{noncanonical}"),
        "malformed",
    );
    push(
        "standard_base64_alphabet",
        "a '+' (standard alphabet) in the payload",
        false,
        format!("{h}.+{}.{s}", &p[1..]),
        "malformed",
    );
    push(
        "header_not_json",
        "the header is not JSON",
        false,
        signed("not json", &base_payload),
        "malformed",
    );
    push(
        "header_array",
        "the header is a JSON array",
        false,
        signed(&format!(r#"["EdDSA","{kid}"]"#), &base_payload),
        "malformed",
    );
    push(
        "signature_too_short",
        "a 63-byte signature",
        false,
        format!("{h}.{p}.{}", b64(&b64_decode(s)[..63])),
        "malformed",
    );

    // Signature.
    let mut sig = b64_decode(s);
    sig[10] ^= 0x01;
    push(
        "flipped_signature_bit",
        "one bit of R flipped",
        false,
        format!("{h}.{p}.{}", b64(&sig)),
        "bad_signature",
    );
    let mut sig = b64_decode(s);
    add_l_to_s(&mut sig);
    push(
        "non_canonical_s",
        "S replaced by S + L (malleability), rejected by strict verification",
        false,
        format!("{h}.{p}.{}", b64(&sig)),
        "bad_signature",
    );
    let mut tampered = base_claims();
    tampered.roles = Some(strings(&["admin"]));
    push(
        "tampered_payload",
        "the payload of another token spliced onto this signature",
        false,
        format!("{h}.{}.{s}", b64(payload_json(&tampered).as_bytes())),
        "bad_signature",
    );

    // Size.
    let mut big = base_claims();
    big.custom = object(&[("padding", json!("x".repeat(8 * 1024)))]);
    push(
        "oversized",
        "a correctly signed token over the 8 KiB bound",
        false,
        mint(&big),
        "too_large",
    );

    // Claims.
    push(
        "payload_array",
        "the payload is a JSON array",
        false,
        signed(&eddsa, "[1,2,3]"),
        "invalid_claims",
    );
    push(
        "payload_not_json",
        "the payload is not JSON",
        false,
        signed(&eddsa, "hello"),
        "invalid_claims",
    );
    push(
        "payload_string",
        "the payload is a JSON string",
        false,
        signed(&eddsa, r#""claims""#),
        "invalid_claims",
    );
    let wrong = |field: &str, value: &str| {
        base_payload.replacen(
            &format!(r#""{field}":"#),
            &format!(r#""{field}":{value},"x{field}":"#),
            1,
        )
    };
    push(
        "exp_string",
        "exp is a string",
        false,
        signed(&eddsa, &wrong("exp", &format!(r#""{}""#, NOW + 590))),
        "invalid_claims",
    );
    push(
        "exp_float",
        "exp is a fraction",
        false,
        signed(&eddsa, &wrong("exp", &format!("{}.5", NOW + 590))),
        "invalid_claims",
    );
    let with_field = |extra: &str| format!("{},{extra}}}", &base_payload[..base_payload.len() - 1]);
    push(
        "roles_string",
        "roles is a string",
        false,
        signed(&eddsa, &with_field(r#""roles":"admin""#)),
        "invalid_claims",
    );
    push(
        "tenants_array",
        "tenants is an array",
        false,
        signed(&eddsa, &with_field(r#""tenants":["T2tenantOne"]"#)),
        "invalid_claims",
    );
    push(
        "nsec_string",
        "nsec is a string",
        false,
        signed(&eddsa, &with_field(r#""nsec":"x""#)),
        "invalid_claims",
    );
    push(
        "missing_exp",
        "no exp claim",
        false,
        signed(
            &eddsa,
            &format!(r#"{{"iss":"{ISSUER}","sub":"K2akTestAccessKey","iat":{NOW},"jti":"j"}}"#),
        ),
        "invalid_claims",
    );
    push(
        "duplicate_iss",
        "iss appears twice",
        false,
        signed(&eddsa, &with_field(r#""iss":"P2attacker""#)),
        "invalid_claims",
    );
    push(
        "duplicate_custom_claim",
        "a custom claim appears twice (last-wins would read plan = gold)",
        false,
        signed(&eddsa, &with_field(r#""plan":"free","plan":"gold""#)),
        "invalid_claims",
    );
    push(
        "duplicate_nsec_member",
        "a member of nsec appears twice",
        false,
        signed(&eddsa, &with_field(r#""nsec":{"run":1,"run":2}"#)),
        "invalid_claims",
    );
    push(
        "duplicate_tenant",
        "a tenant appears twice in tenants, the second with more roles",
        false,
        signed(
            &eddsa,
            &with_field(
                r#""tenants":{"T1":{"roles":[],"permissions":[]},"T1":{"roles":["admin"],"permissions":["all"]}}"#,
            ),
        ),
        "invalid_claims",
    );
    push(
        "duplicate_header_member",
        "a header member ak does not read (typ) appears twice",
        false,
        signed(
            &header_json("EdDSA", Some(&kid), r#","typ":"other""#),
            &base_payload,
        ),
        "malformed",
    );

    // Times, issuer, audience.
    let mut c = base_claims();
    c.iat = NOW - 3600;
    c.exp = NOW - 600;
    push("expired", "exp ten minutes ago", false, mint(&c), "expired");
    let mut c = base_claims();
    c.exp = NOW - 5;
    push(
        "expired_at_leeway",
        "exp exactly the 5 s leeway ago",
        false,
        mint(&c),
        "expired",
    );
    let mut c = base_claims();
    c.nbf = Some(NOW + 60);
    push(
        "nbf_future",
        "nbf a minute ahead",
        false,
        mint(&c),
        "not_yet_valid",
    );
    let mut c = base_claims();
    c.iat = NOW + 3600;
    c.exp = NOW + 7200;
    push(
        "iat_future",
        "iat an hour ahead",
        false,
        mint(&c),
        "issued_in_future",
    );
    let mut c = base_claims();
    c.iss = "P2otherProject".to_owned();
    push(
        "wrong_iss",
        "issued for another project",
        false,
        mint(&c),
        "wrong_issuer",
    );
    let mut c = base_claims();
    c.aud = Some(Audience::Many(strings(&["other-audience"])));
    push(
        "wrong_aud",
        "aud does not contain the configured audience",
        true,
        mint(&c),
        "wrong_audience",
    );
    push(
        "missing_aud",
        "no aud while the verifier requires one",
        true,
        good.clone(),
        "wrong_audience",
    );

    out
}

const URL_SAFE_NO_PAD_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn to_json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Every vector file: (path relative to the crate root, contents).
pub(crate) fn generate() -> Vec<(String, String)> {
    let keys = KeysFile {
        description:
            "Test keys of the vectors. The active key's seed is the bytes 0x00..=0x1f, the other key's \
                      0x20..=0x3f. The JWKS holds the active key only."
                .to_owned(),
        active_private_jwk: active_key().to_private_jwk(),
        active_pkcs8_pem: active_key().to_pkcs8_pem().to_string(),
        other_private_jwk: other_key().to_private_jwk(),
        jwks: KeySet::new(active_key()).jwks(),
    };
    let mut files = vec![("tests/vectors/keys.json".to_owned(), to_json(&keys))];
    for v in valid_vectors() {
        files.push((format!("tests/vectors/valid/{}.json", v.name), to_json(&v)));
    }
    for v in invalid_vectors() {
        files.push((format!("tests/vectors/invalid/{}.json", v.name), to_json(&v)));
    }
    files
}
