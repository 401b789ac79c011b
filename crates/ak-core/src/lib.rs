//! The heart of ak: everything about an access key except where it is stored and how its token is
//! signed.
//!
//! ```
//! use std::sync::Arc;
//! use ak_core::{CreateKey, KeyManager, KeyTenant, MemoryKeyStore, RoleCatalog, SearchQuery};
//!
//! let catalog = RoleCatalog::new().with_tenant_role("deployer", ["deploy"]);
//! let manager = KeyManager::builder(Arc::new(MemoryKeyStore::new())).role_catalog(catalog).build()?;
//!
//! // An administrator creates a key; the cleartext is shown once and only its hash is stored.
//! let mut request = CreateKey::named("deploy bot");
//! request.key_tenants = vec![KeyTenant::new("acme", ["deployer"])];
//! request.permitted_ips = vec!["10.0.0.0/8".into()];
//! let created = manager.create(request)?;
//!
//! // A machine presents it from an allowed address.
//! let client = "10.1.2.3".parse().ok();
//! let authenticated = manager.authenticate(created.cleartext.expose_secret(), client)?;
//! assert_eq!(authenticated.authorization.tenants["acme"].permissions, ["deploy"]);
//!
//! // Outside the permitted range, or once deactivated, it never authenticates.
//! assert!(manager.authenticate(created.cleartext.expose_secret(), "192.0.2.1".parse().ok()).is_err());
//! manager.deactivate(&created.key.id)?;
//! assert!(manager.authenticate(created.cleartext.expose_secret(), client).is_err());
//!
//! let mut query = SearchQuery::default();
//! query.tenant_ids = vec!["acme".into()];
//! assert_eq!(manager.search(&query)?.items.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Pieces
//!
//! * [`AccessKey`], [`KeyRecord`]: the domain model, with Descope's JSON names.
//! * [`KeyManager`]: create, load, search, update, activate, deactivate, delete (single or batch),
//!   rotate, and [`authenticate`](KeyManager::authenticate).
//! * [`management`]: management keys, the credential of the management API, with their own
//!   store contract ([`management::ManagementKeyStore`]).
//! * [`audit`]: the audit trail ([`audit::AuditEventStore`], [`audit::AuditRecorder`]);
//!   [`usage`]: last-used times ([`usage::KeyUsageStore`], [`usage::UsageTracker`]).
//! * [`signing`]: the sealed signing-key set every process on a store shares
//!   ([`SigningKeyStore`]).
//! * [`webhook`]: webhooks that receive audit events ([`webhook::WebhookStore`]).
//! * [`KeyStore`]: the persistence contract; [`MemoryKeyStore`] implements it here, `ak-sqlite`
//!   and `ak-sled` on disk.
//! * [`limits`]: every size and count limit; [`validate`]: the checks behind them.
//! * [`key_format`]: the cleartext format; [`hash`]: argon2id and the choice of its parameters.
//! * [`Clock`] and [`RandomSource`]: injectable time and randomness for deterministic tests.
//!
//! # Security properties
//!
//! * The cleartext exists only in [`Cleartext`], returned by create and rotate: no `Serialize`,
//!   redacted `Debug` and `Display`, zeroized on drop.
//! * Only an argon2id hash of the secret is stored. Secrets are compared in constant time.
//! * A malformed key, an unknown key and a wrong secret fail the same way
//!   ([`AuthError::InvalidKey`]); status, expiry, IP and user checks run only after the secret is
//!   proven, and every failure fails closed.

#![forbid(unsafe_code)]

pub mod audit;
pub mod authorization;
mod batch_writer;
pub mod catalog;
pub mod clock;
pub mod decoy;
pub mod directory;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod hash;
pub mod ip;
pub mod key_format;
pub mod limits;
pub mod management;
mod manager;
pub mod memory;
pub mod model;
pub mod query;
pub mod random;
pub mod signing;
pub mod store;
pub mod usage;
pub mod validate;
pub mod webhook;
mod wire;

pub use authorization::{Authorization, TenantAuthorization};
pub use catalog::RoleCatalog;
pub use clock::{Clock, ManualClock, SystemClock};
pub use decoy::DecoyRecord;
pub use directory::{DirectoryError, DirectoryUser, UserDirectory};
pub use error::{AuthError, ManageError};
pub use hash::HashParams;
pub use key_format::Cleartext;
pub use manager::{
    AuthenticatedKey, ConfigError, CreateKey, CreatedKey, DEFAULT_SECRET_CACHE_CAPACITY, KeyManager,
    KeyManagerBuilder, UpdateKey,
};
pub use memory::MemoryKeyStore;
pub use model::{AccessKey, GraceSecret, KeyRecord, KeyStatus, KeyTenant};
pub use query::{Cursor, ExpiryFilter, Page, Position, SearchQuery, SkippedRecord, SortField};
pub use random::{OsRandom, RandomError, RandomSource, SeededRandom};
pub use signing::{SigningKeyStore, StoredSigningKeys};
pub use store::{BackendErrorKind, BoxError, KeyStore, StoreError};
pub use validate::ValidationError;

/// Compile-time proof that [`KeyStore`] is dyn-compatible.
const _: fn(&dyn KeyStore) = |_| {};
