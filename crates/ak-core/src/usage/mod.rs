//! Last-used tracking: when and from where each access key was last used.
//!
//! * [`KeyUsageStore`]: the persistence contract; usage is read back through
//!   [`KeyStore`](crate::KeyStore) as [`AccessKey::last_used_time`](crate::AccessKey::last_used_time)
//!   and [`last_used_ip`](crate::AccessKey::last_used_ip).
//! * [`UsageTracker`]: coalesces uses per key and writes at most once per key per interval
//!   ([`DEFAULT_USAGE_INTERVAL`]), off the exchange path.
//!
//! ```
//! use std::sync::Arc;
//! use ak_core::{CreateKey, KeyManager, KeyStore, MemoryKeyStore};
//! use ak_core::usage::UsageTracker;
//!
//! let store = Arc::new(MemoryKeyStore::new());
//! let manager = KeyManager::builder(store.clone()).build()?;
//! let created = manager.create(CreateKey::named("bot"))?;
//! assert_eq!(store.get(&created.key.id)?.unwrap().key.last_used_time, None);
//!
//! let tracker = UsageTracker::new(store.clone());
//! tracker.touch(&created.key.id, 1_700_000_000, Some("10.0.0.1"));
//! tracker.flush();
//! let key = store.get(&created.key.id)?.unwrap().key;
//! assert_eq!(key.last_used_time, Some(1_700_000_000));
//! assert_eq!(key.last_used_ip.as_deref(), Some("10.0.0.1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod memory;
mod store;
mod tracker;

pub use store::{KeyUsage, KeyUsageStore};
pub use tracker::{DEFAULT_USAGE_INTERVAL, MAX_PENDING_KEYS, UsageTracker};

/// Compile-time proof that [`KeyUsageStore`] is dyn-compatible.
const _: fn(&dyn KeyUsageStore) = |_| {};
