//! Ed25519 signing keys: generation, PKCS#8 PEM and JWK import/export, the `kid`, and the cached JWT header.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use rand_core::CryptoRngCore;
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::b64;
use crate::error::KeyError;
use crate::jwk::{ALG_EDDSA, CRV_ED25519, Jwk, KTY_OKP, USE_SIG, thumbprint_of_x};

/// DER prefix of a PKCS#8 v1 (RFC 8410 §7) Ed25519 private key; the 32-byte seed follows.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// An Ed25519 private signing key with everything minting needs precomputed.
///
/// It caches the expanded `ed25519_dalek` key (with its derived public key), the `kid` (the RFC 7638 thumbprint of
/// the public key) and the encoded JWT header `{"alg":"EdDSA","typ":"JWT","kid":...}`, so minting does one
/// signature and no key derivation.
///
/// Secrets: `Debug` shows only the `kid`; the seed is zeroized on drop (the inner `ed25519_dalek::SigningKey` is
/// `ZeroizeOnDrop`). Exports of the secret ([`to_pkcs8_pem`](Self::to_pkcs8_pem),
/// [`to_private_jwk`](Self::to_private_jwk)) are explicit.
///
/// ```
/// let key = ak_token::SigningKey::generate();
/// let pem = key.to_pkcs8_pem();
/// let again = ak_token::SigningKey::from_pkcs8_pem(&pem).unwrap();
/// assert_eq!(key.kid(), again.kid());
/// assert!(!format!("{key:?}").contains(pem.as_str()));
/// ```
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
    /// The seed's SHA-512 expansion (the secret scalar and nonce prefix), computed once here:
    /// `ed25519_dalek::SigningKey::sign` computes it again for every signature. Shared by clones
    /// and zeroized when the last one drops.
    expanded: Arc<ExpandedSecretKey>,
    kid: Box<str>,
    /// `base64url(header) + "."`, the constant start of every token this key mints.
    header_prefix: Box<str>,
}

impl SigningKey {
    /// Generates a key from the operating system's CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        Self::generate_with_rng(&mut rand_core::OsRng)
    }

    /// Generates a key from the given cryptographically secure RNG.
    #[must_use]
    pub fn generate_with_rng(rng: &mut impl CryptoRngCore) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The key for a 32-byte Ed25519 seed (the RFC 8032 private key, the JWK `d`).
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn from_dalek(inner: ed25519_dalek::SigningKey) -> Self {
        let x = b64::encode(inner.verifying_key().as_bytes());
        let kid = thumbprint_of_x(&x);
        let header = format!(r#"{{"alg":"{ALG_EDDSA}","typ":"JWT","kid":"{kid}"}}"#);
        let mut header_prefix = b64::encode(header.as_bytes());
        header_prefix.push('.');
        Self {
            expanded: Arc::new(ExpandedSecretKey::from(inner.as_bytes())),
            inner,
            kid: kid.into_boxed_str(),
            header_prefix: header_prefix.into_boxed_str(),
        }
    }

    /// Loads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) Ed25519 key, v1 (RFC 8410) or v2 with a public key (which
    /// must match).
    ///
    /// # Errors
    /// [`KeyError::InvalidPem`] for anything else.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(Self::from_dalek)
            .map_err(|_| KeyError::InvalidPem)
    }

    /// The key as PKCS#8 v1 PEM (RFC 8410), as written by `openssl genpkey -algorithm ed25519`. **Secret**: the
    /// returned string is zeroized on drop.
    #[must_use]
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        let mut der = Zeroizing::new([0u8; 48]);
        der[..16].copy_from_slice(&PKCS8_V1_PREFIX);
        der[16..].copy_from_slice(self.inner.as_bytes());
        // 48 DER bytes encode to exactly 64 base64 characters: one PEM line.
        let mut pem = Zeroizing::new(String::with_capacity(128));
        pem.push_str("-----BEGIN PRIVATE KEY-----\n");
        STANDARD.encode_string(der.as_slice(), &mut pem);
        pem.push_str("\n-----END PRIVATE KEY-----\n");
        pem
    }

    /// Loads a private JWK (`kty` `OKP`, `crv` `Ed25519`, `d` and `x`). `x` must match the key derived from `d`, a
    /// `kid`, if present, must be the RFC 7638 thumbprint, and `alg`/`use`, if present, must be `EdDSA`/`sig`.
    ///
    /// # Errors
    /// [`KeyError::MissingPrivateKey`], [`KeyError::InvalidJwk`], [`KeyError::PublicKeyMismatch`] or
    /// [`KeyError::KidMismatch`].
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let public = jwk.public_key_bytes()?;
        let d = jwk.d.as_deref().ok_or(KeyError::MissingPrivateKey)?;
        let decoded = Zeroizing::new(b64::decode(d).ok_or(KeyError::InvalidJwk("d is not base64url"))?);
        let mut seed = Zeroizing::new([0u8; 32]);
        if decoded.len() != seed.len() {
            return Err(KeyError::InvalidJwk("d is not 32 bytes"));
        }
        seed.copy_from_slice(&decoded);
        let key = Self::from_seed(&seed);
        if key.inner.verifying_key().as_bytes() != &public {
            return Err(KeyError::PublicKeyMismatch);
        }
        if jwk.kid.as_deref().is_some_and(|kid| kid != key.kid()) {
            return Err(KeyError::KidMismatch);
        }
        Ok(key)
    }

    /// The private JWK, with `d`. **Secret**: handle it like the PEM. Its `Debug` redacts `d` and it zeroizes `d` on
    /// drop.
    #[must_use]
    pub fn to_private_jwk(&self) -> Jwk {
        let mut jwk = self.public_jwk();
        jwk.d = Some(Zeroizing::new(b64::encode(self.inner.as_bytes())));
        jwk
    }

    /// The public JWK: `kty` `OKP`, `crv` `Ed25519`, `x`, `kid`, `alg` `EdDSA`, `use` `sig` (RFC 8037).
    #[must_use]
    pub fn public_jwk(&self) -> Jwk {
        Jwk {
            kty: KTY_OKP.to_owned(),
            crv: CRV_ED25519.to_owned(),
            x: b64::encode(self.inner.verifying_key().as_bytes()),
            d: None,
            kid: Some(self.kid.to_string()),
            alg: Some(ALG_EDDSA.to_owned()),
            use_: Some(USE_SIG.to_owned()),
        }
    }

    /// The 32-byte public key.
    #[must_use]
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.inner.verifying_key().to_bytes()
    }

    /// The key id: the RFC 7638 JWK thumbprint of the public key.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs an arbitrary JWS in compact serialization: `b64(header_json) . b64(payload) . b64(signature)`.
    ///
    /// This is a low-level primitive (for test vectors and interoperability checks such as RFC 8037 appendix A.4);
    /// it does not validate `header_json`. Use [`TokenMinter`](crate::TokenMinter) to mint session tokens.
    #[must_use]
    pub fn sign_compact(&self, header_json: &[u8], payload: &[u8]) -> String {
        let mut out = String::with_capacity(
            b64::encoded_len(header_json.len()) + b64::encoded_len(payload.len()) + 2 + b64::encoded_len(64),
        );
        b64::encode_into(header_json, &mut out);
        out.push('.');
        b64::encode_into(payload, &mut out);
        self.finish(out)
    }

    /// Appends `.` and the signature over `signing_input`.
    pub(crate) fn finish(&self, mut signing_input: String) -> String {
        // RFC 8032 Ed25519 over the expansion of this key's own seed: the same signature as
        // `self.inner.sign`, without hashing the seed again.
        let signature = raw_sign::<Sha512>(
            &self.expanded,
            signing_input.as_bytes(),
            &self.inner.verifying_key(),
        );
        signing_input.push('.');
        b64::encode_into(&signature.to_bytes(), &mut signing_input);
        signing_input
    }

    /// `base64url({"alg":"EdDSA","typ":"JWT","kid":...}) + "."`.
    pub(crate) fn header_prefix(&self) -> &str {
        &self.header_prefix
    }

    /// The cached verifying key (already decompressed).
    pub(crate) fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.inner.verifying_key()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The seed lives in `ed25519_dalek::SigningKey`, which zeroizes itself on drop.
