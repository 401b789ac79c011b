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

/// Shortest signing-key refresh interval accepted: 1 second.
pub const MIN_SIGNING_KEY_REFRESH: Duration = Duration::from_secs(1);
/// Longest signing-key refresh interval accepted: 1 hour.
pub const MAX_SIGNING_KEY_REFRESH: Duration = Duration::from_secs(3600);

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
    /// The signing-key refresh interval was outside 1 s ..= 1 hour.
    #[error("signing-key refresh interval must be within 1 s ..= 1 hour, got {0:?}")]
    SigningKeyRefresh(Duration),
    /// The store-backed signing keys could not be loaded or created (a wrong master key, a
    /// damaged set, a store failure).
    #[error(transparent)]
    SigningKeys(#[from] crate::signing::SigningKeysError),
    /// The key manager settings were invalid.
    #[error(transparent)]
    Manager(#[from] ak_core::ConfigError),
}
