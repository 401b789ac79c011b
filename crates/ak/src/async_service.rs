//! [`AsyncAccessKeys`]: the service for async code, off tokio's runtime threads.

use std::sync::Arc;
use std::time::Duration;

use ak_core::{AccessKey, CreateKey, CreatedKey, ManageError, Page, SearchQuery, UpdateKey};
use ak_token::{Jwks, VerifiedToken};

use crate::{AccessKeys, ExchangeError, ExchangeOptions, ExchangeResponse, SessionError};

/// [`AccessKeys`] for async code: every call that touches the store or hashes a secret runs as
/// blocking work ([`run_blocking`]), so it never stalls the runtime's other tasks.
///
/// With a store-backed signing-key set, offline token validation and the JWKS may reload the set
/// from the store (once a refresh interval, and on an unknown `kid`), so [`validate_session`](Self::validate_session)
/// and [`jwks`](Self::jwks) run as blocking work too: a store whose client must not block a
/// runtime thread (PostgreSQL's) is never called on one. With an in-memory key set they are
/// CPU-only and short, and may be called on [`inner`](Self::inner) directly. A panic inside a
/// call is resumed in the caller.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ak::{AccessKeys, AsyncAccessKeys, CreateKey, ExchangeOptions, KeySet, MemoryKeyStore, SigningKey};
/// let keys = AsyncAccessKeys::new(
///     AccessKeys::builder()
///         .store(MemoryKeyStore::new())
///         .signing_keys(KeySet::new(SigningKey::generate()))
///         .issuer("p")
///         .build()?,
/// );
/// let created = keys.create(CreateKey::named("worker")).await?;
/// let cleartext = created.cleartext.expose_secret().to_owned();
/// let session = keys.exchange(cleartext, ExchangeOptions::default()).await?;
/// assert_eq!(keys.inner().validate_session(&session.session_jwt)?.key_id(), created.key.id);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AsyncAccessKeys {
    inner: Arc<AccessKeys>,
}

/// Runs `work`, a blocking call (a store read or write, an argon2id verification), from async
/// code without stalling the runtime's other tasks.
///
/// * On a multi-thread runtime the calling worker thread runs `work` itself, after handing its
///   queue of other tasks to a fresh worker (`tokio::task::block_in_place`). The call does not
///   wait for a thread of the blocking pool to wake up and then for the runtime to wake the
///   caller again: that round trip of two thread wake-ups was most of the cost of an exchange
///   over HTTP (see the HTTP rows of the benchmark report).
/// * On a current-thread runtime, where a blocked thread would stop everything, `work` runs on
///   tokio's blocking pool (`spawn_blocking`) and this future waits for it.
///
/// Either way the work runs to completion once started, even if this future is dropped: a
/// revocation that began is never left half done. A panic in `work` is resumed in the caller.
///
/// # Panics
///
/// Outside a tokio runtime.
pub async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
        return tokio::task::block_in_place(work);
    }
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        // The blocking task panicked (resume it here) or was cancelled because the runtime is
        // shutting down, in which case this future is being dropped and the value is moot.
        Err(error) => std::panic::resume_unwind(match error.try_into_panic() {
            Ok(payload) => payload,
            Err(_) => Box::new("ak: blocking task cancelled by runtime shutdown"),
        }),
    }
}

macro_rules! forward {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty => $pass:expr),*) -> $out:ty; )*) => {$(
        $(#[$doc])*
        pub async fn $name(&self, $($arg: $ty),*) -> $out {
            let inner = Arc::clone(&self.inner);
            run_blocking(move || inner.$name($($pass),*)).await
        }
    )*};
}

impl AsyncAccessKeys {
    /// Wraps a service.
    pub fn new(inner: AccessKeys) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The synchronous service, for CPU-only calls such as token validation.
    pub fn inner(&self) -> &Arc<AccessKeys> {
        &self.inner
    }

    forward! {
        /// See [`AccessKeys::create`].
        fn create(request: CreateKey => request) -> Result<CreatedKey, ManageError>;
        /// See [`AccessKeys::load`].
        fn load(id: String => &id) -> Result<AccessKey, ManageError>;
        /// See [`AccessKeys::search`].
        fn search(query: SearchQuery => &query) -> Result<Page<AccessKey>, ManageError>;
        /// See [`AccessKeys::update`].
        fn update(request: UpdateKey => request) -> Result<AccessKey, ManageError>;
        /// See [`AccessKeys::activate`].
        fn activate(id: String => &id) -> Result<(), ManageError>;
        /// See [`AccessKeys::deactivate`].
        fn deactivate(id: String => &id) -> Result<(), ManageError>;
        /// See [`AccessKeys::delete`].
        fn delete(id: String => &id) -> Result<(), ManageError>;
        /// See [`AccessKeys::activate_batch`].
        fn activate_batch(ids: Vec<String> => &ids) -> Result<(), ManageError>;
        /// See [`AccessKeys::deactivate_batch`].
        fn deactivate_batch(ids: Vec<String> => &ids) -> Result<(), ManageError>;
        /// See [`AccessKeys::delete_batch`].
        fn delete_batch(ids: Vec<String> => &ids) -> Result<(), ManageError>;
        /// See [`AccessKeys::rotate`].
        fn rotate(id: String => &id, grace: Duration => grace) -> Result<CreatedKey, ManageError>;
        /// See [`AccessKeys::exchange`]. The presented key is moved in and zeroized after use.
        fn exchange(presented: String => &zeroize::Zeroizing::new(presented), options: ExchangeOptions => &options) -> Result<ExchangeResponse, ExchangeError>;
        /// See [`AccessKeys::validate_session_and_key`] (it reads the store).
        fn validate_session_and_key(token: String => &token) -> Result<VerifiedToken, SessionError>;
        /// See [`AccessKeys::validate_session`] (with a store-backed key set it may reload it).
        fn validate_session(token: String => &token) -> Result<VerifiedToken, SessionError>;
        /// See [`AccessKeys::jwks`] (with a store-backed key set it may reload it).
        fn jwks() -> Jwks;
    }
}
