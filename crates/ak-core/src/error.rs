//! The errors of the key manager: management calls and authentication.

use crate::directory::DirectoryError;
use crate::random::RandomError;
use crate::store::StoreError;
use crate::validate::ValidationError;

/// Why a management call (create, load, update, activate, deactivate, delete, rotate, search)
/// failed. Nothing changed when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManageError {
    /// The input was invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No key has these ids (a batch lists every unknown id).
    #[error("access key not found: {}", ids.join(", "))]
    NotFound {
        /// Every unknown id, in the order given.
        ids: Vec<String>,
    },
    /// Only active, unexpired keys can be rotated.
    #[error("access key {id} cannot be rotated: it is {reason}")]
    NotRotatable {
        /// The key.
        id: String,
        /// `"inactive"` or `"expired"`.
        reason: &'static str,
    },
    /// The key kept changing under a concurrent writer; the update was not applied.
    #[error("access key {id} changed concurrently; try again")]
    Conflict {
        /// The key.
        id: String,
    },
    /// The user directory failed while checking a bound user.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ManageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { ids } => Self::NotFound { ids },
            StoreError::VersionConflict { id, .. } => Self::Conflict { id },
            other => Self::Store(other),
        }
    }
}

/// Why a presented key did not authenticate.
///
/// A malformed key, an unknown key id and a wrong secret are the same [`AuthError::InvalidKey`]:
/// no message, type or (beyond the documented checksum fast path) timing tells them apart. The
/// other variants are returned only after the secret was proven, so they leak nothing to a guesser.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not a valid access key.
    #[error("invalid access key")]
    InvalidKey,
    /// The key is deactivated.
    #[error("access key is inactive")]
    Inactive,
    /// The key has expired.
    #[error("access key has expired")]
    Expired,
    /// The client address is not in the key's permitted IPs, or no address was given.
    #[error("client address is not permitted for this access key")]
    IpNotPermitted,
    /// The key's bound user is gone or inactive.
    #[error("the access key's bound user is inactive or gone")]
    BoundUserInactive,
    /// The user directory failed (authentication fails closed).
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The store failed (authentication fails closed).
    #[error(transparent)]
    Store(#[from] StoreError),
}
