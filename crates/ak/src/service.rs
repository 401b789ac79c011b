//! [`AccessKeys`]: the service an application calls.

use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ak_core::{
    AccessKey, Clock, CreateKey, CreatedKey, HashParams, KeyManager, KeyManagerBuilder, KeyStore,
    ManageError, Page, RandomSource, RoleCatalog, SearchQuery, UpdateKey, UserDirectory, validate,
};
use ak_token::{
    Audience, CacheOptions, Jwks, KeySet, SigningKey, TokenMinter, VerificationOptions, VerifiedToken,
    Verifier, VerifyError,
};
use data_encoding::BASE64URL_NOPAD;

use ak_core::audit::{AuditConfig, AuditEvent, AuditEventStore, AuditQuery, AuditRecorder, actions};
use ak_core::usage::{DEFAULT_USAGE_INTERVAL, KeyUsageStore, UsageTracker};

use crate::audit::{Acting, DEFAULT_ACTOR, Trail, exchange_reason};
use crate::config::{
    ConfigError, DEFAULT_SESSION_TIMEOUT, MAX_SESSION_TIMEOUT, MAX_SESSION_TOKEN_BYTES,
    MAX_SIGNING_KEY_REFRESH, MIN_SESSION_TIMEOUT, MIN_SIGNING_KEY_REFRESH,
};
use crate::exchange::{ExchangeError, ExchangeOptions, ExchangeResponse, session_claims};
use crate::session::SessionError;
use crate::signing::follower::Follower;
use crate::signing::{DEFAULT_SIGNING_KEY_REFRESH, SharedSigningKeys, SigningKeysError};
use crate::webhook::Webhooks;

/// Access keys for one project: management, exchange for session tokens, and their validation.
///
/// Build one with [`AccessKeys::builder`]; share it with an `Arc`. Every method is synchronous
/// (storage is embedded); in async code use [`AsyncAccessKeys`](crate::AsyncAccessKeys) (feature
/// `tokio`) or `spawn_blocking`.
#[derive(Debug)]
pub struct AccessKeys {
    manager: KeyManager,
    minter: RwLock<TokenMinter>,
    verifier: Verifier,
    issuer: String,
    audience: Option<String>,
    session_timeout_secs: i64,
    /// The shared set this service follows, when its keys live in the store.
    follower: Option<Follower>,
    /// The webhooks of the store, when configured.
    webhooks: Option<Webhooks>,
    /// Where audit events and last uses go.
    trail: Trail,
    /// The actor of management calls not made through [`acting`](Self::acting).
    actor: String,
    /// Where audit searches read.
    audit_store: Option<Arc<dyn AuditEventStore>>,
}

impl AccessKeys {
    /// Starts configuring the service.
    pub fn builder() -> AccessKeysBuilder {
        AccessKeysBuilder::default()
    }

    /// The key manager, for anything not forwarded here.
    pub fn manager(&self) -> &KeyManager {
        &self.manager
    }

    /// The webhooks this service manages ([`AccessKeysBuilder::webhooks`]); `None` when not
    /// configured.
    pub fn webhooks(&self) -> Option<&Webhooks> {
        self.webhooks.as_ref()
    }

    /// The configured issuer (project id), the `iss` of every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    // --- management -------------------------------------------------------------------------

    /// Creates a key; the returned cleartext is the only copy. See [`KeyManager::create`].
    pub fn create(&self, request: CreateKey) -> Result<CreatedKey, ManageError> {
        self.acting(self.actor.clone(), None).create(request)
    }

    /// Loads a key by id.
    pub fn load(&self, id: &str) -> Result<AccessKey, ManageError> {
        self.manager.load(id)
    }

    /// One page of the keys matching `query`.
    pub fn search(&self, query: &SearchQuery) -> Result<Page<AccessKey>, ManageError> {
        self.manager.search(query)
    }

    /// Updates a key (absent fields kept, empty ones cleared).
    pub fn update(&self, request: UpdateKey) -> Result<AccessKey, ManageError> {
        self.acting(self.actor.clone(), None).update(request)
    }

    /// Activates a key.
    pub fn activate(&self, id: &str) -> Result<(), ManageError> {
        self.acting(self.actor.clone(), None).activate(id)
    }

