//! Management calls: create, load, search, update, activate, deactivate, delete and rotate.

use crate::error::ManageError;
use crate::key_format;
use crate::limits::MAX_ROTATION_GRACE_SECS;
use crate::model::{AccessKey, GraceSecret, KeyRecord, KeyStatus};
use crate::query::{Page, SearchQuery};
use crate::store::StoreError;
use crate::validate::{self, ValidationError};

use super::{CreateKey, CreatedKey, KeyManager, UpdateKey};

/// How many times an update re-reads and retries after losing a compare-and-swap race.
const UPDATE_ATTEMPTS: usize = 8;

impl KeyManager {
    /// Creates a key and returns its cleartext (the only time it exists) with the stored key.
    pub fn create(&self, request: CreateKey) -> Result<CreatedKey, ManageError> {
        let now = self.clock.now();
        validate::name(&request.name)?;
        let description = request.description.unwrap_or_default();
        validate::description(&description)?;
        validate::roles_and_tenants(&request.role_names, &request.key_tenants)?;
        if let Some(expire_time) = request.expire_time {
            validate::expire_time(expire_time, now)?;
        }
        validate::custom_claims(&request.custom_claims)?;
        validate::custom_attributes(&request.custom_attributes)?;
        validate::permitted_ips(&request.permitted_ips)?;
        let created_by = request.created_by.unwrap_or_default();
        if !created_by.is_empty() {
            validate::id("createdBy", &created_by)?;
        }
        if let Some(catalog) = &self.catalog {
            catalog.check(&request.role_names, &request.key_tenants)?;
        }
        if let Some(user_id) = &request.user_id {
            validate::id("userId", user_id)?;
            if let Some(users) = &self.users
                && users.find_user(user_id)?.is_none()
            {
                return Err(ValidationError::UnknownUser {
                    user_id: user_id.clone(),
                }
                .into());
            }
        }

        let id = key_format::generate_id(self.random.as_ref())?;
        let (cleartext, secret) = key_format::generate(&self.prefix, &id, self.random.as_ref())?;
        let secret_hash = self.hasher.hash(&secret, self.random.as_ref())?;
        let key = AccessKey {
            id,
            name: request.name,
            description,
            role_names: request.role_names,
            key_tenants: request.key_tenants,
            status: KeyStatus::Active,
            created_time: now,
            expire_time: request.expire_time,
            created_by,
            bound_user_id: request.user_id,
            custom_claims: request.custom_claims,
            custom_attributes: request.custom_attributes,
            permitted_ips: request.permitted_ips,
            last_used_time: None,
            last_used_ip: None,
        };
        let record = KeyRecord {
            key,
            secret_hash,
            previous_secret: None,
            version: 1,
        };
        self.store.insert(&record)?;
        Ok(CreatedKey {
            cleartext,
            key: record.key,
        })
    }

    /// Loads a key by id.
    pub fn load(&self, id: &str) -> Result<AccessKey, ManageError> {
        Ok(self.load_record(id)?.key)
    }

    /// One page of the keys matching `query`. Page through with the returned cursor.
    pub fn search(&self, query: &SearchQuery) -> Result<Page<AccessKey>, ManageError> {
        query.validate()?;
        Ok(self.store.search(query)?.map(|record| record.key))
    }

