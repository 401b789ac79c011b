//! The seam to the application's users, for keys bound to a user.

use crate::model::KeyTenant;
use crate::store::BoxError;

/// A user as the application's directory reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// Whether the user may act; a key bound to an inactive user never authenticates.
    pub active: bool,
    /// The user's project-level roles.
    pub role_names: Vec<String>,
    /// The user's tenants and roles in each.
    pub tenants: Vec<KeyTenant>,
}

/// Looks up the users that keys may be bound to.
///
/// With a directory plugged in, a key bound to a user authenticates only while that user exists
/// and is active, and its tokens carry the *user's* roles and tenants instead of the key's
/// (Descope: "authorization would be ignored, and access key would be bound to the user's
/// authorization"). Without one, bound user ids are recorded but not checked.
pub trait UserDirectory: std::fmt::Debug + Send + Sync {
    /// The user with this id, or `Ok(None)` if there is none.
    fn find_user(&self, user_id: &str) -> Result<Option<DirectoryUser>, DirectoryError>;
}

/// The user directory failed; authentication fails closed.
#[derive(Debug, thiserror::Error)]
#[error("user directory failed")]
pub struct DirectoryError(#[source] pub BoxError);