    /// Deactivates a key; durable when this returns.
    pub fn deactivate(&self, id: &str) -> Result<(), ManageError> {
        self.acting(self.actor.clone(), None).deactivate(id)
    }

    /// Deletes a key; durable when this returns.
    pub fn delete(&self, id: &str) -> Result<(), ManageError> {
        self.acting(self.actor.clone(), None).delete(id)
    }

    /// Activates up to 1000 keys atomically.
    pub fn activate_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        self.acting(self.actor.clone(), None).activate_batch(ids)
    }

    /// Deactivates up to 1000 keys atomically.
    pub fn deactivate_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        self.acting(self.actor.clone(), None).deactivate_batch(ids)
    }

    /// Deletes up to 1000 keys atomically.
    pub fn delete_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        self.acting(self.actor.clone(), None).delete_batch(ids)
    }

    /// Gives a key a new secret; the old one works for `grace` more (zero: not at all).
    pub fn rotate(&self, id: &str, grace: Duration) -> Result<CreatedKey, ManageError> {
        self.acting(self.actor.clone(), None).rotate(id, grace)
    }

    /// Management calls recorded in the audit trail as made by `actor` (a management key id,
    /// `cli:$USER`, ...) from `client`.
    pub fn acting(&self, actor: impl Into<String>, client: Option<IpAddr>) -> Acting<'_> {
        Acting::new(self, actor.into(), client)
    }

    pub(crate) fn trail(&self) -> &Trail {
        &self.trail
    }

    // --- audit ---------------------------------------------------------------------------------

    /// One page of the audit trail, newest first (empty without an audit store).
    ///
    /// Events still queued in the recorder (at most one flush interval old) are not yet visible.
    pub fn search_audit(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, ManageError> {
        query.validate()?;
        match &self.audit_store {
            Some(store) => Ok(store.search_audit_events(query)?),
            None => Ok(Page::empty()),
        }
    }

    /// Records an application's own event (Descope's `/v1/mgmt/audit/event`), after checking it
    /// ([`AuditEvent::validate_application_event`]: ak's own action names are refused).
    pub fn record_application_event(&self, event: AuditEvent) -> Result<(), ManageError> {
        event.validate_application_event()?;
        self.trail.record(event);
        Ok(())
    }

    /// How many audit events were dropped (queue full, or a store that kept failing): a metric to
    /// export and alert on.
    pub fn audit_events_dropped(&self) -> u64 {
        self.trail.recorder.as_ref().map_or(0, AuditRecorder::dropped)
    }

    /// How many last uses were not kept (too many distinct keys waiting for the next write, or a
    /// use after shutdown): a metric beside [`audit_events_dropped`](Self::audit_events_dropped).
    pub fn key_uses_dropped(&self) -> u64 {
        self.trail.usage.as_ref().map_or(0, UsageTracker::dropped)
    }

    /// Writes every queued audit event and last use now, and waits for it (for tests and for a
    /// process about to exit; dropping the service does the same).
    pub fn flush_audit(&self) {
        if let Some(recorder) = &self.trail.recorder {
            recorder.flush();
        }
        if let Some(usage) = &self.trail.usage {
            usage.flush();
        }
    }

    // --- exchange and validation --------------------------------------------------------------

    /// Exchanges a presented key for a session token (Descope's `/v1/auth/accesskey/exchange`).
    ///
    /// The token's `exp` is `min(now + session timeout, key expiry)`. Inactive, expired, deleted,
    /// IP-denied and bound-to-inactive-user keys never yield a token.
    pub fn exchange(
        &self,
        presented: &str,
        options: &ExchangeOptions,
    ) -> Result<ExchangeResponse, ExchangeError> {
        let result = self.exchange_unrecorded(presented, options);
        let needs = self.trail.exchange_needs(result.is_ok());
        if needs.is_nothing() {
            return result;
        }
        let now_ms = self.manager.clock().now_millis();
        let client = options.client_ip.map(|ip| ip.to_string());
        if needs.last_use
            && let Ok(response) = &result
        {
            self.trail
                .touch(&response.key_id, now_ms.div_euclid(1000), client.as_deref());
        }
        if !needs.event {
            return result;
        }
        let event = match &result {
            Ok(response) => AuditEvent::new(actions::ACCESS_KEY_EXCHANGE, response.key_id.clone(), now_ms)
                .with_keys([response.key_id.clone()]),
            Err(error) => {
                // The key id only when the presented key parsed: never arbitrary presented text.
                let id = ak_core::key_format::presented_key_id(presented);
                AuditEvent::new(
                    actions::ACCESS_KEY_EXCHANGE_FAILED,
                    id.unwrap_or_default(),
                    now_ms,
                )
                .with_keys(id)
                .failed(exchange_reason(error))
            }
        };
        self.trail.record(event.with_client(client));
        result
    }

    /// Records an exchange refused before any work because its client was over the failed
    /// authentication rate limit (the server's limiter): `accesskey.exchange.failed` with reason
    /// `rate-limited`, the client's address, and the key id only when `presented` parses as a
    /// key. Never blocks: the event goes through the background recorder like every other.
    pub fn record_rate_limited_exchange(&self, presented: Option<&str>, client: Option<std::net::IpAddr>) {
        let id = presented.and_then(ak_core::key_format::presented_key_id);
        let now_ms = self.manager.clock().now_millis();
        let event = AuditEvent::new(
            actions::ACCESS_KEY_EXCHANGE_FAILED,
            id.unwrap_or_default(),
            now_ms,
        )
        .with_keys(id)
        .failed(ak_core::audit::reasons::RATE_LIMITED)
        .with_client(client.map(|ip| ip.to_string()));
        self.trail.record(event);
    }

    fn exchange_unrecorded(
        &self,
        presented: &str,
        options: &ExchangeOptions,
    ) -> Result<ExchangeResponse, ExchangeError> {
        validate::exchange_claims(&options.custom_claims)?;
        let now = self.manager.clock().now();
        self.follow_signing_keys(now);
        let authenticated = self.manager.authenticate_at(presented, options.client_ip, now)?;
        let mut claims = session_claims(
            &self.issuer,
            authenticated,
            options,
            now,
            self.session_timeout_secs,
            self.jti()?,
        )?;
        claims.aud = self.audience.clone().map(Audience::Single);
        let session_jwt = self
            .minter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .mint(&claims)?;
        if session_jwt.len() > MAX_SESSION_TOKEN_BYTES {
            return Err(ExchangeError::TokenTooLarge);
        }
        Ok(ExchangeResponse {
            key_id: claims.sub,
            session_jwt,
            expiration: claims.exp,
        })
    }

    /// Verifies a session token offline: signature, format, `exp`/`nbf`/`iat` (5 s leeway) and
    /// `iss`. A token of a key revoked after minting stays valid until it expires; use
    /// [`validate_session_and_key`](Self::validate_session_and_key) when that matters.
    ///
    /// With a store-backed key set, a token whose `kid` this node does not know makes it reload
    /// the set once (at most once per second) before the token is refused, so a key another node
    /// just added verifies at once.
    pub fn validate_session(&self, token: &str) -> Result<VerifiedToken, SessionError> {
        let now = self.manager.clock().now();
        Ok(self.verify(token, now)?)
    }

    fn verify(&self, token: &str, now: i64) -> Result<VerifiedToken, VerifyError> {
        self.follow_signing_keys(now);
        match self.verifier.verify(token, now) {
            Err(VerifyError::UnknownKeyId) => match &self.follower {
                Some(follower) if follower.reload_for_unknown_kid(now, |set| self.install(set)) => {
                    self.verifier.verify(token, now)
                }
                _ => Err(VerifyError::UnknownKeyId),
            },
            result => result,
        }
    }

    /// Like [`validate_session`](Self::validate_session), then one point lookup to check that the
    /// token's key still exists, is active and is unexpired, so revocation takes effect at once.
    pub fn validate_session_and_key(&self, token: &str) -> Result<VerifiedToken, SessionError> {
        let now = self.manager.clock().now();
        let verified = self.verify(token, now)?;
        self.manager.ensure_usable_at(verified.key_id(), now)?;
        Ok(verified)
    }

    // --- signing keys --------------------------------------------------------------------------

    /// The public keys as a JWKS document, for services that verify tokens themselves. With a
    /// store-backed set: every key of the set, pending ones included, as of the last refresh.
    pub fn jwks(&self) -> Jwks {
        self.follow_signing_keys(self.manager.clock().now());
        self.minter.read().unwrap_or_else(PoisonError::into_inner).jwks()
    }

    /// Makes `new_active` the signing key; tokens signed by the previous keys keep verifying
    /// until those keys are retired. With a store-backed set the key is added to the store,
    /// signing at once, and every node follows at its next refresh.
    pub fn rotate_signing_key(&self, new_active: SigningKey) -> Result<(), SigningKeysError> {
        match &self.follower {
            Some(follower) => {
                follower.keys().rotate_to(new_active, Duration::ZERO)?;
                self.reload_signing_keys()?;
            }
            None => {
                let mut minter = self.minter.write().unwrap_or_else(PoisonError::into_inner);
                minter.key_set_mut().rotate(new_active);
                self.verifier.replace_key_set(minter.key_set());
            }
        }
        let kid = self.signing_keys().active().kid().to_owned();
        self.acting(self.actor.clone(), None)
            .record(actions::SIGNING_KEY_ROTATE, [kid], None);
        Ok(())
    }

    /// Removes an old verification key: tokens it signed stop verifying (on every node, at its
    /// next refresh, with a store-backed set). The key signing now cannot be retired.
    pub fn retire_signing_key(&self, kid: &str) -> Result<(), SigningKeysError> {
        match &self.follower {
            Some(follower) => {
                follower.keys().retire(kid)?;
                self.reload_signing_keys()?;
            }
            None => {
                let mut minter = self.minter.write().unwrap_or_else(PoisonError::into_inner);
                minter.key_set_mut().retire(kid).map_err(|error| match error {
                    ak_token::KeyError::RetireActive => SigningKeysError::RetireSigning(kid.to_owned()),
                    _ => SigningKeysError::UnknownKid(kid.to_owned()),
                })?;
                self.verifier.replace_key_set(minter.key_set());
            }
        }
        self.acting(self.actor.clone(), None)
            .record(actions::SIGNING_KEY_RETIRE, [kid], None);
        Ok(())
    }

    /// A copy of the signing key set in use (active: the key signing now).
    pub fn signing_keys(&self) -> KeySet {
        self.minter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .key_set()
            .clone()
    }

    /// The store-backed signing-key set this service follows, to rotate, retire or list keys;
    /// `None` with an in-memory set.
    pub fn shared_signing_keys(&self) -> Option<&SharedSigningKeys> {
        self.follower.as_ref().map(Follower::keys)
    }

    /// Reloads the store-backed set now instead of at the next refresh (a no-op with an
    /// in-memory set).
    pub fn reload_signing_keys(&self) -> Result<(), SigningKeysError> {
        match &self.follower {
            Some(follower) => follower.reload(self.manager.clock().now(), |set| self.install(set)),
            None => Ok(()),
        }
    }

    /// The hot-path check: with a store-backed set, reloads when the refresh interval has passed
    /// and switches signer when a staged key's activation time has.
    fn follow_signing_keys(&self, now: i64) {
        if let Some(follower) = &self.follower
            && follower.due(now)
        {
            follower.follow(now, |set| self.install(set));
        }
    }

    fn install(&self, set: &KeySet) {
        let mut minter = self.minter.write().unwrap_or_else(PoisonError::into_inner);
        *minter.key_set_mut() = set.clone();
        self.verifier.replace_key_set(set);
    }

    fn jti(&self) -> Result<String, ExchangeError> {
        let mut bytes = [0u8; 16];
        self.manager.random().fill_bytes(&mut bytes)?;
        Ok(BASE64URL_NOPAD.encode(&bytes))
    }
}

