//! Authentication of a presented key: format, secret, then status, expiry, IP and bound user.

use std::net::IpAddr;

use crate::authorization::Authorization;
use crate::directory::DirectoryUser;
use crate::error::AuthError;
use crate::ip;
use crate::key_format::{self, Secret};
use crate::model::{AccessKey, KeyRecord, KeyStatus};

use super::KeyManager;

/// A key that proved its secret and passed every check.
#[derive(Debug, Clone)]
pub struct AuthenticatedKey {
    /// The key.
    pub key: AccessKey,
    /// What its tokens carry: the key's roles and tenants, or its bound user's when a user
    /// directory is configured, with permissions resolved through the role catalog.
    pub authorization: Authorization,
    /// The bound user as the directory reported it (only with a directory and a bound key).
    pub bound_user: Option<DirectoryUser>,
}

impl KeyManager {
    /// Authenticates a presented key now (per the manager's clock). See
    /// [`authenticate_at`](Self::authenticate_at).
    pub fn authenticate(
        &self,
        presented: &str,
        client_ip: Option<IpAddr>,
    ) -> Result<AuthenticatedKey, AuthError> {
        self.authenticate_at(presented, client_ip, self.clock.now())
    }

    /// Authenticates a presented key at time `now` (Unix seconds).
    ///
    /// Order of checks: format and checksum (no store access), one point lookup, the secret
    /// (argon2id, or the in-process cache of recently proven secrets), and only then status,
    /// expiry, permitted IPs and the bound user. A malformed key, an unknown id and a wrong secret
    /// all return [`AuthError::InvalidKey`]; an unknown id spends the same argon2id time on a decoy
    /// hash as a wrong secret does.
    pub fn authenticate_at(
        &self,
        presented: &str,
        client_ip: Option<IpAddr>,
        now: i64,
    ) -> Result<AuthenticatedKey, AuthError> {
        let presented = key_format::parse(presented).ok_or(AuthError::InvalidKey)?;
        let Some(record) = self.store.get(presented.id)? else {
            self.hasher.verify_decoy(&presented.secret);
            return Err(AuthError::InvalidKey);
        };
        if !self.secret_matches(&record, &presented.secret, now) {
            return Err(AuthError::InvalidKey);
        }
        let key = record.key;
        if key.status != KeyStatus::Active {
            return Err(AuthError::Inactive);
        }
        if key.is_expired_at(now) {
            return Err(AuthError::Expired);
        }
        if !ip::is_permitted(&key.permitted_ips, client_ip) {
            return Err(AuthError::IpNotPermitted);
        }
        let bound_user = self.bound_user(&key)?;
        let authorization = match &bound_user {
            Some(user) => Authorization::resolve(&user.role_names, &user.tenants, self.catalog.as_ref()),
            None => Authorization::resolve(&key.role_names, &key.key_tenants, self.catalog.as_ref()),
        };
        Ok(AuthenticatedKey {
            key,
            authorization,
            bound_user,
        })
    }

    /// Checks with one point lookup that key `id` still exists, is active and is unexpired at
    /// `now`, and (with a user directory) that its bound user is still active; for
    /// revocation-aware validation of tokens minted earlier.
    pub fn ensure_usable_at(&self, id: &str, now: i64) -> Result<AccessKey, AuthError> {
        if crate::validate::id("id", id).is_err() {
            return Err(AuthError::InvalidKey);
        }
        let key = self.store.get(id)?.ok_or(AuthError::InvalidKey)?.key;
        if key.status != KeyStatus::Active {
            return Err(AuthError::Inactive);
        }
        if key.is_expired_at(now) {
            return Err(AuthError::Expired);
        }
        self.bound_user(&key)?;
        Ok(key)
    }

    fn secret_matches(&self, record: &KeyRecord, secret: &Secret, now: i64) -> bool {
        let id = record.id();
        if self.cache.is_proven(id, &record.secret_hash, secret) {
            return true;
        }
        if self.hasher.verify(secret, &record.secret_hash) {
            self.cache.remember(id, &record.secret_hash, secret);
            return true;
        }
        record
            .previous_secret
            .as_ref()
            .is_some_and(|grace| now < grace.valid_until && self.hasher.verify(secret, &grace.secret_hash))
    }

    fn bound_user(&self, key: &AccessKey) -> Result<Option<DirectoryUser>, AuthError> {
        let (Some(user_id), Some(users)) = (&key.bound_user_id, &self.users) else {
            return Ok(None);
        };
        match users.find_user(user_id)? {
            Some(user) if user.active => Ok(Some(user)),
            _ => Err(AuthError::BoundUserInactive),
        }
    }
}
