//! JSON Web Keys (RFC 7517) for Ed25519 (RFC 8037) and their RFC 7638 thumbprints.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::b64;
use crate::error::KeyError;

/// `kty` of an Ed25519 key (RFC 8037 §2).
pub const KTY_OKP: &str = "OKP";
/// `crv` of an Ed25519 key (RFC 8037 §2).
pub const CRV_ED25519: &str = "Ed25519";
/// The only JWS algorithm this crate signs and accepts (RFC 8037 §3.1).
pub const ALG_EDDSA: &str = "EdDSA";
/// `use` of a signing key.
pub const USE_SIG: &str = "sig";

/// A JSON Web Key for Ed25519.
///
/// A *public* JWK has no `d`. A *private* JWK (from [`SigningKey::to_private_jwk`](crate::SigningKey::to_private_jwk))
/// carries the 32-byte seed in `d`: it is a secret. `Debug` prints `d` as `<redacted>`, and `d` is
/// [`Zeroizing`], so it is wiped when the `Jwk` is dropped.
#[derive(Clone, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type; `"OKP"` for Ed25519.
    pub kty: String,
    /// Curve; `"Ed25519"`.
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    /// The 32-byte private seed, base64url without padding. **Secret.** Only present in private JWKs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<Zeroizing<String>>,
    /// Key id. Keys made by this crate use the RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm; `"EdDSA"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use (`use`); `"sig"` when present.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

/// Compares every member; the secret `d` in constant time.
impl PartialEq for Jwk {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        let same_d = match (&self.d, &other.d) {
            (None, None) => true,
            (Some(a), Some(b)) => bool::from(a.as_bytes().ct_eq(b.as_bytes())),
            _ => false,
        };
        same_d
            && self.kty == other.kty
            && self.crv == other.crv
            && self.x == other.x
            && self.kid == other.kid
            && self.alg == other.alg
            && self.use_ == other.use_
    }
}

impl Eq for Jwk {}

impl Jwk {
    /// The public JWK for a 32-byte Ed25519 public key, with `kid` set to its thumbprint, `alg` `EdDSA` and `use`
    /// `sig`.
    #[must_use]
    pub fn from_public_key_bytes(public_key: &[u8; 32]) -> Self {
        let x = b64::encode(public_key);
        let kid = thumbprint_of_x(&x);
        Self {
            kty: KTY_OKP.to_owned(),
            crv: CRV_ED25519.to_owned(),
            x,
            d: None,
            kid: Some(kid),
            alg: Some(ALG_EDDSA.to_owned()),
            use_: Some(USE_SIG.to_owned()),
        }
    }

    /// Whether this JWK carries private key material (`d`).
    #[must_use]
    pub const fn is_private(&self) -> bool {
        self.d.is_some()
    }

    /// This JWK without `d`.
    #[must_use]
    pub fn to_public(&self) -> Self {
        Self {
            kty: self.kty.clone(),
            crv: self.crv.clone(),
            x: self.x.clone(),
            d: None,
            kid: self.kid.clone(),
            alg: self.alg.clone(),
            use_: self.use_.clone(),
        }
    }

    /// The RFC 7638 thumbprint of this key: SHA-256 over `{"crv":"Ed25519","kty":"OKP","x":"..."}`, base64url
    /// without padding.
    ///
    /// # Errors
    /// [`KeyError::InvalidJwk`] if this is not a well-formed Ed25519 JWK.
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        Ok(thumbprint_of_x(&b64::encode(&self.public_key_bytes()?)))
    }

    /// Checks `kty`, `crv`, `alg` and `use`, and decodes `x` into the 32 public-key bytes.
    pub(crate) fn public_key_bytes(&self) -> Result<[u8; 32], KeyError> {
        if self.kty != KTY_OKP {
            return Err(KeyError::InvalidJwk("kty is not OKP"));
        }
        if self.crv != CRV_ED25519 {
            return Err(KeyError::InvalidJwk("crv is not Ed25519"));
        }
        if self.alg.as_deref().is_some_and(|alg| alg != ALG_EDDSA) {
            return Err(KeyError::InvalidJwk("alg is not EdDSA"));
        }
        if self.use_.as_deref().is_some_and(|u| u != USE_SIG) {
            return Err(KeyError::InvalidJwk("use is not sig"));
        }
        b64::decode(&self.x)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .ok_or(KeyError::InvalidJwk("x is not 32 bytes of base64url"))
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("d", &self.d.as_ref().map(|_| "<redacted>"))
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("use", &self.use_)
            .finish()
    }
}

/// A JWK Set document: `{"keys":[...]}` (RFC 7517 §5).
///
/// [`KeySet::jwks`](crate::KeySet::jwks) produces one with public keys only, suitable for serving to verifiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWKS JSON document.
    ///
    /// # Errors
    /// [`KeyError::InvalidJson`] if it is not a `{"keys":[...]}` document of JWKs; the parser's message is not
    /// kept, since it could quote key material.
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        serde_json::from_str(json).map_err(|_| KeyError::InvalidJson)
    }

    /// Serializes this document as compact JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing plain strings cannot fail; fall back to an empty set rather than panic.
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"keys":[]}"#))
    }

    /// The key with this `kid`, if any.
    #[must_use]
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

/// RFC 7638 thumbprint from an already-encoded `x`.
pub(crate) fn thumbprint_of_x(x: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(br#"{"crv":"Ed25519","kty":"OKP","x":""#);
    hasher.update(x.as_bytes());
    hasher.update(br#""}"#);
    b64::encode(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8037_a3_thumbprint() {
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            d: None,
            kid: None,
            alg: None,
            use_: None,
        };
        assert_eq!(
            jwk.thumbprint().unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn rejects_other_key_types() {
        let mut jwk = Jwk::from_public_key_bytes(&[9; 32]);
        jwk.kty = "RSA".into();
        assert_eq!(
            jwk.public_key_bytes(),
            Err(KeyError::InvalidJwk("kty is not OKP"))
        );
        let mut jwk = Jwk::from_public_key_bytes(&[9; 32]);
        jwk.alg = Some("RS256".into());
        assert!(jwk.public_key_bytes().is_err());
        let mut jwk = Jwk::from_public_key_bytes(&[9; 32]);
        jwk.x.push('A');
        assert!(jwk.public_key_bytes().is_err());
    }

    #[test]
    fn debug_redacts_d() {
        let mut jwk = Jwk::from_public_key_bytes(&[9; 32]);
        jwk.d = Some(Zeroizing::new("c2VjcmV0LXNlY3JldA".into()));
        let dbg = format!("{jwk:?}");
        assert!(!dbg.contains("c2VjcmV0LXNlY3JldA"));
        assert!(dbg.contains("<redacted>"));
    }
}
