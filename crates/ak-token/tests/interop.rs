//! Interoperability with the `jsonwebtoken` crate (dev-dependency only): tokens minted here verify there given
//! the exported JWKS, and tokens it signs with our PKCS#8 PEM verify here.

use std::time::{SystemTime, UNIX_EPOCH};

use ak_token::{Audience, KeySet, SessionClaims, SigningKey, TokenMinter, VerificationOptions, Verifier};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn sample_claims(now: i64) -> SessionClaims {
    let mut c = SessionClaims::new("P2proj", "K2key", now, now + 600, "jti-interop");
    c.aud = Some(Audience::Many(vec!["P2proj".into()]));
    c.roles = Some(vec!["admin".into()]);
    c.tenants = Some(
        [("T1".to_owned(), ak_token::TenantClaims::default())]
            .into_iter()
            .collect(),
    );
    c.dct = Some("T1".into());
    c.nsec = Some(serde_json::Map::from_iter([(
        "k".to_owned(),
        serde_json::json!("v"),
    )]));
    c.custom.insert("k1".into(), serde_json::json!("v1"));
    c
}

#[test]
fn minted_tokens_verify_in_jsonwebtoken_via_jwks() {
    let mut keys = KeySet::new(SigningKey::generate());
    keys.rotate(SigningKey::generate());
    let minter = TokenMinter::new(keys);
    let now = now();
    let claims = sample_claims(now);
    let token = minter.mint(&claims).unwrap();

    let jwks: JwkSet = serde_json::from_str(&minter.jwks().to_json()).unwrap();
    assert_eq!(jwks.keys.len(), 2);
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.unwrap();
    assert_eq!(kid, minter.key_set().active().kid());
    let jwk = jwks.find(&kid).unwrap();
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["P2proj"]);
    validation.set_audience(&["P2proj"]);
    let decoded = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
    assert_eq!(decoded.claims, serde_json::to_value(&claims).unwrap());

    // The old key's JWK does not verify it.
    let other = jwks
        .keys
        .iter()
        .find(|k| k.common.key_id.as_deref() != Some(&kid))
        .unwrap();
    assert!(
        jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &DecodingKey::from_jwk(other).unwrap(),
            &validation
        )
        .is_err()
    );

    // RFC 7638 thumbprints agree.
    assert_eq!(
        jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap(),
        kid
    );
}

#[test]
fn jsonwebtoken_tokens_signed_with_our_pem_verify_here() {
    let key = SigningKey::generate();
    let pem = key.to_pkcs8_pem();
    let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid().to_owned());
    let now = now();
    let claims = sample_claims(now);
    let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();

    let keys = KeySet::new(key);
    let verifier = Verifier::from_key_set(
        &keys,
        VerificationOptions::new()
            .with_issuer("P2proj")
            .with_audience("P2proj"),
    );
    let verified = verifier.verify(&token, now).unwrap();
    assert_eq!(verified.claims(), &claims);
    assert!(verified.validate_tenant_roles("T1", &[]));
}
