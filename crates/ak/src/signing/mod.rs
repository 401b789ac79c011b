//! Signing keys shared through the store, sealed at rest, rotated in stages.
//!
//! Every node of an application signs and verifies with the same key set, kept in the store
//! ([`SigningKeyStore`]) and sealed there with XChaCha20-Poly1305 under a [`MasterKey`] that each
//! node is given and the store never sees: a database dump alone cannot mint tokens.
//!
//! Each key has an activation time. The key that signs is the newest one whose activation time
//! has passed; the JWKS publishes every key of the set at once. So a staged rotation
//! ([`SharedSigningKeys::rotate`] with a delay) publishes the new key first and signs with it only
//! after the delay, and verifiers that cache the JWKS know it before any token uses it.
//! [`SharedSigningKeys::retire`] removes an old key (never the one signing). Every write is a
//! compare-and-swap on the stored version, retried on conflict, so rotations from several nodes
//! at once all land.
//!
//! An [`AccessKeys`](crate::AccessKeys) built with
//! [`signing_key_store`](crate::AccessKeysBuilder::signing_key_store) follows the stored set: it
//! reloads it every [refresh interval](crate::AccessKeysBuilder::signing_key_refresh) (default
//! [`DEFAULT_SIGNING_KEY_REFRESH`], on the first call after it has passed), and once (at most
//! once per second) when it meets a token with an unknown `kid`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ak::MemoryKeyStore;
//! use ak::signing::{MasterKey, SharedSigningKeys, SigningKeyStatus};
//!
//! let store = Arc::new(MemoryKeyStore::new());
//! let shared = SharedSigningKeys::new(store, MasterKey::generate()?);
//! let first = shared.load_or_create()?.active().kid().to_owned();
//! let staged = shared.rotate(Duration::from_secs(600))?;
//! assert_eq!(staged.status, SigningKeyStatus::Pending);
//! // Published at once, signing in 10 minutes.
//! let set = shared.load_or_create()?;
//! assert_eq!(set.active().kid(), first);
//! assert!(set.get(&staged.kid).is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod document;
pub(crate) mod follower;
mod master_key;
pub(crate) mod seal;

use std::sync::Arc;
use std::time::Duration;

use ak_core::limits::MAX_SIGNING_KEY_ACTIVATION_DELAY_SECS;
use ak_core::{Clock, StoreError, SystemClock};
use ak_token::{KeySet, SigningKey};

pub use ak_core::signing::{SigningKeyStore, StoredSigningKeys};
pub use document::{SigningKeyInfo, SigningKeyStatus};
pub use master_key::{MASTER_KEY_FILE_VAR, MASTER_KEY_VAR, MasterKey, MasterKeyError};
pub use seal::OpenError;

pub(crate) use document::Document;

/// How often a node reloads the shared signing-key set when nothing else prompts it: 30 s.
pub const DEFAULT_SIGNING_KEY_REFRESH: Duration = Duration::from_secs(30);

/// How many times a write retries after losing a compare-and-swap to another writer.
const MAX_WRITE_ATTEMPTS: usize = 16;

