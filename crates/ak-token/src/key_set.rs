//! A rotating set of signing keys: one active signer plus older keys that still verify.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::jwk::{Jwk, Jwks};
use crate::key::SigningKey;

/// One active [`SigningKey`] that mints, plus any number of older keys that only verify.
///
/// [`rotate`](Self::rotate) makes a new key the signer while tokens signed by the previous keys keep verifying;
/// [`retire`](Self::retire) removes an old key, after which its tokens fail with
/// [`VerifyError::UnknownKeyId`](crate::VerifyError::UnknownKeyId). Cloning is cheap (the keys are behind `Arc`s).
///
/// ```
/// use ak_token::{KeySet, SigningKey};
/// let first = SigningKey::generate();
/// let first_kid = first.kid().to_owned();
/// let mut keys = KeySet::new(first);
/// keys.rotate(SigningKey::generate());
/// assert_eq!(keys.kids()[1], first_kid); // still verifies
/// keys.retire(&first_kid).unwrap();
/// assert_eq!(keys.kids().len(), 1);
/// // The private file format round-trips.
/// let again = KeySet::from_json(&keys.to_json()).unwrap();
/// assert_eq!(again.kids(), keys.kids());
/// ```
#[derive(Clone)]
pub struct KeySet {
    active: Arc<SigningKey>,
    /// Verification-only keys, most recently retired from signing first.
    older: Vec<Arc<SigningKey>>,
}

/// The private key-set file: `{"active": kid, "keys": [private JWK, ...]}`.
#[derive(Deserialize)]
struct KeySetFile {
    active: String,
    keys: Vec<Jwk>,
}

impl KeySet {
    /// A set with a single, active key.
    #[must_use]
    pub fn new(active: SigningKey) -> Self {
        Self {
            active: Arc::new(active),
            older: Vec::new(),
        }
    }

    /// The key that signs new tokens.
    #[must_use]
    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// Makes `new_active` the signer. The previous active key stays in the set for verification. Rotating to a key
    /// already in the set promotes it (no duplicate is created).
    pub fn rotate(&mut self, new_active: SigningKey) {
        if new_active.kid() == self.active.kid() {
            return;
        }
        self.older.retain(|k| k.kid() != new_active.kid());
        let previous = std::mem::replace(&mut self.active, Arc::new(new_active));
        self.older.insert(0, previous);
    }

    /// Removes a verification-only key. Tokens it signed stop verifying.
    ///
    /// # Errors
    /// [`KeyError::RetireActive`] for the active key, [`KeyError::UnknownKid`] for a key not in the set.
    pub fn retire(&mut self, kid: &str) -> Result<(), KeyError> {
        if kid == self.active.kid() {
            return Err(KeyError::RetireActive);
        }
        let before = self.older.len();
        self.older.retain(|k| k.kid() != kid);
        if self.older.len() == before {
            Err(KeyError::UnknownKid)
        } else {
            Ok(())
        }
    }

    /// The key ids, active first, then older keys from the most recently active.
    #[must_use]
    pub fn kids(&self) -> Vec<String> {
        self.iter().map(|k| k.kid().to_owned()).collect()
    }