/// Configures [`AccessKeys`]. A store, signing keys (in memory or in a store) and an issuer are
/// required.
///
/// The key-manager settings (store, clock, random source, role catalog, user directory, key
/// prefix, hash parameters) are kept in an [`ak_core::KeyManagerBuilder`] and mean what they
/// mean there.
#[derive(Debug, Default)]
pub struct AccessKeysBuilder {
    manager: KeyManagerBuilder,
    signing_keys: Option<KeySet>,
    signing_key_store: Option<SharedSigningKeys>,
    signing_key_refresh: Option<Duration>,
    clock: Option<Arc<dyn Clock>>,
    issuer: String,
    audience: Option<String>,
    session_timeout: Option<Duration>,
    token_cache: Option<CacheOptions>,
    webhooks: Option<Webhooks>,
    audit_store: Option<Arc<dyn AuditEventStore>>,
    audit_config: Option<AuditConfig>,
    usage_store: Option<Arc<dyn KeyUsageStore>>,
    usage_interval: Option<Duration>,
    actor: Option<String>,
}

impl AccessKeysBuilder {
    /// The webhooks of the store (see [`crate::webhook`]), for [`AccessKeys::webhooks`] (default:
    /// none).
    pub fn webhooks(mut self, webhooks: Webhooks) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// The key store (required).
    pub fn store(self, store: impl KeyStore + 'static) -> Self {
        self.shared_store(Arc::new(store))
    }

