//! The persistence contract for webhooks.

use std::sync::Arc;

use super::model::WebhookRecord;
use crate::store::StoreError;

/// Persistence for webhook records, beside the keys on the same storage, so every process on one
/// store (the server, the CLI) sees the same webhooks.
///
/// `ak_testkit::webhook_conformance!` checks every clause.
///
/// # Contract
///
/// * **Apart from every other record.** No access-key, management-key, signing-key or audit call
///   returns or changes a webhook, and no method here touches them, even when ids coincide.
/// * **Absent is `Ok(None)`** for [`get_webhook`](Self::get_webhook).
/// * **Insert is create-only**: [`StoreError::AlreadyExists`] for a taken id, changing nothing.
/// * **Round trip**: a get or list returns every field exactly as inserted, the sealed secret
///   byte for byte (any bytes, any length up to at least 4 KiB).
/// * **Delete** returns whether a record was removed; a removal is durable when it returns, and
///   no later get or list (in any process on the store) sees the record.
/// * **List** returns every record, ordered by id.
/// * **Durability, atomicity and concurrency** as for [`KeyStore`](crate::KeyStore): an insert or
///   delete that returned `Ok` survives a crash of the process and, for on-disk stores, of the
///   machine; of two racing inserts of one id exactly one succeeds.
pub trait WebhookStore: std::fmt::Debug + Send + Sync {
    /// Stores a new record; [`StoreError::AlreadyExists`] if its id is taken.
    fn insert_webhook(&self, record: &WebhookRecord) -> Result<(), StoreError>;

    /// Loads the record with this id, or `Ok(None)`.
    fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError>;

    /// Every record, ordered by id.
    fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError>;

    /// Deletes the record with this id; `Ok(false)` if there was none.
    fn delete_webhook(&self, id: &str) -> Result<bool, StoreError>;
}

macro_rules! forward_webhook_store {
    ($($pointer:ty),*) => {$(
        impl<S: WebhookStore + ?Sized> WebhookStore for $pointer {
            fn insert_webhook(&self, record: &WebhookRecord) -> Result<(), StoreError> {
                (**self).insert_webhook(record)
            }
            fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
                (**self).get_webhook(id)
            }
            fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
                (**self).list_webhooks()
            }
            fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
                (**self).delete_webhook(id)
            }
        }
    )*};
}
forward_webhook_store!(Arc<S>, Box<S>, &S);
