//! Webhooks: URLs that receive audit events as signed HTTP POSTs.
//!
//! This module holds the record and its persistence contract; the `ak` facade generates and seals
//! each webhook's signing secret and delivers events (`ak::webhook`).
//!
//! * [`Webhook`]: what administrators see: id, URL, action filter, creation time and creator.
//! * [`WebhookRecord`]: what a store keeps: the webhook and its signing secret, sealed by the
//!   facade under the master key (the store only moves opaque bytes).
//! * [`WebhookStore`]: the persistence contract; [`MemoryKeyStore`](crate::MemoryKeyStore)
//!   implements it here, the disk backends in their crates.
//! * [`validate_url`], [`validate_actions`], [`action_matches`]: the checks and the filter.
//!
//! ```
//! use ak_core::MemoryKeyStore;
//! use ak_core::webhook::{Webhook, WebhookRecord, WebhookStore};
//!
//! let store = MemoryKeyStore::new();
//! let webhook = Webhook {
//!     id: "wh1".into(),
//!     url: "https://hooks.example.com/ak".into(),
//!     actions: vec!["accesskey.*".into()],
//!     created_time: 1_700_000_000,
//!     created_by: "cli:alice".into(),
//! };
//! store.insert_webhook(&WebhookRecord { webhook, sealed_secret: b"sealed".to_vec() })?;
//! assert_eq!(store.list_webhooks()?.len(), 1);
//! assert!(store.get_webhook("wh1")?.unwrap().webhook.matches("accesskey.create"));
//! assert!(store.delete_webhook("wh1")?);
//! assert!(store.get_webhook("wh1")?.is_none());
//! # Ok::<(), ak_core::StoreError>(())
//! ```

mod memory;
mod model;
mod store;

pub use model::{
    Webhook, WebhookRecord, action_matches, generate_webhook_id, validate_actions, validate_url,
};
pub use store::WebhookStore;

/// Compile-time proof that [`WebhookStore`] is dyn-compatible.
const _: fn(&dyn WebhookStore) = |_| {};
