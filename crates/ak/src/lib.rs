//! Machine-to-machine access keys, in-process.
//!
//! An administrator creates an access key; only an argon2id hash of it is stored. A machine
//! presents the key and exchanges it for a short-lived EdDSA (Ed25519) JWT carrying the key's
//! roles, permissions, tenants and claims; any service verifies that JWT offline against the
//! JWKS. It follows Descope's Access Keys: same field names, semantics and token claims.
//!
//! # Quickstart
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ak::{AccessKeys, CreateKey, ExchangeOptions, KeySet, RoleCatalog, SigningKey, SqliteKeyStore};
//!
//! let keys = AccessKeys::builder()
//!     .store(SqliteKeyStore::open_in_memory()?)       // or SqliteKeyStore::open("ak.db")
//!     .signing_keys(KeySet::new(SigningKey::generate()))
//!     .issuer("my-project")
//!     .role_catalog(RoleCatalog::new().with_project_role("deployer", ["deploy"]))
//!     .build()?;
//!
//! // An administrator creates a key. The cleartext is shown once; only its hash is stored.
//! let created = keys.create(CreateKey { role_names: vec!["deployer".into()], ..CreateKey::named("ci") })?;
//!
//! // A machine exchanges it for a session token...
//! let session = keys.exchange(created.cleartext.expose_secret(), &ExchangeOptions::default())?;
//!
//! // ...which any service verifies offline, then authorizes.
//! let token = keys.validate_session(&session.session_jwt)?;
//! assert_eq!(token.key_id(), created.key.id);
//! assert!(token.validate_permissions(&["deploy"]));
//!
//! // A deactivated key never yields a token again.
//! keys.deactivate(&created.key.id)?;
//! assert!(keys.exchange(created.cleartext.expose_secret(), &ExchangeOptions::default()).is_err());
//! # Ok(()) }
//! # #[cfg(not(feature = "sqlite"))]
//! # fn main() {}
//! ```
//!
//! # Features
//!
//! * `sqlite` (default): [`SqliteKeyStore`], bundled SQLite.
//! * `sled`: [`SledKeyStore`], pure Rust.
//! * `postgres`: [`PgStore`] (opened from a [`PgConfig`]), PostgreSQL: one store shared by every
//!   node of an application, with revocation that takes effect on every node at once. Give it
//!   signing keys through [`AccessKeysBuilder::signing_key_store`] so every node signs with the
//!   same set (see [`signing`]).
//! * `tokio`: [`AsyncAccessKeys`], which runs every call as blocking work ([`run_blocking`]).
//!
//! # Signing keys
//!
//! Either an in-memory [`KeySet`] ([`AccessKeysBuilder::signing_keys`], one process), or a set
//! shared through the store and sealed under a master key
//! ([`AccessKeysBuilder::signing_key_store`], any number of nodes, staged rotation): see
//! [`signing`].
//!
//! # Webhooks
//!
//! [`webhook::Webhooks`] registers URLs that receive audit events, signed with the Standard
//! Webhooks scheme under a secret ak generates and seals under the master key: see [`webhook`].
//!
//! Features are additive: with several stores enabled, the store is chosen at construction.
//!
//! # Tokens
//!
//! `iss` is the issuer (project id), `sub` the key id, `exp = min(now + session timeout, key
//! expiry)`. A key with project roles gets top-level `roles` and `permissions` (resolved through
//! the [`RoleCatalog`]); a key with tenants gets `tenants: {id: {roles, permissions}}`. A key
//! bound to a user always carries the user's id under [`BOUND_USER_CLAIM`], with or without a
//! user directory, so a service can tell which user a machine acts for; with a [`UserDirectory`]
//! configured the token also carries that user's roles and tenants instead of the key's. The
//! key's custom claims sit at the top level, exchange claims under `nsec`, a selected tenant in
//! `dct`.

#![forbid(unsafe_code)]

#[cfg(feature = "tokio")]
mod async_service;
pub mod audit;
mod config;
mod exchange;
pub mod expiring;
mod service;
mod session;
pub mod signing;
pub mod webhook;

pub use audit::{Acting, DEFAULT_ACTOR};
pub use config::{
    ConfigError, DEFAULT_SESSION_TIMEOUT, MAX_SESSION_TIMEOUT, MAX_SESSION_TOKEN_BYTES,
    MAX_SIGNING_KEY_REFRESH, MIN_SESSION_TIMEOUT, MIN_SIGNING_KEY_REFRESH,
};
pub use exchange::{BOUND_USER_CLAIM, ExchangeError, ExchangeOptions, ExchangeResponse};
pub use service::{AccessKeys, AccessKeysBuilder};
pub use session::SessionError;

#[cfg(feature = "tokio")]
pub use async_service::{AsyncAccessKeys, run_blocking};

#[doc(inline)]
pub use ak_core::management::{
    CreatedManagementKey, ManagementKey, ManagementKeyRecord, ManagementKeyStore, ManagementKeys,
};
#[doc(inline)]
pub use ak_core::{
    AccessKey, AuthError, AuthenticatedKey, Authorization, Clock, CreateKey, CreatedKey, Cursor,
    DirectoryError, DirectoryUser, ExpiryFilter, HashParams, KeyManager, KeyRecord, KeyStatus, KeyStore,
    KeyTenant, ManageError, ManualClock, MemoryKeyStore, OsRandom, Page, RandomSource, RoleCatalog,
    SearchQuery, SeededRandom, SigningKeyStore, SkippedRecord, SortField, StoreError, SystemClock, UpdateKey,
    UserDirectory, ValidationError, limits,
};
#[doc(inline)]
pub use ak_token::{
    CacheOptions, Jwk, Jwks, KeyError, KeySet, MintError, SessionClaims, SigningKey, TenantClaims,
    VerifiedToken, VerifyError,
};

#[cfg(feature = "sqlite")]
#[doc(inline)]
pub use ak_sqlite::SqliteKeyStore;

#[cfg(feature = "sled")]
#[doc(inline)]
pub use ak_sled::SledKeyStore;

#[cfg(feature = "postgres")]
#[doc(inline)]
pub use ak_postgres::{PgConfig, PgStore};

/// The crates ak is made of, for anything the re-exports above leave out.
pub mod crates {
    pub use ak_core as core;
    #[cfg(feature = "postgres")]
    pub use ak_postgres as postgres;
    #[cfg(feature = "sled")]
    pub use ak_sled as sled;
    #[cfg(feature = "sqlite")]
    pub use ak_sqlite as sqlite;
    pub use ak_token as token;
}
