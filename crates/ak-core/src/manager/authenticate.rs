//! Authentication of a presented key: format, secret, then status, expiry, IP and bound user.

use std::net::IpAddr;

use crate::authorization::Authorization;
use crate::directory::DirectoryUser;
use crate::error::AuthError;
use crate::hash::SecretMatch;
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
    /// hash as a wrong secret does, and decodes a decoy record as a found key's lookup does.
    pub fn authenticate_at(
        &self,
        presented: &str,
        client_ip: Option<IpAddr>,
        now: i64,
    ) -> Result<AuthenticatedKey, AuthError> {
        let presented = key_format::parse(presented).ok_or(AuthError::InvalidKey)?;
        let Some(record) = self.store.get(presented.id)? else {
            self.store.decode_decoy(&self.decoy);
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

    /// Whether `secret` is the key's current secret, or its previous one within the grace period:
    /// one argon2id run either way (see `SecretHasher::verify_current_or_previous`), so every
    /// wrong secret costs the same, and an unknown id costs that too (the decoy).
    fn secret_matches(&self, record: &KeyRecord, secret: &Secret, now: i64) -> bool {
        let id = record.id();
        if self.cache.is_proven(id, &record.secret_hash, secret) {
            return true;
        }
        let previous = record
            .previous_secret
            .as_ref()
            .filter(|grace| now < grace.valid_until)
            .map(|grace| grace.secret_hash.as_str());
        match self
            .hasher
            .verify_current_or_previous(secret, &record.secret_hash, previous)
        {
            SecretMatch::Current => {
                self.cache.remember(id, &record.secret_hash, secret);
                true
            }
            SecretMatch::Previous => true,
            SecretMatch::Neither => false,
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::hash::tests::argon2_runs;
    use crate::key_format;
    use crate::{CreateKey, KeyManager, ManualClock, MemoryKeyStore, SeededRandom};

    /// Issue 12, finding 5: every failing path costs one argon2id run, the grace period included.
    #[test]
    fn every_failing_authentication_costs_one_argon2_run() {
        let manager = KeyManager::builder(Arc::new(MemoryKeyStore::new()))
            .clock(Arc::new(ManualClock::new(1_750_000_000)))
            .random(Arc::new(SeededRandom::new(5)))
            .secret_cache_capacity(0)
            .build()
            .unwrap();
        let plain = manager.create(CreateKey::named("plain")).unwrap();
        let rotated = manager.create(CreateKey::named("rotated")).unwrap();
        let old = rotated.cleartext.expose_secret().to_owned();
        let new = manager.rotate(&rotated.key.id, 600).unwrap();
        let new = new.cleartext.expose_secret().to_owned();
        // Well-formed keys (right format and checksum) with a secret nobody was given.
        let other = SeededRandom::new(99);
        let wrong_secret = |id: &str| {
            let (cleartext, _) = key_format::generate("ak", id, &other).unwrap();
            cleartext.expose_secret().to_owned()
        };
        let deleted = manager.create(CreateKey::named("deleted")).unwrap();
        manager.delete(&deleted.key.id).unwrap();
        let cases = [
            ("unknown id", wrong_secret(&deleted.key.id)),
            ("wrong secret", wrong_secret(&plain.key.id)),
            ("wrong secret during grace", wrong_secret(&rotated.key.id)),
        ];
        for (case, presented) in cases {
            let (runs, result) = argon2_runs(|| manager.authenticate(&presented, None));
            assert!(result.is_err(), "{case}");
            assert_eq!(runs, 1, "{case}");
        }
        for (case, presented) in [("new secret", new), ("old secret in grace", old)] {
            let (runs, result) = argon2_runs(|| manager.authenticate(&presented, None));
            assert!(result.is_ok(), "{case}: {result:?}");
            assert_eq!(runs, 1, "{case}");
        }
    }

    /// A memory store that counts the decoys it was asked to decode.
    #[derive(Debug, Default)]
    struct CountingDecoys {
        inner: MemoryKeyStore,
        decoys: std::sync::atomic::AtomicUsize,
    }

    impl crate::KeyStore for CountingDecoys {
        fn insert(&self, record: &crate::KeyRecord) -> Result<(), crate::StoreError> {
            self.inner.insert(record)
        }
        fn get(&self, id: &str) -> Result<Option<crate::KeyRecord>, crate::StoreError> {
            self.inner.get(id)
        }
        fn update(&self, record: &crate::KeyRecord) -> Result<u64, crate::StoreError> {
            self.inner.update(record)
        }
        fn set_status(&self, ids: &[String], status: crate::KeyStatus) -> Result<(), crate::StoreError> {
            self.inner.set_status(ids, status)
        }
        fn delete(&self, ids: &[String]) -> Result<(), crate::StoreError> {
            self.inner.delete(ids)
        }
        fn search(
            &self,
            query: &crate::SearchQuery,
        ) -> Result<crate::Page<crate::KeyRecord>, crate::StoreError> {
            self.inner.search(query)
        }
        fn decode_decoy(&self, decoy: &crate::DecoyRecord) {
            decoy.decode_json();
            self.decoys.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// An unknown id has the store decode the decoy record (the work a found record's lookup
    /// does); a found key, right or wrong secret, does not.
    #[test]
    fn only_an_unknown_id_decodes_the_decoy_record() {
        use crate::KeyStore as _;
        let store = Arc::new(CountingDecoys::default());
        let manager = KeyManager::builder(store.clone()).build().unwrap();
        let kept = manager.create(CreateKey::named("kept")).unwrap();
        let deleted = manager.create(CreateKey::named("deleted")).unwrap();
        manager.delete(&deleted.key.id).unwrap();
        let decoys = || store.decoys.load(std::sync::atomic::Ordering::SeqCst);
        let other = SeededRandom::new(7);
        let (wrong, _) = key_format::generate("ak", &kept.key.id, &other).unwrap();
        assert!(manager.authenticate(wrong.expose_secret(), None).is_err());
        assert!(manager.authenticate(kept.cleartext.expose_secret(), None).is_ok());
        assert_eq!(decoys(), 0);
        assert!(
            manager
                .authenticate(deleted.cleartext.expose_secret(), None)
                .is_err()
        );
        assert_eq!(decoys(), 1);
        // The pointer forwarding passes it on.
        Arc::clone(&store).decode_decoy(&crate::DecoyRecord::new("a", "b"));
        assert_eq!(decoys(), 2);
    }
}
