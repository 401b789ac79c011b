//! Remembers recently proven secrets so a repeated exchange skips the argon2id check.
//!
//! An entry maps a key id to SHA-256 digests of the proven secret and of the stored hash it was
//! proven against. A presented secret whose digest matches (compared in constant time) *and* whose
//! record still carries the same stored hash is proven without argon2id; a rotation changes the
//! stored hash and so invalidates the entry, in this process or any other. The cache holds digests
//! of 256-bit secrets, never the secrets, and at most its capacity in entries.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::key_format::Secret;

/// Default number of entries.
pub const DEFAULT_SECRET_CACHE_CAPACITY: usize = 10_000;

struct Entry {
    stored_hash: [u8; 32],
    secret: [u8; 32],
}

pub(crate) struct SecretCache {
    capacity: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

/// Shows only the size: even digests of secrets stay out of logs.
impl std::fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.lock().map(|entries| entries.len()).unwrap_or(0);
        f.debug_struct("SecretCache")
            .field("capacity", &self.capacity)
            .field("len", &len)
            .finish()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl SecretCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `secret` was proven before against exactly `stored_hash` for key `id`.
    pub(crate) fn is_proven(&self, id: &str, stored_hash: &str, secret: &Secret) -> bool {
        if self.capacity == 0 {
            return false;
        }
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        let Some(entry) = entries.get(id) else {
            return false;
        };
        entry.stored_hash == digest(stored_hash.as_bytes())
            && bool::from(entry.secret.ct_eq(&digest(secret.0.as_ref())))
    }

    /// Records that `secret` matched `stored_hash` for key `id`.
    pub(crate) fn remember(&self, id: &str, stored_hash: &str, secret: &Secret) {
        if self.capacity == 0 {
            return;
        }
        let entry = Entry {
            stored_hash: digest(stored_hash.as_bytes()),
            secret: digest(secret.0.as_ref()),
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity && !entries.contains_key(id) {
                // Evict an arbitrary entry: the cache is an optimisation, never a source of truth.
                if let Some(victim) = entries.keys().next().cloned() {
                    entries.remove(&victim);
                }
            }
            entries.insert(id.to_owned(), entry);
        }
    }

    /// Forgets key `id`.
    pub(crate) fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(id);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|entries| entries.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use zeroize::Zeroizing;

    use super::*;

    fn secret(byte: u8) -> Secret {
        Secret(Zeroizing::new([byte; 32]))
    }

    #[test]
    fn proves_only_the_same_secret_against_the_same_hash() {
        let cache = SecretCache::new(4);
        cache.remember("k", "hash-1", &secret(1));
        assert!(cache.is_proven("k", "hash-1", &secret(1)));
        assert!(!cache.is_proven("k", "hash-1", &secret(2)));
        assert!(
            !cache.is_proven("k", "hash-2", &secret(1)),
            "a rotated hash invalidates"
        );
        assert!(!cache.is_proven("other", "hash-1", &secret(1)));
        cache.forget("k");
        assert!(!cache.is_proven("k", "hash-1", &secret(1)));
    }

    #[test]
    fn stays_within_capacity_and_zero_disables() {
        let cache = SecretCache::new(3);
        for index in 0..10u8 {
            cache.remember(&format!("k{index}"), "h", &secret(index));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.is_proven("k9", "h", &secret(9)), "the newest entry is kept");
        let off = SecretCache::new(0);
        off.remember("k", "h", &secret(1));
        assert!(!off.is_proven("k", "h", &secret(1)));
    }
}
