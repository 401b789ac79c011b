//! The persistence contract for management keys.

use std::sync::Arc;

use super::model::ManagementKeyRecord;
use crate::store::StoreError;

/// Persistence for management-key records, kept apart from access-key records.
///
/// A backend implements it beside [`KeyStore`](crate::KeyStore) on the same storage, so every
/// process on one store sees the same management keys. `ak_testkit::management_key_conformance!`
/// checks every clause.
///
/// # Contract
///
/// * **Apart from access keys.** No [`KeyStore`](crate::KeyStore) call ever returns or changes a
///   management-key record, and no method here returns or changes an access-key record, even
///   when ids coincide.
/// * **Absent is `Ok(None)`** for [`get_management_key`](Self::get_management_key).
/// * **Insert is create-only**: [`StoreError::AlreadyExists`] for a taken id, changing nothing.
/// * **Delete** returns whether a record was removed; a removal is durable when it returns, and
///   no later `get_management_key` (in any process on the store) sees the record.
/// * **List** returns every record, ordered by id.
/// * **Durability, atomicity and concurrency** as for [`KeyStore`](crate::KeyStore): two racing
///   inserts of one id, exactly one succeeds.
pub trait ManagementKeyStore: std::fmt::Debug + Send + Sync {
    /// Stores a new record; [`StoreError::AlreadyExists`] if its id is taken.
    fn insert_management_key(&self, record: &ManagementKeyRecord) -> Result<(), StoreError>;

    /// Loads the record with this id, or `Ok(None)`.
    fn get_management_key(&self, id: &str) -> Result<Option<ManagementKeyRecord>, StoreError>;

    /// Every record, ordered by id.
    fn list_management_keys(&self) -> Result<Vec<ManagementKeyRecord>, StoreError>;

    /// Deletes the record with this id; `Ok(false)` if there was none.
    fn delete_management_key(&self, id: &str) -> Result<bool, StoreError>;
}

macro_rules! forward_management_key_store {
    ($($pointer:ty),*) => {$(
        impl<S: ManagementKeyStore + ?Sized> ManagementKeyStore for $pointer {
            fn insert_management_key(&self, record: &ManagementKeyRecord) -> Result<(), StoreError> {
                (**self).insert_management_key(record)
            }
            fn get_management_key(&self, id: &str) -> Result<Option<ManagementKeyRecord>, StoreError> {
                (**self).get_management_key(id)
            }
            fn list_management_keys(&self) -> Result<Vec<ManagementKeyRecord>, StoreError> {
                (**self).list_management_keys()
            }
            fn delete_management_key(&self, id: &str) -> Result<bool, StoreError> {
                (**self).delete_management_key(id)
            }
        }
    )*};
}
forward_management_key_store!(Arc<S>, Box<S>, &S);
