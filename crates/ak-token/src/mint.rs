//! Minting session tokens with the active key of a [`KeySet`].

use crate::b64;
use crate::claims::SessionClaims;
use crate::error::MintError;
use crate::jwk::Jwks;
use crate::key_set::KeySet;

/// The initial capacity of a token's JSON payload buffer.
const PAYLOAD_CAPACITY: usize = 512;

/// Mints session tokens with the active key of its [`KeySet`].
///
/// The header is `{"alg":"EdDSA","typ":"JWT","kid":<active kid>}`, encoded once per key and reused; a mint is one
/// JSON serialization, one base64url pass and one Ed25519 signature into a single pre-sized buffer. Ed25519 is
/// deterministic: the same key and claims always give the same token.
#[derive(Debug, Clone)]
pub struct TokenMinter {
    keys: KeySet,
}

impl TokenMinter {
    /// A minter signing with `keys.active()`.
    #[must_use]
    pub const fn new(keys: KeySet) -> Self {
        Self { keys }
    }

    /// The key set.
    #[must_use]
    pub const fn key_set(&self) -> &KeySet {
        &self.keys
    }

    /// Mutable access to the key set, to [`rotate`](KeySet::rotate) or [`retire`](KeySet::retire) keys.
    pub const fn key_set_mut(&mut self) -> &mut KeySet {
        &mut self.keys
    }

    /// The public JWKS for verifiers.
    #[must_use]
    pub fn jwks(&self) -> Jwks {
        self.keys.jwks()
    }

    /// Mints a compact JWS for `claims`, signed by the active key. The claims are written as given (times are not
    /// checked: `iat`, `exp` and friends are the caller's policy).
    ///
    /// # Errors
    /// [`MintError::ReservedClaim`] when a custom claim is named like a registered claim, and
    /// [`MintError::Serialization`] if JSON serialization fails.
    pub fn mint(&self, claims: &SessionClaims) -> Result<String, MintError> {
        if let Some(name) = claims.reserved_custom_claim() {
            return Err(MintError::ReservedClaim(name.to_owned()));
        }
        // Sized for a typical session token's claims (a few hundred bytes), so that writing them
        // does not grow the buffer step by step from `to_vec`'s 128 bytes.
        let mut payload = Vec::with_capacity(PAYLOAD_CAPACITY);
        serde_json::to_writer(&mut payload, claims).map_err(|_| MintError::Serialization)?;
        let key = self.keys.active();
        let prefix = key.header_prefix();
        let mut token =
            String::with_capacity(prefix.len() + b64::encoded_len(payload.len()) + 1 + b64::encoded_len(64));
        token.push_str(prefix);
        b64::encode_into(&payload, &mut token);
        Ok(key.finish(token))
    }
}
