//! How one node follows the shared set: periodic reloads, staged activations and the reload on
//! an unknown `kid`.
//!
//! The hot path is [`Follower::due`]: two atomic loads against the clock reading the caller made
//! anyway. Only when a refresh or an activation is due does a call take the slow path, and of
//! the calls that find it due at once only one reloads (it claims the refresh with a
//! compare-and-swap); the others go on with the keys they have.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};

use ak_token::KeySet;

use super::{Loaded, SharedSigningKeys, SigningKeysError};

/// The shortest time between two reloads prompted by unknown `kid`s, in seconds.
const UNKNOWN_KID_RELOAD_SECS: i64 = 1;

#[derive(Debug)]
pub(crate) struct Follower {
    keys: SharedSigningKeys,
    refresh_secs: i64,
    /// The loaded set; held while a new key set is installed, so installs never reorder.
    current: Mutex<Loaded>,
    next_refresh: AtomicI64,
    next_activation: AtomicI64,
    next_kid_reload: AtomicI64,
}

impl Follower {
    /// Loads (or creates) the set; returns the follower and the key set to install.
    pub(crate) fn start(
        keys: SharedSigningKeys,
        refresh_secs: i64,
    ) -> Result<(Self, KeySet), SigningKeysError> {
        let loaded = keys.load_or_create_loaded()?;
        let now = keys.now();
        let set = loaded.document.key_set(now);
        let follower = Self {
            refresh_secs,
            next_refresh: AtomicI64::new(now.saturating_add(refresh_secs)),
            next_activation: AtomicI64::new(loaded.document.next_activation(now).unwrap_or(i64::MAX)),
            next_kid_reload: AtomicI64::new(i64::MIN),
            current: Mutex::new(loaded),
            keys,
        };
        Ok((follower, set))
    }

    pub(crate) fn keys(&self) -> &SharedSigningKeys {
        &self.keys
    }

    /// Whether a refresh or an activation is due at `now`.
    pub(crate) fn due(&self, now: i64) -> bool {
        now >= self.next_refresh.load(Ordering::Relaxed)
            || now >= self.next_activation.load(Ordering::Relaxed)
    }

    /// Reloads if the refresh is due (and this call claims it), re-derives the key set if an
    /// activation passed, and calls `install` with the set to use, under the follower's lock.
    /// A failed reload keeps the current keys and tries again a second later.
    pub(crate) fn follow(&self, now: i64, install: impl FnOnce(&KeySet)) {
        let due = self.next_refresh.load(Ordering::Relaxed);
        let reload = now >= due
            && self
                .next_refresh
                .compare_exchange(
                    due,
                    now.saturating_add(self.refresh_secs),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        let loaded = if reload {
            match self.keys.load() {
                Ok(loaded) => loaded,
                Err(_) => {
                    self.next_refresh.store(now.saturating_add(1), Ordering::Relaxed);
                    None
                }
            }
        } else {
            None
        };
        self.apply(loaded, now, install);
    }

    /// After a token with an unknown `kid`: reloads at once unless another such reload happened
    /// within the last second. Returns whether the keys changed.
    pub(crate) fn reload_for_unknown_kid(&self, now: i64, install: impl FnOnce(&KeySet)) -> bool {
        let allowed = self.next_kid_reload.load(Ordering::Relaxed);
        // A clock that moved back by more than the bound also allows a reload.
        let may = (now >= allowed || now < allowed.saturating_sub(UNKNOWN_KID_RELOAD_SECS))
            && self
                .next_kid_reload
                .compare_exchange(
                    allowed,
                    now.saturating_add(UNKNOWN_KID_RELOAD_SECS),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if !may {
            return false;
        }
        match self.keys.load() {
            Ok(Some(loaded)) => self.apply(Some(loaded), now, install),
            _ => false,
        }
    }

    /// Reloads now, unconditionally (after this node wrote the set).
    pub(crate) fn reload(&self, now: i64, install: impl FnOnce(&KeySet)) -> Result<(), SigningKeysError> {
        let loaded = self.keys.load()?;
        self.next_refresh
            .store(now.saturating_add(self.refresh_secs), Ordering::Relaxed);
        self.apply(loaded, now, install);
        Ok(())
    }

    /// Takes `loaded` if it is newer than the current set, and installs the key set for `now` if
    /// the set changed or an activation passed. Returns whether anything was installed.
    fn apply(&self, loaded: Option<Loaded>, now: i64, install: impl FnOnce(&KeySet)) -> bool {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changed = false;
        if let Some(loaded) = loaded.filter(|loaded| loaded.version > current.version) {
            *current = loaded;
            changed = true;
        }
        let activation_passed = now >= self.next_activation.load(Ordering::Relaxed);
        if changed || activation_passed {
            install(&current.document.key_set(now));
            self.next_activation.store(
                current.document.next_activation(now).unwrap_or(i64::MAX),
                Ordering::Relaxed,
            );
        }
        changed || activation_passed
    }
}