impl zeroize::ZeroizeOnDrop for SigningKey {}

/// Keys compare by `kid`, i.e. by public key (a public value, so no constant-time comparison is needed).
impl PartialEq for SigningKey {
    fn eq(&self, other: &Self) -> bool {
        self.kid == other.kid
    }
}

impl Eq for SigningKey {}

#[cfg(test)]
mod tests {
    use super::*;

    const A1_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const A1_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn a1() -> SigningKey {
        let seed: [u8; 32] = b64::decode(A1_D).unwrap().try_into().unwrap();
        SigningKey::from_seed(&seed)
    }

    #[test]
    fn rfc8037_a1_public_key_and_a3_kid() {
        let key = a1();
        assert_eq!(key.public_jwk().x, A1_X);
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn pem_matches_openssl_layout_and_round_trips() {
        let key = a1();
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
        assert_eq!(SigningKey::from_pkcs8_pem(&pem).unwrap(), key);
        assert_eq!(SigningKey::from_pkcs8_pem("garbage"), Err(KeyError::InvalidPem));
    }

    #[test]
    fn jwk_round_trip_and_checks() {
        let key = a1();
        let jwk = key.to_private_jwk();
        assert_eq!(jwk.d.as_deref().map(String::as_str), Some(A1_D));
        assert_eq!(SigningKey::from_jwk(&jwk).unwrap(), key);
        assert_eq!(
            SigningKey::from_jwk(&key.public_jwk()),
            Err(KeyError::MissingPrivateKey)
        );
        let mut bad_kid = jwk.clone();
        bad_kid.kid = Some("other".into());
        assert_eq!(SigningKey::from_jwk(&bad_kid), Err(KeyError::KidMismatch));
        let mut bad_x = jwk.clone();
        bad_x
            .x
            .clone_from(&SigningKey::from_seed(&[1; 32]).public_jwk().x);
        assert_eq!(SigningKey::from_jwk(&bad_x), Err(KeyError::PublicKeyMismatch));
        let mut short_d = jwk;
        short_d.d = Some(Zeroizing::new("AAAA".into()));
        assert!(matches!(
            SigningKey::from_jwk(&short_d),
            Err(KeyError::InvalidJwk(_))
        ));
    }

    #[test]
    fn rfc8037_a4_signature() {
        let jws = a1().sign_compact(br#"{"alg":"EdDSA"}"#, b"Example of Ed25519 signing");
        assert_eq!(
            jws,
            "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
    }
}
