//! The persistence contract for last-used times.

use std::sync::Arc;

use crate::store::StoreError;

/// When and from where a key was last used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    /// The key's id.
    pub key_id: String,
    /// When it was used (Unix seconds).
    pub time: i64,
    /// The client address it was used from, when known.
    pub ip: Option<String>,
}

/// Persistence for the last use of each access key, beside the keys on the same storage.
///
/// Usage reaches a store through a [`UsageTracker`](super::UsageTracker), which coalesces it per
/// key off the exchange path. It is read back through [`KeyStore`](crate::KeyStore):
/// `get` and `search` fill [`AccessKey::last_used_time`](crate::AccessKey::last_used_time) and
/// [`last_used_ip`](crate::AccessKey::last_used_ip), and
/// [`SearchQuery::not_used_since`](crate::SearchQuery::not_used_since) filters on them.
/// `ak_testkit::key_usage_conformance!` checks every clause.
///
/// # Contract
///
/// * **Recorded beside the record.** After [`record_key_usage`](Self::record_key_usage) returns
///   `Ok`, `KeyStore::get` of each listed key shows its time and ip, and search sees them.
/// * **Never backwards.** An entry older than the stored time of its key changes nothing; one at
///   the same time or newer replaces time and ip (an absent ip stays absent).
/// * **Not a record write.** Usage never changes a record's `version`, so it never makes an
///   administrator's compare-and-swap update fail; and `KeyStore::insert` and `update` never write
///   usage: a new record shows none, an updated one keeps what was recorded (whatever `last_used_*`
///   the given record carries).
/// * **Unknown keys are passed over.** An entry for an id with no record changes nothing (the key
///   may have been deleted since it was used); deleting a key deletes its usage.
/// * **Batch.** One call may carry many keys; it is applied atomically.
/// * **Durability and concurrency** as for [`KeyStore`](crate::KeyStore).
pub trait KeyUsageStore: std::fmt::Debug + Send + Sync {
    /// Records the last use of each listed key (see the contract for what is passed over).
    fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError>;
}

macro_rules! forward_key_usage_store {
    ($($pointer:ty),*) => {$(
        impl<S: KeyUsageStore + ?Sized> KeyUsageStore for $pointer {
            fn record_key_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
                (**self).record_key_usage(usage)
            }
        }
    )*};
}
forward_key_usage_store!(Arc<S>, Box<S>, &S);
