//! Service settings and their bounds.

use std::time::Duration;

/// Shortest access-key session timeout accepted (3 minutes, as Descope's project settings).
pub const MIN_SESSION_TIMEOUT: Duration = Duration::from_secs(3 * 60);
/// Longest access-key session timeout accepted (4 weeks, as Descope's project settings).
pub const MAX_SESSION_TIMEOUT: Duration = Duration::from_secs(4 * 7 * 24 * 3600);
/// Session timeout used when none is configured: 10 minutes.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Largest session token ak mints or accepts, in bytes. A key whose roles, tenants and claims
/// would make a larger token fails its exchange with [`ExchangeError::TokenTooLarge`](crate::ExchangeError).
pub const MAX_SESSION_TOKEN_BYTES: usize = 64 * 1024;

/// A [`AccessKeysBuilder`](crate::AccessKeysBuilder) setting was missing or invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No store was given.
    #[error("a key store is required")]
    MissingStore,
    /// No signing key set was given.
    #[error("a signing key set is required")]
    MissingSigningKeys,
    /// The issuer (project id) was empty.
    #[error("the issuer (project id) must not be empty")]
    MissingIssuer,
    /// The session timeout was outside 3 minutes ..= 4 weeks.
    #[error("session timeout must be within 3 minutes ..= 4 weeks, got {0:?}")]
    SessionTimeout(Duration),
    /// The key manager settings were invalid.
    #[error(transparent)]
    Manager(#[from] ak_core::ConfigError),
}
