//! The key manager: the lifecycle of keys and the authentication of presented keys.

mod authenticate;
mod lifecycle;
mod requests;
mod secret_cache;

use std::sync::Arc;

pub use authenticate::AuthenticatedKey;
pub use requests::{CreateKey, CreatedKey, UpdateKey};
pub use secret_cache::DEFAULT_SECRET_CACHE_CAPACITY;

use crate::catalog::RoleCatalog;
use crate::clock::{Clock, SystemClock};
use crate::decoy::DecoyRecord;
use crate::directory::UserDirectory;
use crate::hash::{HashParams, HashParamsError, SecretHasher};
use crate::key_format::{DEFAULT_PREFIX, validate_prefix};
use crate::random::{OsRandom, RandomSource};
use crate::store::KeyStore;
use crate::validate::ValidationError;
use secret_cache::SecretCache;

/// A [`KeyManagerBuilder`] setting was invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The cleartext prefix was invalid.
    #[error(transparent)]
    Prefix(#[from] ValidationError),
    /// The argon2id parameters were invalid.
    #[error(transparent)]
    HashParams(#[from] HashParamsError),
    /// No store was given (a builder made with `KeyManagerBuilder::default()` and no
    /// [`store`](KeyManagerBuilder::store)).
    #[error("a key store is required")]
    MissingStore,
}

/// Creates, changes and authenticates access keys over any [`KeyStore`].
///
/// It holds every policy (validation, hashing, status, expiry, IP and bound-user checks); the store
/// only persists. Cheap to share: wrap it in an `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use ak_core::{AuthError, CreateKey, KeyManager, MemoryKeyStore};
///
/// let manager = KeyManager::builder(Arc::new(MemoryKeyStore::new())).build()?;
/// let created = manager.create(CreateKey::named("ci runner"))?;
/// let presented = created.cleartext.expose_secret();
///
/// let authenticated = manager.authenticate(presented, None)?;
/// assert_eq!(authenticated.key.id, created.key.id);
///
/// manager.deactivate(&created.key.id)?;
/// assert!(matches!(manager.authenticate(presented, None), Err(AuthError::Inactive)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct KeyManager {
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    catalog: Option<RoleCatalog>,
    users: Option<Arc<dyn UserDirectory>>,
    prefix: String,
    hasher: SecretHasher,
    decoy: DecoyRecord,
    cache: SecretCache,
}

impl KeyManager {
    /// Starts configuring a manager over `store`.
    pub fn builder(store: Arc<dyn KeyStore>) -> KeyManagerBuilder {
        KeyManagerBuilder::default().store(store)
    }

    /// The store this manager writes to.
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.store
    }

    /// The clock this manager reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The random source this manager draws key ids and secrets from.
    pub fn random(&self) -> &Arc<dyn RandomSource> {
        &self.random
    }

    /// The configured role catalog, if any.
    pub fn role_catalog(&self) -> Option<&RoleCatalog> {
        self.catalog.as_ref()
    }
}

/// Configures a [`KeyManager`]. Every setting but the store has a safe default.
///
/// Made by [`KeyManager::builder`], or by `default()` when the store is given later (as the `ak`
/// facade does).
#[derive(Debug)]
pub struct KeyManagerBuilder {
    store: Option<Arc<dyn KeyStore>>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    catalog: Option<RoleCatalog>,
    users: Option<Arc<dyn UserDirectory>>,
    prefix: String,
    hash_params: HashParams,
    cache_capacity: usize,
}

impl Default for KeyManagerBuilder {
    fn default() -> Self {
        Self {
            store: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            catalog: None,
            users: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            hash_params: HashParams::default(),
            cache_capacity: DEFAULT_SECRET_CACHE_CAPACITY,
        }
    }
}

impl KeyManagerBuilder {
    /// The store the manager writes to (required; [`KeyManager::builder`] sets it).
    pub fn store(mut self, store: Arc<dyn KeyStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The random source (default: the OS CSPRNG).
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// A role catalog: unknown roles are then rejected and tokens carry resolved permissions.
    pub fn role_catalog(mut self, catalog: RoleCatalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// A user directory, for keys bound to users.
    pub fn user_directory(mut self, users: Arc<dyn UserDirectory>) -> Self {
        self.users = Some(users);
        self
    }

    /// The cleartext prefix for new keys (default `ak`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Argon2id parameters for newly hashed secrets (default m=8 KiB, t=1, p=1; see
    /// [`HashParams`]).
    pub fn hash_params(mut self, params: HashParams) -> Self {
        self.hash_params = params;
        self
    }

    /// How many recently proven secrets to remember (default
    /// [`DEFAULT_SECRET_CACHE_CAPACITY`]; `0` disables the cache).
    pub fn secret_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Checks the settings and builds the manager.
    pub fn build(self) -> Result<KeyManager, ConfigError> {
        let store = self.store.ok_or(ConfigError::MissingStore)?;
        validate_prefix(&self.prefix)?;
        let hasher = SecretHasher::new(self.hash_params)?;
        let (current, previous) = hasher.decoy_hashes();
        let decoy = DecoyRecord::new(current, previous);
        Ok(KeyManager {
            store,
            clock: self.clock,
            random: self.random,
            catalog: self.catalog,
            users: self.users,
            prefix: self.prefix,
            hasher,
            decoy,
            cache: SecretCache::new(self.cache_capacity),
        })
    }
}