    /// A key store shared with other code (required, unless [`store`](Self::store) is used).
    pub fn shared_store(self, store: Arc<dyn KeyStore>) -> Self {
        self.with_manager(|manager| manager.store(store))
    }

    /// An in-memory signing key set, for a single process (this or
    /// [`signing_key_store`](Self::signing_key_store) is required).
    pub fn signing_keys(mut self, keys: KeySet) -> Self {
        self.signing_keys = Some(keys);
        self
    }

    /// Signing keys shared through `store`, sealed under `master_key` (this or
    /// [`signing_keys`](Self::signing_keys) is required; this one wins if both are given).
    ///
    /// [`build`](Self::build) loads the set, creating it (one new key) if the store holds none,
    /// and fails with [`ConfigError::SigningKeys`] if it was sealed under another master key.
    /// The service then reloads it every [refresh interval](Self::signing_key_refresh) and on an
    /// unknown `kid` (see [`crate::signing`]).
    pub fn signing_key_store(
        self,
        store: Arc<dyn ak_core::SigningKeyStore>,
        master_key: crate::signing::MasterKey,
    ) -> Self {
        self.shared_signing_keys(SharedSigningKeys::new(store, master_key))
    }

    /// Like [`signing_key_store`](Self::signing_key_store), with the set already opened (its
    /// clock is replaced by the service's [`clock`](Self::clock) if one is set).
    pub fn shared_signing_keys(mut self, keys: SharedSigningKeys) -> Self {
        self.signing_key_store = Some(keys);
        self
    }

