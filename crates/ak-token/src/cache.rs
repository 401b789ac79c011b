//! A bounded cache of already-verified tokens, keyed by the SHA-256 of the token bytes.

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::claims::SessionClaims;
use crate::weight::claims_weight;

/// Default [`CacheOptions::max_entries`].
pub const DEFAULT_CACHE_ENTRIES: usize = 10_000;

/// Default [`CacheOptions::max_bytes`]: 32 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Settings of the verified-token cache of a [`Verifier`](crate::Verifier).
///
/// A cache hit skips decoding and the Ed25519 signature check (~50 µs) and costs a SHA-256 of the token, a map
/// lookup and the claim checks (about a microsecond). Only tokens that passed every check are cached; on a hit the
/// time, issuer and audience checks run again on the cached claims with the same rules as the uncached path, so an
/// expired token is never returned. Entries whose key was retired or replaced are dropped when the verifier's keys
/// change, and a hit re-checks that its key is still present.
///
/// **Memory bound:** at most `max_bytes` of heap (default [`DEFAULT_CACHE_BYTES`], 32 MiB) and at most
/// `max_entries` entries (default [`DEFAULT_CACHE_ENTRIES`]), whichever is reached first. An entry's weight is
/// the heap its decoded claims really hold, counted value by value with the allocator's overhead, plus its map
/// slot and key id. It is not the token's length: decoded JSON is much larger than its text (a 2-byte `0,`
/// becomes a 32-byte value, a small object a B-tree node of several hundred bytes), so 8 KiB of hostile
/// exchange claims can hold half a MiB, and a bound by entry count alone let any key holder fill gigabytes.
/// A test with a counting allocator checks the bound with that worst case. Eviction is generational: each half
/// of the budget is a generation, and when the newer one is full the older one is dropped; a single token
/// heavier than half the budget is verified but not cached.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheOptions {
    /// The maximum number of cached tokens.
    pub max_entries: usize,
    /// The maximum heap the cached tokens hold, in bytes.
    pub max_bytes: usize,
}

impl CacheOptions {
    /// A cache of at most `max_entries` tokens and [`DEFAULT_CACHE_BYTES`].
    #[must_use]
    pub const fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            max_bytes: DEFAULT_CACHE_BYTES,
        }
    }

    /// The same options with a byte bound of `max_bytes`.
    #[must_use]
    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
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
    /// The heap this entry holds, in bytes (see [`CacheOptions`]).
    pub(crate) weight: usize,
}

impl Entry {
    /// An entry for verified `claims`, weighed.
    pub(crate) fn new(claims: Arc<SessionClaims>, kid: Arc<str>, public_key: [u8; 32]) -> Self {
        // The map slot (hash, entry, and a control byte per slot at a load factor of up to 8/7) and the claims.
        let slot = (size_of::<TokenHash>() + size_of::<Self>() + 1) * 8 / 7 + 1;
        let weight = slot + claims_weight(&claims);
        Self {
            claims,
            kid,
            public_key,
            weight,
        }
    }
}

#[derive(Debug, Default)]
struct Generation {
    entries: HashMap<TokenHash, Entry>,
    bytes: usize,
}

impl Generation {
    fn insert(&mut self, hash: TokenHash, entry: Entry) {
        self.bytes += entry.weight;
        if let Some(old) = self.entries.insert(hash, entry) {
            self.bytes -= old.weight;
        }
    }

    fn remove(&mut self, hash: &TokenHash) -> Option<Entry> {
        let entry = self.entries.remove(hash)?;
        self.bytes -= entry.weight;
        Some(entry)
    }

    fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        let mut bytes = 0;
        self.entries.retain(|_, entry| {
            let kept = keep(entry);
            if kept {
                bytes += entry.weight;
            }
            kept
        });
        self.bytes = bytes;
    }
}

#[derive(Debug, Default)]
struct Generations {
    current: Generation,
    previous: Generation,
}

/// Two-generation bounded map: inserts go to `current`; when it would pass half the entries or half the bytes
/// it becomes `previous` (the old `previous` is dropped). Hits in `previous` are promoted. Amortized O(1), no
/// per-entry bookkeeping beyond the weight.
#[derive(Debug)]
pub(crate) struct TokenCache {
    half_entries: usize,
    half_bytes: usize,
    inner: Mutex<Generations>,
}

impl TokenCache {
    pub(crate) fn new(options: &CacheOptions) -> Self {
        Self {
            half_entries: options.max_entries.div_ceil(2).max(1),
            half_bytes: options.max_bytes / 2,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Generations> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get(&self, hash: &TokenHash) -> Option<Entry> {
        let mut g = self.lock();
        if let Some(entry) = g.current.entries.get(hash) {
            return Some(entry.clone());
        }
        let entry = g.previous.remove(hash)?;
        self.insert_locked(&mut g, *hash, entry.clone());
        Some(entry)
    }

    pub(crate) fn insert(&self, hash: TokenHash, entry: Entry) {
        let mut g = self.lock();
        self.insert_locked(&mut g, hash, entry);
    }

    fn insert_locked(&self, g: &mut Generations, hash: TokenHash, entry: Entry) {
        if entry.weight > self.half_bytes {
            return;
        }
        g.previous.remove(&hash);
        let replaced = g.current.remove(&hash);
        let full =
            g.current.entries.len() >= self.half_entries || g.current.bytes + entry.weight > self.half_bytes;
        if full && replaced.is_none() {
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
        g.current.retain(|e| keep(&e.kid, &e.public_key));
        g.previous.retain(|e| keep(&e.kid, &e.public_key));
    }

    pub(crate) fn clear(&self) {
        let mut g = self.lock();
        *g = Generations::default();
    }

    pub(crate) fn len(&self) -> usize {
        let g = self.lock();
        g.current.entries.len() + g.previous.entries.len()
    }

    /// The summed weight of the cached entries, in bytes.
    pub(crate) fn bytes(&self) -> usize {
        let g = self.lock();
        g.current.bytes + g.previous.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kid: &str) -> Entry {
        Entry::new(
            Arc::new(SessionClaims::new("i", "s", 0, 1, "j")),
            Arc::from(kid),
            [0; 32],
        )
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
    fn bounded_by_bytes() {
        let weight = entry("k").weight;
        let cache = TokenCache::new(&CacheOptions::new(1_000).with_max_bytes(10 * weight));
        for n in 0..1000 {
            cache.insert(hash(n), entry("k"));
            assert!(
                cache.bytes() <= 10 * weight,
                "{} > {}",
                cache.bytes(),
                10 * weight
            );
        }
        assert!(cache.len() >= 5, "half the budget stays cached: {}", cache.len());
        assert!(cache.get(&hash(999)).is_some());
        // An entry heavier than half the budget is not cached at all.
        let tiny = TokenCache::new(&CacheOptions::new(1_000).with_max_bytes(weight));
        tiny.insert(hash(1), entry("k"));
        assert_eq!(tiny.len(), 0);
        // Replacing and removing keep the count of bytes exact.
        let cache = TokenCache::new(&CacheOptions::new(10));
        cache.insert(hash(1), entry("k"));
        cache.insert(hash(1), entry("k"));
        assert_eq!(cache.bytes(), weight);
        cache.remove(&hash(1));
        assert_eq!(cache.bytes(), 0);
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
