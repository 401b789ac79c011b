//! A bounded cache of already-verified tokens, keyed by the SHA-256 of the token bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::claims::SessionClaims;

/// Default [`CacheOptions::max_entries`].
pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;

/// Settings of the verified-token cache of a [`Verifier`](crate::Verifier).
///
/// A cache hit skips decoding and the Ed25519 signature check (~50 µs) and costs a SHA-256 of the token, a map
/// lookup and the claim checks (about a microsecond). Only tokens that passed every check are cached; on a hit the
/// time, issuer and audience checks run again on the cached claims with the same rules as the uncached path, so an
/// expired token is never returned. Entries whose key was retired or replaced are dropped when the verifier's keys
/// change, and a hit re-checks that its key is still present.
///
/// **Memory bound:** at most `max_entries` entries (rounded up to an even number, at least 2). Each entry holds 32
/// bytes of hash, the key id and the decoded claims of a token of at most
/// [`VerificationOptions::max_token_len`](crate::VerificationOptions::max_token_len) bytes, so the cache holds at
/// most about `max_entries × (max_token_len + 200)` bytes; with the defaults (10 000 entries, tokens usually
/// under 1 KiB) a few MiB. Eviction is generational: when the newer half fills up, the older half is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheOptions {
    /// The maximum number of cached tokens.
    pub max_entries: usize,
}

impl CacheOptions {
    /// A cache of at most `max_entries` tokens.
    #[must_use]
    pub const fn new(max_entries: usize) -> Self {
        Self { max_entries }
    }
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self::new(DEFAULT_CACHE_ENTRIES)
    }
}

/// SHA-256 of a token.
pub(crate) type TokenHash = [u8; 32];

/// What is remembered about a verified token.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) claims: Arc<SessionClaims>,
    pub(crate) kid: Arc<str>,
    /// The public key that verified the token: a hit is only served while the verifier still maps `kid` to it.
    pub(crate) public_key: [u8; 32],
}

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<TokenHash, Entry>,
    previous: HashMap<TokenHash, Entry>,
}

/// Two-generation bounded map: inserts go to `current`; when it reaches `half` entries it becomes `previous` (the
/// old `previous` is dropped). Hits in `previous` are promoted. Amortized O(1), no per-entry bookkeeping.
#[derive(Debug)]
pub(crate) struct TokenCache {
    half: usize,
    inner: Mutex<Generations>,
}

impl TokenCache {
    pub(crate) fn new(options: &CacheOptions) -> Self {
        Self {
            half: options.max_entries.div_ceil(2).max(1),
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Generations> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get(&self, hash: &TokenHash) -> Option<Entry> {
        let mut g = self.lock();
        if let Some(entry) = g.current.get(hash) {
            return Some(entry.clone());
        }
        let entry = g.previous.remove(hash)?;
        Self::insert_locked(&mut g, self.half, *hash, entry.clone());
        Some(entry)
    }

    pub(crate) fn insert(&self, hash: TokenHash, entry: Entry) {
        let mut g = self.lock();
        Self::insert_locked(&mut g, self.half, hash, entry);
    }

    fn insert_locked(g: &mut Generations, half: usize, hash: TokenHash, entry: Entry) {
        if g.current.len() >= half && !g.current.contains_key(&hash) {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(hash, entry);
    }

    pub(crate) fn remove(&self, hash: &TokenHash) {
        let mut g = self.lock();
        g.current.remove(hash);
        g.previous.remove(hash);
    }

    /// Keeps only the entries for which `keep(kid, public_key)` holds.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&str, &[u8; 32]) -> bool) {
        let mut g = self.lock();
        g.current.retain(|_, e| keep(&e.kid, &e.public_key));
        g.previous.retain(|_, e| keep(&e.kid, &e.public_key));
    }

    pub(crate) fn clear(&self) {
        let mut g = self.lock();
        g.current.clear();
        g.previous.clear();
    }

    pub(crate) fn len(&self) -> usize {
        let g = self.lock();
        g.current.len() + g.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kid: &str) -> Entry {
        Entry {
            claims: Arc::new(SessionClaims::new("i", "s", 0, 1, "j")),
            kid: Arc::from(kid),
            public_key: [0; 32],
        }
    }

    fn hash(n: usize) -> TokenHash {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&n.to_le_bytes());
        h
    }

    #[test]
    fn bounded_and_promotes() {
        let cache = TokenCache::new(&CacheOptions::new(10));
        for n in 0..1000 {
            cache.insert(hash(n), entry("k"));
            assert!(cache.len() <= 10);
        }
        // The most recent entries survive.
        assert!(cache.get(&hash(999)).is_some());
        assert!(cache.get(&hash(0)).is_none());
        // A hit in the older generation is promoted and survives the next turnover.
        let cache = TokenCache::new(&CacheOptions::new(4));
        cache.insert(hash(1), entry("k"));
        cache.insert(hash(2), entry("k"));
        cache.insert(hash(3), entry("k")); // 1, 2 now old
        assert!(cache.get(&hash(1)).is_some()); // promoted: current = {3, 1}
        cache.insert(hash(4), entry("k")); // current full: old = {3, 1}, current = {4}
        assert!(cache.get(&hash(1)).is_some());
        assert!(cache.get(&hash(2)).is_none());
    }

    #[test]
    fn retain_and_remove() {
        let cache = TokenCache::new(&CacheOptions::new(0));
        cache.insert(hash(1), entry("a"));
        cache.insert(hash(2), entry("b"));
        assert_eq!(cache.len(), 2);
        cache.retain(|kid, _| kid == "b");
        assert!(cache.get(&hash(1)).is_none());
        cache.remove(&hash(2));
        assert_eq!(cache.len(), 0);
        cache.insert(hash(3), entry("a"));
        cache.clear();
        assert_eq!(cache.len(), 0);
    }
}