    /// How often a store-backed signing-key set is reloaded: 1 s ..= 1 hour (default 30 s,
    /// [`DEFAULT_SIGNING_KEY_REFRESH`]). The reload happens on the first call after the interval
    /// has passed, measured by the service's [`clock`](Self::clock).
    pub fn signing_key_refresh(mut self, interval: Duration) -> Self {
        self.signing_key_refresh = Some(interval);
        self
    }

    /// The issuer: the project id, written to and required in every token's `iss` (required).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// An audience to put in tokens and require when validating (default: none).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// How long session tokens live: 3 minutes ..= 4 weeks (default 10 minutes).
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = Some(timeout);
        self
    }

    /// Role catalog: unknown roles are rejected and tokens carry resolved permissions.
    pub fn role_catalog(self, catalog: RoleCatalog) -> Self {
        self.with_manager(|manager| manager.role_catalog(catalog))
    }

    /// User directory for keys bound to users.
    pub fn user_directory(self, users: Arc<dyn UserDirectory>) -> Self {
        self.with_manager(|manager| manager.user_directory(users))
    }

    /// Clock (default: system time); also dates tokens.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(Arc::clone(&clock));
        self.with_manager(|manager| manager.clock(clock))
    }

    /// Random source (default: the OS CSPRNG); also draws token ids.
    pub fn random(self, random: Arc<dyn RandomSource>) -> Self {
        self.with_manager(|manager| manager.random(random))
    }

    /// Cleartext prefix of new keys (default `ak`).
    pub fn key_prefix(self, prefix: impl Into<String>) -> Self {
        self.with_manager(|manager| manager.key_prefix(prefix))
    }

    /// Argon2id parameters for new secrets (default m=8 KiB, t=1, p=1).
    pub fn hash_params(self, params: HashParams) -> Self {
        self.with_manager(|manager| manager.hash_params(params))
    }

    fn with_manager(mut self, set: impl FnOnce(KeyManagerBuilder) -> KeyManagerBuilder) -> Self {
        self.manager = set(self.manager);
        self
    }

    /// Records the audit trail in `store` (usually the key store itself), through a background
    /// [`AuditRecorder`] (see [`crate::audit`]). Without it nothing is recorded.
    pub fn audit_store(mut self, store: Arc<dyn AuditEventStore>) -> Self {
        self.audit_store = Some(store);
        self
    }

    /// How the audit recorder batches, bounds and prunes (default [`AuditConfig::default`]:
    /// flushed every 200 ms, 10 000 queued events, 30 days' retention).
    pub fn audit_config(mut self, config: AuditConfig) -> Self {
        self.audit_config = Some(config);
        self
    }

    /// Records each key's last use in `store` (usually the key store itself), coalesced per key
    /// ([`UsageTracker`]). Without it last uses are not tracked.
    pub fn usage_store(mut self, store: Arc<dyn KeyUsageStore>) -> Self {
        self.usage_store = Some(store);
        self
    }

    /// How often last uses are written (default 60 s, [`DEFAULT_USAGE_INTERVAL`]).
    pub fn usage_interval(mut self, interval: Duration) -> Self {
        self.usage_interval = Some(interval);
        self
    }

    /// The actor recorded for management calls not made through [`AccessKeys::acting`]
    /// (default [`DEFAULT_ACTOR`]).
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Cache verified tokens so re-validating one skips the signature check.
    pub fn token_cache(mut self, cache: CacheOptions) -> Self {
        self.token_cache = Some(cache);
        self
    }

    /// Checks the settings and builds the service.
    pub fn build(self) -> Result<AccessKeys, ConfigError> {
        if self.signing_keys.is_none() && self.signing_key_store.is_none() {
            return Err(ConfigError::MissingSigningKeys);
        }
        let refresh = self.signing_key_refresh.unwrap_or(DEFAULT_SIGNING_KEY_REFRESH);
        if !(MIN_SIGNING_KEY_REFRESH..=MAX_SIGNING_KEY_REFRESH).contains(&refresh) {
            return Err(ConfigError::SigningKeyRefresh(refresh));
        }
        if self.issuer.is_empty() {
            return Err(ConfigError::MissingIssuer);
        }
        let timeout = self.session_timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT);
        if !(MIN_SESSION_TIMEOUT..=MAX_SESSION_TIMEOUT).contains(&timeout) {
            return Err(ConfigError::SessionTimeout(timeout));
        }
        let session_timeout_secs =
            i64::try_from(timeout.as_secs()).map_err(|_| ConfigError::SessionTimeout(timeout))?;
        // Last: building the manager hashes a decoy secret, so cheap checks go first.
        let manager = self.manager.build().map_err(|err| match err {
            ak_core::ConfigError::MissingStore => ConfigError::MissingStore,
            other => ConfigError::Manager(other),
        })?;

        let (keys, follower) = match self.signing_key_store {
            Some(mut shared) => {
                if let Some(clock) = &self.clock {
                    shared = shared.with_clock(Arc::clone(clock));
                }
                let refresh_secs = i64::try_from(refresh.as_secs()).unwrap_or(i64::MAX);
                let (follower, keys) = Follower::start(shared, refresh_secs)?;
                (keys, Some(follower))
            }
            None => (self.signing_keys.ok_or(ConfigError::MissingSigningKeys)?, None),
        };

        let mut options = VerificationOptions::new()
            .with_issuer(self.issuer.clone())
            .with_max_token_len(MAX_SESSION_TOKEN_BYTES);
        if let Some(audience) = &self.audience {
            options = options.with_audience(audience.clone());
        }
        if let Some(cache) = self.token_cache {
            options = options.with_cache(cache);
        }
        let clock: Arc<dyn Clock> = self
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(ak_core::SystemClock));
        let trail = Trail {
            recorder: self.audit_store.as_ref().map(|store| {
                AuditRecorder::with_config(Arc::clone(store), self.audit_config.unwrap_or_default(), clock)
            }),
            usage: self.usage_store.map(|store| {
                UsageTracker::with_interval(store, self.usage_interval.unwrap_or(DEFAULT_USAGE_INTERVAL))
            }),
        };
        Ok(AccessKeys {
            trail,
            actor: self.actor.unwrap_or_else(|| DEFAULT_ACTOR.to_owned()),
            audit_store: self.audit_store,
            manager,
            verifier: Verifier::from_key_set(&keys, options),
            minter: RwLock::new(TokenMinter::new(keys)),
            issuer: self.issuer,
            audience: self.audience,
            session_timeout_secs,
            follower,
            webhooks: self.webhooks,
        })
    }
}