    /// Updates a key: `id` and `name` required, absent fields kept, empty ones cleared.
    pub fn update(&self, request: UpdateKey) -> Result<AccessKey, ManageError> {
        validate::id("id", &request.id)?;
        validate::name(&request.name)?;
        if let Some(description) = &request.description {
            validate::description(description)?;
        }
        if let Some(claims) = &request.custom_claims {
            validate::custom_claims(claims)?;
        }
        if let Some(attributes) = &request.custom_attributes {
            validate::custom_attributes(attributes)?;
        }
        if let Some(ips) = &request.permitted_ips {
            validate::permitted_ips(ips)?;
        }
        for _ in 0..UPDATE_ATTEMPTS {
            let mut record = self.load_record(&request.id)?;
            let key = &mut record.key;
            key.name.clone_from(&request.name);
            if let Some(description) = &request.description {
                key.description.clone_from(description);
            }
            if let Some(roles) = &request.role_names {
                key.role_names.clone_from(roles);
            }
            if let Some(tenants) = &request.key_tenants {
                key.key_tenants.clone_from(tenants);
            }
            if let Some(claims) = &request.custom_claims {
                key.custom_claims.clone_from(claims);
            }
            if let Some(attributes) = &request.custom_attributes {
                key.custom_attributes.clone_from(attributes);
            }
            if let Some(ips) = &request.permitted_ips {
                key.permitted_ips.clone_from(ips);
            }
            validate::roles_and_tenants(&key.role_names, &key.key_tenants)?;
            if let Some(catalog) = &self.catalog {
                catalog.check(&key.role_names, &key.key_tenants)?;
            }
            match self.store.update(&record) {
                Ok(version) => {
                    record.version = version;
                    return Ok(record.key);
                }
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ManageError::Conflict { id: request.id })
    }

    /// Activates one key.
    pub fn activate(&self, id: &str) -> Result<(), ManageError> {
        self.activate_batch(&[id.to_owned()])
    }

    /// Deactivates one key; durable when this returns.
    pub fn deactivate(&self, id: &str) -> Result<(), ManageError> {
        self.deactivate_batch(&[id.to_owned()])
    }

    /// Deletes one key, irreversibly; durable when this returns.
    pub fn delete(&self, id: &str) -> Result<(), ManageError> {
        self.delete_batch(&[id.to_owned()])
    }

    /// Activates up to 1000 keys atomically; an unknown id fails the whole batch.
    pub fn activate_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        validate::batch(ids)?;
        Ok(self.store.set_status(ids, KeyStatus::Active)?)
    }

    /// Deactivates up to 1000 keys atomically; an unknown id fails the whole batch.
    pub fn deactivate_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        validate::batch(ids)?;
        self.store.set_status(ids, KeyStatus::Inactive)?;
        ids.iter().for_each(|id| self.cache.forget(id));
        Ok(())
    }

    /// Deletes up to 1000 keys atomically; an unknown id fails the whole batch.
    pub fn delete_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        validate::batch(ids)?;
        self.store.delete(ids)?;
        ids.iter().for_each(|id| self.cache.forget(id));
        Ok(())
    }

    /// Gives an active, unexpired key a new secret and returns its cleartext.
    ///
    /// With `grace_secs == 0` the old secret stops working when this returns. Otherwise it keeps
    /// authenticating for `grace_secs` seconds (at most 7 days); a later rotation replaces it.
    pub fn rotate(&self, id: &str, grace_secs: u64) -> Result<CreatedKey, ManageError> {
        if grace_secs > MAX_ROTATION_GRACE_SECS {
            return Err(ValidationError::GraceTooLong { secs: grace_secs }.into());
        }
        let grace =
            i64::try_from(grace_secs).map_err(|_| ValidationError::GraceTooLong { secs: grace_secs })?;
        for _ in 0..UPDATE_ATTEMPTS {
            let mut record = self.load_record(id)?;
            let now = self.clock.now();
            if record.key.status != KeyStatus::Active {
                return Err(ManageError::NotRotatable {
                    id: id.to_owned(),
                    reason: "inactive",
                });
            }
            if record.key.is_expired_at(now) {
                return Err(ManageError::NotRotatable {
                    id: id.to_owned(),
                    reason: "expired",
                });
            }
            let (cleartext, secret) = key_format::generate(&self.prefix, id, self.random.as_ref())?;
            let new_hash = if grace > 0 {
                self.hasher
                    .hash_for_rotation(&secret, &record.secret_hash, self.random.as_ref())?
            } else {
                self.hasher.hash(&secret, self.random.as_ref())?
            };
            let old_hash = std::mem::replace(&mut record.secret_hash, new_hash);
            record.previous_secret = (grace > 0).then(|| GraceSecret {
                secret_hash: old_hash,
                valid_until: now + grace,
            });
            match self.store.update(&record) {
                Ok(version) => {
                    record.version = version;
                    self.cache.forget(id);
                    return Ok(CreatedKey {
                        cleartext,
                        key: record.key,
                    });
                }
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ManageError::Conflict { id: id.to_owned() })
    }

    pub(super) fn load_record(&self, id: &str) -> Result<KeyRecord, ManageError> {
        validate::id("id", id)?;
        self.store.get(id)?.ok_or_else(|| ManageError::NotFound {
            ids: vec![id.to_owned()],
        })
    }
}