/// Why the shared signing keys could not be loaded or changed. Nothing changed when one is
/// returned, and no variant carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeysError {
    /// The stored set was sealed under another master key. Nothing is generated over it: give
    /// this node the master key the other nodes use.
    #[error(
        "the signing keys in the store were sealed with a different master key; configure the master key the store was set up with"
    )]
    WrongMasterKey,
    /// The stored set is damaged or in a format this ak does not know.
    #[error("the sealed signing keys in the store are damaged or in an unknown format")]
    Damaged,
    /// No key has this `kid`.
    #[error("no signing key {0}")]
    UnknownKid(String),
    /// The key signs now; rotate to another key first.
    #[error("signing key {0} is the one signing now; rotate first, then retire it once the new key signs")]
    RetireSigning(String),
    /// The key is already in the set.
    #[error("signing key {0} is already in the set")]
    DuplicateKid(String),
    /// The set would exceed [`MAX_SIGNING_KEYS`](ak_core::limits::MAX_SIGNING_KEYS) keys.
    #[error(
        "a signing-key set holds at most {} keys; retire an old one first",
        ak_core::limits::MAX_SIGNING_KEYS
    )]
    TooManyKeys,
    /// The activation delay exceeds
    /// [`ak_core::limits::MAX_SIGNING_KEY_ACTIVATION_DELAY_SECS`].
    #[error("the activation delay may be at most {} days", MAX_SIGNING_KEY_ACTIVATION_DELAY_SECS / 86_400)]
    DelayTooLong,
    /// Other writers kept changing the set; nothing was written.
    #[error("the signing keys kept changing under concurrent writers; try again")]
    Conflict,
    /// The random source failed.
    #[error(transparent)]
    Random(#[from] ak_core::RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<OpenError> for SigningKeysError {
    fn from(error: OpenError) -> Self {
        match error {
            OpenError::WrongMasterKey => Self::WrongMasterKey,
            OpenError::Damaged => Self::Damaged,
        }
    }
}

/// The shared signing-key set of one store, opened with the master key: load, create, rotate,
/// retire, list, import and export. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SharedSigningKeys {
    store: Arc<dyn SigningKeyStore>,
    master: MasterKey,
    clock: Arc<dyn Clock>,
}

/// A loaded set: its stored version and document.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) version: u64,
    pub(crate) document: Document,
}

impl SharedSigningKeys {
    /// The set in `store`, sealed under `master`, dated by the system clock.
    pub fn new(store: Arc<dyn SigningKeyStore>, master: MasterKey) -> Self {
        Self {
            store,
            master,
            clock: Arc::new(SystemClock),
        }
    }

    /// Dates activations with `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Whether the store holds a set yet (nothing is opened or created).
    pub fn is_stored(&self) -> Result<bool, SigningKeysError> {
        Ok(self
            .store
            .load_signing_keys()
            .map_err(SigningKeysError::Store)?
            .is_some())
    }

    /// The stored set, opened; `Ok(None)` if the store holds none.
    pub(crate) fn load(&self) -> Result<Option<Loaded>, SigningKeysError> {
        let Some(stored) = self.store.load_signing_keys().map_err(SigningKeysError::Store)? else {
            return Ok(None);
        };
        let plaintext = seal::open(&self.master, &stored.sealed)?;
        Ok(Some(Loaded {
            version: stored.version,
            document: Document::from_json(&plaintext)?,
        }))
    }