    /// The key with this `kid`, if it is in the set.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.iter().find(|k| k.kid() == kid)
    }

    /// All keys, active first.
    pub fn iter(&self) -> impl Iterator<Item = &SigningKey> {
        std::iter::once(&*self.active).chain(self.older.iter().map(|k| &**k))
    }

    /// The public keys as a JWKS document (active first), for verifiers. Contains no private material.
    #[must_use]
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.iter().map(SigningKey::public_jwk).collect(),
        }
    }

    /// The private key-set file: `{"active":"<kid>","keys":[<private JWK>,...]}`, active key first. **Secret**:
    /// the string is zeroized on drop. Read it back with [`from_json`](Self::from_json).
    #[must_use]
    pub fn to_json(&self) -> Zeroizing<String> {
        // Written by hand into a buffer sized up front so that no reallocation leaves copies of the secrets behind.
        // Every value is base64url, so nothing needs JSON escaping.
        let per_key = 256;
        let mut out = Zeroizing::new(String::with_capacity(64 + per_key * (1 + self.older.len())));
        out.push_str(r#"{"active":""#);
        out.push_str(self.active.kid());
        out.push_str(r#"","keys":["#);
        for (i, key) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let jwk = key.to_private_jwk();
            out.push_str(r#"{"kty":"OKP","crv":"Ed25519","x":""#);
            out.push_str(&jwk.x);
            out.push_str(r#"","d":""#);
            out.push_str(jwk.d.as_deref().map_or("", String::as_str));
            out.push_str(r#"","kid":""#);
            out.push_str(key.kid());
            out.push_str(r#"","alg":"EdDSA","use":"sig"}"#);
        }
        out.push_str("]}");
        out
    }

    /// Loads the private key-set file written by [`to_json`](Self::to_json).
    ///
    /// # Errors
    /// [`KeyError::InvalidJson`] for a malformed document, any error of [`SigningKey::from_jwk`] (in particular
    /// [`KeyError::KidMismatch`] when a `kid` is not the key's thumbprint), [`KeyError::DuplicateKid`], and
    /// [`KeyError::ActiveKeyMissing`] when `active` names no key in `keys`.
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        let file: KeySetFile = serde_json::from_str(json).map_err(|_| KeyError::InvalidJson)?;
        let mut active = None;
        let mut older = Vec::with_capacity(file.keys.len());
        for jwk in &file.keys {
            let key = SigningKey::from_jwk(jwk)?;
            let duplicate = active
                .as_ref()
                .is_some_and(|a: &Arc<SigningKey>| a.kid() == key.kid())
                || older.iter().any(|k: &Arc<SigningKey>| k.kid() == key.kid());
            if duplicate {
                return Err(KeyError::DuplicateKid);
            }
            if key.kid() == file.active {
                active = Some(Arc::new(key));
            } else {
                older.push(Arc::new(key));
            }
        }
        let active = active.ok_or(KeyError::ActiveKeyMissing)?;
        Ok(Self { active, older })
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("active", &self.active.kid())
            .field("kids", &self.kids())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(&[n; 32])
    }

    #[test]
    fn rotate_and_retire() {
        let mut set = KeySet::new(key(1));
        set.rotate(key(2));
        set.rotate(key(3));
        assert_eq!(set.kids(), vec![key(3).kid(), key(2).kid(), key(1).kid()]);
        assert_eq!(set.retire(key(3).kid()), Err(KeyError::RetireActive));
        assert_eq!(set.retire(key(9).kid()), Err(KeyError::UnknownKid));
        set.retire(key(1).kid()).unwrap();
        assert_eq!(set.kids(), vec![key(3).kid(), key(2).kid()]);
        // Rotating back to an older key promotes it without duplicating it.
        set.rotate(key(2));
        assert_eq!(set.kids(), vec![key(2).kid(), key(3).kid()]);
        set.rotate(key(2));
        assert_eq!(set.kids().len(), 2);
        assert_eq!(set.jwks().keys.len(), 2);
        assert!(set.jwks().keys.iter().all(|k| k.d.is_none()));
    }

    #[test]
    fn file_round_trip_and_validation() {
        let mut set = KeySet::new(key(1));
        set.rotate(key(2));
        let json = set.to_json();
        let back = KeySet::from_json(&json).unwrap();
        assert_eq!(back.kids(), set.kids());
        assert_eq!(back.active(), set.active());
        // The hand-written JSON is valid JSON with the documented shape.
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["active"], key(2).kid());
        assert_eq!(value["keys"].as_array().unwrap().len(), 2);

        let k1 = key(1).to_private_jwk();
        let k2 = key(2).to_private_jwk();
        let doc =
            |active: &str, keys: &[&Jwk]| serde_json::json!({"active": active, "keys": keys}).to_string();
        assert_eq!(
            KeySet::from_json(&doc(key(3).kid(), &[&k1, &k2])).err(),
            Some(KeyError::ActiveKeyMissing)
        );
        assert_eq!(
            KeySet::from_json(&doc(key(1).kid(), &[&k1, &k1])).err(),
            Some(KeyError::DuplicateKid)
        );
        let mut wrong = k2;
        wrong.kid = Some(key(1).kid().to_owned());
        assert_eq!(
            KeySet::from_json(&doc(key(1).kid(), &[&k1, &wrong])).err(),
            Some(KeyError::KidMismatch)
        );
        assert_eq!(
            KeySet::from_json(&doc(key(1).kid(), &[])).err(),
            Some(KeyError::ActiveKeyMissing)
        );
        assert_eq!(KeySet::from_json("{").err(), Some(KeyError::InvalidJson));
    }

    #[test]
    fn debug_has_no_secrets() {
        let set = KeySet::new(key(1));
        let dbg = format!("{set:?}");
        assert!(!dbg.contains(key(1).to_private_jwk().d.as_deref().unwrap()));
        assert!(dbg.contains(key(1).kid()));
    }
}
