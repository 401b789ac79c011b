//! Signing keys shared through the store.
//!
//! The store keeps one record: the signing-key set, sealed by the caller (the `ak` facade seals it
//! with a key-encryption key the store never sees), so a store only moves opaque bytes and a
//! version. Every process on one store reads the same set, and a rotation written by one is seen
//! by all at their next load. [`SigningKeyStore`] is the contract.
//!
//! ```
//! use ak_core::MemoryKeyStore;
//! use ak_core::signing::SigningKeyStore;
//!
//! let store = MemoryKeyStore::new();
//! assert!(store.load_signing_keys()?.is_none());
//! let first = store.replace_signing_keys(None, b"sealed set")?;
//! assert_eq!(first, 1);
//! // A writer that read an older version loses the compare-and-swap.
//! assert!(store.replace_signing_keys(None, b"stale").is_err());
//! assert_eq!(store.replace_signing_keys(Some(first), b"rotated")?, 2);
//! assert_eq!(store.load_signing_keys()?.unwrap().sealed, b"rotated");
//! # Ok::<(), ak_core::StoreError>(())
//! ```

mod memory;
mod store;

pub use store::{SIGNING_KEYS_RECORD_ID, SigningKeyStore, StoredSigningKeys, signing_keys_conflict};

/// Compile-time proof that [`SigningKeyStore`] is dyn-compatible.
const _: fn(&dyn SigningKeyStore) = |_| {};