    /// Loads the set, or the store holds none yet, creates one with a new key signing from now.
    /// A set sealed under another master key is [`SigningKeysError::WrongMasterKey`], and nothing
    /// is written over it.
    pub(crate) fn load_or_create_loaded(&self) -> Result<Loaded, SigningKeysError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            if let Some(loaded) = self.load()? {
                return Ok(loaded);
            }
            let document = Document::first(SigningKey::generate(), self.now());
            match self.write(None, &document) {
                Ok(version) => return Ok(Loaded { version, document }),
                // Another node created it first: use theirs.
                Err(SigningKeysError::Store(StoreError::VersionConflict { .. })) => {}
                Err(error) => return Err(error),
            }
        }
        Err(SigningKeysError::Conflict)
    }

    /// The key set as it signs now (active: the signer; every other key verifies), creating the
    /// set if the store holds none.
    pub fn load_or_create(&self) -> Result<KeySet, SigningKeysError> {
        Ok(self.load_or_create_loaded()?.document.key_set(self.now()))
    }

    fn write(&self, expected: Option<u64>, document: &Document) -> Result<u64, SigningKeysError> {
        let sealed = seal::seal(&self.master, &document.to_json())?;
        self.store
            .replace_signing_keys(expected, &sealed)
            .map_err(SigningKeysError::Store)
    }

    /// Applies `change` to the stored set (created first if absent) and writes it back by
    /// compare-and-swap, re-reading and re-applying on conflict.
    fn modify<T>(
        &self,
        mut change: impl FnMut(&mut Document, i64) -> Result<T, SigningKeysError>,
    ) -> Result<T, SigningKeysError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let Loaded {
                version,
                mut document,
            } = self.load_or_create_loaded()?;
            let value = change(&mut document, self.now())?;
            match self.write(Some(version), &document) {
                Ok(_) => return Ok(value),
                Err(SigningKeysError::Store(StoreError::VersionConflict { .. })) => {}
                Err(error) => return Err(error),
            }
        }
        Err(SigningKeysError::Conflict)
    }

    /// Adds a new key that is published at once and signs from `activate_after` from now (zero:
    /// at once). Durable when it returns; every node signs with it once the delay has passed
    /// (and it has refreshed, at most one refresh interval later).
    pub fn rotate(&self, activate_after: Duration) -> Result<SigningKeyInfo, SigningKeysError> {
        self.rotate_to(SigningKey::generate(), activate_after)
    }

    /// Like [`rotate`](Self::rotate), with a given key.
    pub fn rotate_to(
        &self,
        key: SigningKey,
        activate_after: Duration,
    ) -> Result<SigningKeyInfo, SigningKeysError> {
        if activate_after.as_secs() > MAX_SIGNING_KEY_ACTIVATION_DELAY_SECS {
            return Err(SigningKeysError::DelayTooLong);
        }
        let delay = i64::try_from(activate_after.as_secs()).map_err(|_| SigningKeysError::DelayTooLong)?;
        let kid = key.kid().to_owned();
        self.modify(|document, now| {
            document.add(key.clone(), now.saturating_add(delay), now)?;
            Ok(document.infos(now))
        })
        .map(|infos| {
            infos
                .into_iter()
                .find(|info| info.kid == kid)
                .expect("the key just added")
        })
    }

    /// Removes the key `kid`: its tokens stop verifying on every node once it refreshes. The key
    /// signing now cannot be retired. Durable when it returns.
    pub fn retire(&self, kid: &str) -> Result<(), SigningKeysError> {
        self.modify(|document, now| document.retire(kid, now))
    }

    /// Every key with its status now, the newest activation first.
    pub fn list(&self) -> Result<Vec<SigningKeyInfo>, SigningKeysError> {
        Ok(self.load_or_create_loaded()?.document.infos(self.now()))
    }

    /// Imports a key-set file. Into a store without a set, the file becomes the set (its active
    /// key signs from now); otherwise its keys not yet in the set are added as verification-only
    /// keys, so tokens they signed keep verifying. Returns how many keys were added.
    pub fn import(&self, keys: &KeySet) -> Result<usize, SigningKeysError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let (expected, document, added) = match self.load()? {
                None => (None, Document::from_key_set(keys, self.now()), keys.kids().len()),
                Some(Loaded {
                    version,
                    mut document,
                }) => {
                    let added = document.merge_verifying(keys, self.now())?;
                    (Some(version), document, added)
                }
            };
            if added == 0 {
                return Ok(0);
            }
            match self.write(expected, &document) {
                Ok(_) => return Ok(added),
                Err(SigningKeysError::Store(StoreError::VersionConflict { .. })) => {}
                Err(error) => return Err(error),
            }
        }
        Err(SigningKeysError::Conflict)
    }

    /// The set as a key-set file would hold it now (the signer active). **Secret.**
    pub fn export(&self) -> Result<KeySet, SigningKeysError> {
        self.load_or_create()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ak_core::{ManualClock, MemoryKeyStore};

    fn shared(store: &Arc<MemoryKeyStore>, master: u8, clock: &Arc<ManualClock>) -> SharedSigningKeys {
        SharedSigningKeys::new(Arc::clone(store) as _, MasterKey::from_bytes([master; 32]))
            .with_clock(Arc::clone(clock) as _)
    }

    #[test]
    fn a_wrong_master_key_fails_closed_and_writes_nothing() {
        let store = Arc::new(MemoryKeyStore::new());
        let clock = Arc::new(ManualClock::new(1_000));
        let right = shared(&store, 1, &clock);
        right.load_or_create().unwrap();
        let before = store.load_signing_keys().unwrap().unwrap();
        let wrong = shared(&store, 2, &clock);
        assert!(matches!(
            wrong.load_or_create(),
            Err(SigningKeysError::WrongMasterKey)
        ));
        assert!(matches!(
            wrong.rotate(Duration::ZERO),
            Err(SigningKeysError::WrongMasterKey)
        ));
        assert!(matches!(
            wrong.import(&KeySet::new(SigningKey::generate())),
            Err(SigningKeysError::WrongMasterKey)
        ));
        assert_eq!(store.load_signing_keys().unwrap().unwrap(), before);
    }

    #[test]
    fn the_stored_bytes_hold_no_key_material_in_clear() {
        let store = Arc::new(MemoryKeyStore::new());
        let clock = Arc::new(ManualClock::new(1_000));
        let shared = shared(&store, 1, &clock);
        shared.rotate(Duration::from_secs(60)).unwrap();
        let set = shared.export().unwrap();
        let sealed = store.load_signing_keys().unwrap().unwrap().sealed;
        for key in set.iter() {
            let jwk = key.to_private_jwk();
            let d = jwk.d.as_deref().unwrap().to_owned();
            let seed = data_encoding::BASE64URL_NOPAD.decode(d.as_bytes()).unwrap();
            for needle in [
                d.as_bytes(),
                seed.as_slice(),
                jwk.x.as_bytes(),
                key.kid().as_bytes(),
                &key.public_key_bytes(),
            ] {
                assert!(!sealed.windows(needle.len()).any(|w| w == needle));
            }
        }
        for word in [&b"jwk"[..], b"Ed25519", b"activateAt"] {
            assert!(!sealed.windows(word.len()).any(|w| w == word));
        }
    }

    #[test]
    fn rotate_list_retire_and_the_delay_limit() {
        let store = Arc::new(MemoryKeyStore::new());
        let clock = Arc::new(ManualClock::new(1_000));
        let shared = shared(&store, 1, &clock);
        let first = shared.load_or_create().unwrap().active().kid().to_owned();
        let staged = shared.rotate(Duration::from_secs(600)).unwrap();
        assert_eq!(staged.activate_at, 1_600);
        assert!(matches!(
            shared.retire(&first),
            Err(SigningKeysError::RetireSigning(_))
        ));
        clock.advance(600);
        assert_eq!(shared.export().unwrap().active().kid(), staged.kid);
        shared.retire(&first).unwrap();
        let listed = shared.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].status, SigningKeyStatus::Signing);
        let max = Duration::from_secs(MAX_SIGNING_KEY_ACTIVATION_DELAY_SECS);
        shared.rotate(max).unwrap();
        assert!(matches!(
            shared.rotate(max + Duration::from_secs(1)),
            Err(SigningKeysError::DelayTooLong)
        ));
    }

    #[test]
    fn concurrent_rotations_from_many_nodes_all_land() {
        let store = Arc::new(MemoryKeyStore::new());
        let clock = Arc::new(ManualClock::new(1_000));
        shared(&store, 1, &clock).load_or_create().unwrap();
        std::thread::scope(|scope| {
            for _ in 0..6 {
                let node = shared(&store, 1, &clock);
                scope.spawn(move || node.rotate(Duration::ZERO).unwrap());
            }
        });
        assert_eq!(shared(&store, 1, &clock).list().unwrap().len(), 7);
    }
}
