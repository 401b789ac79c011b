//! Validating session tokens.

use ak_core::{AuthError, StoreError};
use ak_token::VerifyError;

/// Why a session token was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The token itself is invalid (signature, format, expiry, issuer, ...).
    #[error(transparent)]
    Token(#[from] VerifyError),
    /// The token is valid but its key has since been deactivated, deleted or has expired.
    #[error("the token's access key is no longer usable: {0}")]
    KeyRevoked(AuthError),
    /// The store failed while checking the key (fail closed).
    #[error(transparent)]
    Store(StoreError),
}

impl From<AuthError> for SessionError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Store(store) => Self::Store(store),
            other => Self::KeyRevoked(other),
        }
    }
}
