//! Management keys: the credential that authenticates calls to the management API.
//!
//! A management key is its own kind of credential, apart from access keys:
//!
//! * **Never exchangeable.** Its cleartext reads `akmgmt-<id>-<body>` (alphabet `[a-z0-9-]`, no
//!   `_` and no `:`), which the access-key parser always rejects, and its checksum is computed in
//!   its own domain, so even with `-` turned into `_` it is not a valid access key. Its records
//!   live apart from access-key records, so no access-key lookup or search ever sees one.
//! * **Hashed like access keys.** Only an argon2id hash of its 256-bit secret is stored (the same
//!   [`hash`](crate::hash) parameters and code); the cleartext exists once, in
//!   [`CreatedManagementKey`].
//! * **Read-only or full.** A read-only key may only read (the server allows load and search).
//! * **Revoked at once.** [`ManagementKeys::authenticate`] reads the store on every call and keeps
//!   no cache, so a deleted key fails on the next request, in every process sharing the store.
//!
//! ```
//! use std::sync::Arc;
//! use ak_core::MemoryKeyStore;
//! use ak_core::management::ManagementKeys;
//!
//! let keys = ManagementKeys::new(Arc::new(MemoryKeyStore::new()))?;
//! let created = keys.create("ci admin", false, "cli:alice")?;
//! let key = keys.authenticate(created.cleartext.expose_secret())?;
//! assert_eq!(key.id, created.key.id);
//! assert!(!key.read_only);
//!
//! keys.delete(&created.key.id)?;
//! assert!(keys.authenticate(created.cleartext.expose_secret()).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod format;
mod manager;
mod memory;
mod model;
mod store;

pub use format::MANAGEMENT_KEY_PREFIX;
pub use manager::{CreatedManagementKey, ManagementKeys};
pub use model::{ManagementKey, ManagementKeyRecord};
pub use store::ManagementKeyStore;

/// Compile-time proof that [`ManagementKeyStore`] is dyn-compatible.
const _: fn(&dyn ManagementKeyStore) = |_| {};
