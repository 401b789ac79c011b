//! [`ManagementKeys`]: create, list, delete and authenticate management keys.

use std::sync::Arc;

use super::format;
use super::model::{ManagementKey, ManagementKeyRecord};
use super::store::ManagementKeyStore;
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, ManageError};
use crate::hash::{HashParams, SecretHasher};
use crate::key_format::{self, Cleartext};
use crate::manager::ConfigError;
use crate::random::{OsRandom, RandomSource};
use crate::validate;

/// A newly created management key: its cleartext, shown once, and the key.
#[derive(Debug)]
pub struct CreatedManagementKey {
    /// The cleartext. It is stored nowhere; this is the only copy.
    pub cleartext: Cleartext,
    /// The key as stored.
    pub key: ManagementKey,
}

/// Creates, lists, deletes and authenticates management keys over a [`ManagementKeyStore`].
///
/// Authentication reads the store on every call (no cache), so a deleted key fails on the next
/// request. An unknown id spends the same argon2id time on a decoy hash as a wrong secret.
#[derive(Debug)]
pub struct ManagementKeys {
    store: Arc<dyn ManagementKeyStore>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    hasher: SecretHasher,
}

impl ManagementKeys {
    /// Management keys over `store`, with the system clock, the OS CSPRNG and the default
    /// argon2id parameters.
    pub fn new(store: Arc<dyn ManagementKeyStore>) -> Result<Self, ConfigError> {
        Self::with(
            store,
            Arc::new(SystemClock),
            Arc::new(OsRandom),
            HashParams::default(),
        )
    }

    /// Management keys with an explicit clock, random source and hash parameters.
    pub fn with(
        store: Arc<dyn ManagementKeyStore>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn RandomSource>,
        params: HashParams,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            store,
            clock,
            random,
            hasher: SecretHasher::new(params)?,
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ManagementKeyStore> {
        &self.store
    }

    /// Creates a management key named `name` (validated like an access-key name); `created_by`
    /// may be empty.
    pub fn create(
        &self,
        name: &str,
        read_only: bool,
        created_by: &str,
    ) -> Result<CreatedManagementKey, ManageError> {
        validate::name(name)?;
        if !created_by.is_empty() {
            validate::id("createdBy", created_by)?;
        }
        let id = key_format::generate_id(self.random.as_ref())?;
        let (cleartext, secret) = format::generate(&id, self.random.as_ref())?;
        let record = ManagementKeyRecord {
            key: ManagementKey {
                id,
                name: name.to_owned(),
                read_only,
                created_time: self.clock.now(),
                created_by: created_by.to_owned(),
            },
            secret_hash: self.hasher.hash(&secret, self.random.as_ref())?,
        };
        self.store.insert_management_key(&record)?;
        Ok(CreatedManagementKey {
            cleartext,
            key: record.key,
        })
    }

    /// Every management key, ordered by id.
    pub fn list(&self) -> Result<Vec<ManagementKey>, ManageError> {
        Ok(self
            .store
            .list_management_keys()?
            .into_iter()
            .map(|record| record.key)
            .collect())
    }

    /// Deletes a management key; it stops authenticating when this returns.
    pub fn delete(&self, id: &str) -> Result<(), ManageError> {
        validate::id("id", id)?;
        if self.store.delete_management_key(id)? {
            Ok(())
        } else {
            Err(ManageError::NotFound {
                ids: vec![id.to_owned()],
            })
        }
    }

    /// The management key whose cleartext is `presented`.
    ///
    /// A malformed key, an unknown id and a wrong secret are all [`AuthError::InvalidKey`]; a
    /// store failure is [`AuthError::Store`] (fail closed).
    pub fn authenticate(&self, presented: &str) -> Result<ManagementKey, AuthError> {
        let presented = format::parse(presented).ok_or(AuthError::InvalidKey)?;
        let Some(record) = self.store.get_management_key(presented.id)? else {
            self.hasher.verify_decoy(&presented.secret);
            return Err(AuthError::InvalidKey);
        };
        if record.key.id != presented.id || !self.hasher.verify(&presented.secret, &record.secret_hash) {
            return Err(AuthError::InvalidKey);
        }
        Ok(record.key)
    }
}
