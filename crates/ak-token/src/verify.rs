//! Token verification: [`Verifier`], [`VerificationOptions`] and the verified result [`VerifiedToken`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::cache::{CacheOptions, Entry, TokenCache};
use crate::claims::{SessionClaims, TenantClaims};
use crate::error::{KeyError, VerifyError};
use crate::jwk::{ALG_EDDSA, Jwks};
use crate::key_set::KeySet;
use crate::strict_key::StrictKey;
use crate::unique_members;

/// Default [`VerificationOptions::max_token_len`]: 8 KiB. A session token with a handful of roles and tenants is
/// well under 1 KiB; the bound is checked before any decoding.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// Default [`VerificationOptions::leeway_secs`]: 5 seconds, as in every Descope SDK.
pub const DEFAULT_LEEWAY_SECS: u64 = 5;

/// How tokens are checked beyond their signature.
///
/// The default requires `exp` (always), allows 5 s of clock skew, accepts any `iss` and `aud`, bounds tokens to
/// 8 KiB and does not cache. Build one with [`new`](Self::new) (or `default()`) and the `with_*` methods.
///
/// Time rules, with `leeway` = [`leeway_secs`](Self::leeway_secs) and `now` in Unix seconds:
/// * [`Expired`](VerifyError::Expired) when `now - leeway >= exp`;
/// * [`NotYetValid`](VerifyError::NotYetValid) when `nbf` is present and `now + leeway < nbf`;
/// * [`IssuedInFuture`](VerifyError::IssuedInFuture) when `now + leeway < iat`.
///
/// `iss` must equal [`issuer`](Self::issuer) when that is set. When [`audience`](Self::audience) is set, `aud`
/// (a string or an array) must contain it; when it is not set, `aud` is not checked (as in the go SDK).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerificationOptions {
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required member of `aud`, if any.
    pub audience: Option<String>,
    /// Allowed clock skew in seconds for `exp`, `nbf` and `iat`.
    pub leeway_secs: u64,
    /// Longest accepted token, in bytes; longer input fails with [`VerifyError::TooLarge`] before decoding.
    pub max_token_len: usize,
    /// The verified-token cache; `None` disables it.
    pub cache: Option<CacheOptions>,
}

impl Default for VerificationOptions {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            cache: None,
        }
    }
}

impl VerificationOptions {
    /// The defaults (see the type's documentation).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `iss == issuer`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Requires `audience` in `aud`.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sets the clock-skew allowance.
    #[must_use]
    pub const fn with_leeway_secs(mut self, leeway_secs: u64) -> Self {
        self.leeway_secs = leeway_secs;
        self
    }

    /// Sets the size bound.
    #[must_use]
    pub const fn with_max_token_len(mut self, max_token_len: usize) -> Self {
        self.max_token_len = max_token_len;
        self
    }

    /// Enables the verified-token cache.
    #[must_use]
    pub fn with_cache(mut self, cache: CacheOptions) -> Self {
        self.cache = Some(cache);
        self
    }
}

/// Verifying keys by `kid`, decompressed and checked for small order once.
type KeyMap = HashMap<Box<str>, StrictKey>;

/// Verifies EdDSA session tokens against a set of public keys.
///
/// Checks, in order: size bound; exactly three strict base64url segments; header is a JSON object with `alg`
/// `EdDSA` and no `crit`; `kid` known; Ed25519 signature under `verify_strict`'s rules (rejects non-canonical `S` and
/// small-order keys); payload is a JSON object with the [`SessionClaims`] shape; `exp`, `nbf`, `iat`; `iss`;
/// `aud`. See [`VerifyError`].
///
/// The key set can be replaced at run time ([`replace_keys`](Self::replace_keys)); cached tokens of keys that
/// are no longer present are forgotten. `Verifier` is `Send + Sync`; share it behind an `Arc`.
///
/// ```
/// use ak_token::{CacheOptions, KeySet, SessionClaims, SigningKey, TokenMinter, VerificationOptions, Verifier};
///
/// let mut keys = KeySet::new(SigningKey::generate());
/// let old_kid = keys.active().kid().to_owned();
/// let token = TokenMinter::new(keys.clone()).mint(&SessionClaims::new("P2p", "K2k", 100, 700, "j"))?;
///
/// let options = VerificationOptions::new().with_issuer("P2p").with_cache(CacheOptions::new(10_000));
/// let verifier = Verifier::from_key_set(&keys, options);
/// assert_eq!(verifier.verify(&token, 100)?.key_id(), "K2k"); // signature checked
/// assert_eq!(verifier.verify(&token, 101)?.key_id(), "K2k"); // served from the cache
///
/// // Rotate and retire the old key: its tokens stop verifying, cached or not.
/// keys.rotate(SigningKey::generate());
/// keys.retire(&old_kid)?;
/// verifier.replace_key_set(&keys);
/// assert_eq!(verifier.verify(&token, 102).unwrap_err(), ak_token::VerifyError::UnknownKeyId);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Verifier {
    keys: RwLock<Arc<KeyMap>>,
    options: VerificationOptions,
    cache: Option<TokenCache>,
}

impl Verifier {
    /// A verifier for the Ed25519 keys of a JWKS document.
    ///
    /// Every key must be an `OKP`/`Ed25519` public key (`alg`, if present, `EdDSA`; `use`, if present, `sig`).
    /// A key without `kid` is registered under its RFC 7638 thumbprint.
    ///
    /// # Errors
    /// [`KeyError::InvalidJwk`] for a non-Ed25519 key, an invalid point or a private key (`d`: verifiers must not
    /// hold private keys), [`KeyError::WeakKey`] and [`KeyError::DuplicateKid`].
    pub fn new(keys: &Jwks, options: VerificationOptions) -> Result<Self, KeyError> {
        Ok(Self::with_key_map(key_map_from_jwks(keys)?, options))
    }

    /// A verifier for all keys (active and older) of a key set. Only public keys are kept.
    #[must_use]
    pub fn from_key_set(keys: &KeySet, options: VerificationOptions) -> Self {
        Self::with_key_map(key_map_from_key_set(keys), options)
    }

    fn with_key_map(keys: KeyMap, options: VerificationOptions) -> Self {
        let cache = options.cache.as_ref().map(TokenCache::new);
        Self {
            keys: RwLock::new(Arc::new(keys)),
            options,
            cache,
        }
    }

    /// Replaces the verification keys (after a rotation or retirement) and drops cached tokens whose key is gone.
    ///
    /// # Errors
    /// As [`new`](Self::new); on error the current keys stay in place.
    pub fn replace_keys(&self, keys: &Jwks) -> Result<(), KeyError> {
        self.install(key_map_from_jwks(keys)?);
        Ok(())
    }

    /// Replaces the verification keys with the public keys of `keys`; see [`replace_keys`](Self::replace_keys).
    pub fn replace_key_set(&self, keys: &KeySet) {
        self.install(key_map_from_key_set(keys));
    }

    fn install(&self, map: KeyMap) {
        let map = Arc::new(map);
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&map);
        if let Some(cache) = &self.cache {
            cache.retain(|kid, public_key| map.get(kid).is_some_and(|vk| vk.as_bytes() == public_key));
        }
    }

    fn current_keys(&self) -> Arc<KeyMap> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The known key ids, sorted.
    #[must_use]
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.current_keys().keys().map(|k| k.to_string()).collect();
        kids.sort_unstable();
        kids
    }

    /// The options.
    #[must_use]
    pub const fn options(&self) -> &VerificationOptions {
        &self.options
    }

    /// The number of tokens in the verified-token cache (0 without a cache).
    #[must_use]
    pub fn cached_tokens(&self) -> usize {
        self.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// The heap the verified-token cache holds, in bytes, as weighed against
    /// [`CacheOptions::max_bytes`] (0 without a cache).
    #[must_use]
    pub fn cached_bytes(&self) -> usize {
        self.cache.as_ref().map_or(0, TokenCache::bytes)
    }

    /// Empties the verified-token cache.
    pub fn clear_cache(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// Verifies `token` at time `now` (Unix seconds) and returns its claims.
    ///
    /// # Errors
    /// The first failed check, as a [`VerifyError`]; see the type's documentation for the order.
    pub fn verify(&self, token: &str, now: i64) -> Result<VerifiedToken, VerifyError> {
        if token.len() > self.options.max_token_len {
            return Err(VerifyError::TooLarge);
        }
        let Some(cache) = &self.cache else {
            return self.verify_uncached(token, now).map(|(verified, _)| verified);
        };
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(entry) = cache.get(&hash) {
            let key_still_valid = self
                .current_keys()
                .get(&*entry.kid)
                .is_some_and(|vk| vk.as_bytes() == &entry.public_key);
            if key_still_valid {
                if let Err(err) = self.check_claims(&entry.claims, now) {
                    if err == VerifyError::Expired {
                        cache.remove(&hash);
                    }
                    return Err(err);
                }
                return Ok(VerifiedToken {
                    claims: entry.claims,
                    kid: entry.kid,
                });
            }
            cache.remove(&hash);
        }
        let (verified, public_key) = self.verify_uncached(token, now)?;
        cache.insert(
            hash,
            Entry::new(
                Arc::clone(&verified.claims),
                Arc::clone(&verified.kid),
                public_key,
            ),
        );
        Ok(verified)
    }

    /// The full check; also returns the verifying key's bytes for the cache.
    fn verify_uncached(&self, token: &str, now: i64) -> Result<(VerifiedToken, [u8; 32]), VerifyError> {
        let mut segments = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(VerifyError::Malformed);
        };

        let header_json = b64::decode(header_b64).ok_or(VerifyError::Malformed)?;
        if header_json.first() != Some(&b'{') || !unique_members::has_unique_members(&header_json) {
            return Err(VerifyError::Malformed);
        }
        let header: Header = serde_json::from_slice(&header_json).map_err(|_| VerifyError::Malformed)?;
        if header.alg != ALG_EDDSA {
            return Err(VerifyError::UnsupportedAlgorithm);
        }
        if header.crit {
            return Err(VerifyError::CriticalHeader);
        }
        let kid = header.kid.ok_or(VerifyError::MissingKeyId)?;
        let keys = self.current_keys();
        let (kid, key) = keys
            .get_key_value(kid.as_str())
            .ok_or(VerifyError::UnknownKeyId)?;

        let signature = b64::decode(signature_b64)
            .and_then(|bytes| <[u8; 64]>::try_from(bytes.as_slice()).ok())
            .ok_or(VerifyError::Malformed)?;
        let payload = b64::decode(payload_b64).ok_or(VerifyError::Malformed)?;
        let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        if !key.verify(signing_input, &signature) {
            return Err(VerifyError::BadSignature);
        }

        if payload.first() != Some(&b'{') || !unique_members::has_unique_members(&payload) {
            return Err(VerifyError::InvalidClaims);
        }
        let claims: SessionClaims =
            serde_json::from_slice(&payload).map_err(|_| VerifyError::InvalidClaims)?;
        self.check_claims(&claims, now)?;
        Ok((
            VerifiedToken {
                claims: Arc::new(claims),
                kid: Arc::from(&**kid),
            },
            *key.as_bytes(),
        ))
    }

    /// Time, issuer and audience checks; shared by the cached and uncached paths.
    fn check_claims(&self, claims: &SessionClaims, now: i64) -> Result<(), VerifyError> {
        let leeway = i64::try_from(self.options.leeway_secs).unwrap_or(i64::MAX);
        if now.saturating_sub(leeway) >= claims.exp {
            return Err(VerifyError::Expired);
        }
        let latest = now.saturating_add(leeway);
        if claims.nbf.is_some_and(|nbf| latest < nbf) {
            return Err(VerifyError::NotYetValid);
        }
        if latest < claims.iat {
            return Err(VerifyError::IssuedInFuture);
        }
        if self.options.issuer.as_ref().is_some_and(|iss| *iss != claims.iss) {
            return Err(VerifyError::WrongIssuer);
        }
        if let Some(expected) = &self.options.audience
            && !claims.aud.as_ref().is_some_and(|aud| aud.contains(expected))
        {
            return Err(VerifyError::WrongAudience);
        }
        Ok(())
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.kids())
            .field("options", &self.options)
            .field("cached_tokens", &self.cached_tokens())
            .finish()
    }
}

/// The JOSE header members this crate looks at; others are ignored.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Whether a `crit` member is present at all (any value, even `null` or `[]`, is rejected).
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

fn key_map_from_jwks(jwks: &Jwks) -> Result<KeyMap, KeyError> {
    let mut map = KeyMap::with_capacity(jwks.keys.len());
    for jwk in &jwks.keys {
        if jwk.is_private() {
            return Err(KeyError::InvalidJwk("private key in a verification key set"));
        }
        let bytes = jwk.public_key_bytes()?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| KeyError::InvalidJwk("x is not an Ed25519 point"))?;
        let key = StrictKey::new(key).ok_or(KeyError::WeakKey)?;
        let kid = match &jwk.kid {
            Some(kid) => kid.clone(),
            None => jwk.thumbprint()?,
        };
        if map.insert(kid.into_boxed_str(), key).is_some() {
            return Err(KeyError::DuplicateKid);
        }
    }
    Ok(map)
}

fn key_map_from_key_set(keys: &KeySet) -> KeyMap {
    // A key derived from a seed is never of small order (its scalar is a nonzero multiple of 8
    // below 2^255, so never a multiple of ℓ); were one ever weak, its tokens would fail closed
    // with `UnknownKeyId`.
    keys.iter()
        .filter_map(|k| {
            let key = StrictKey::new(k.verifying_key());
            debug_assert!(key.is_some(), "a signing key's public key is of small order");
            Some((Box::from(k.kid()), key?))
        })
        .collect()
}

/// A token that passed every check: its claims and the `kid` of the key that signed it.
///
/// Cheap to clone (the claims are shared). The authorization helpers follow the go SDK; see
/// [`SessionClaims::validate_tenant_permissions`] for the exact rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    claims: Arc<SessionClaims>,
    kid: Arc<str>,
}

impl VerifiedToken {
    /// All claims.
    #[must_use]
    pub fn claims(&self) -> &SessionClaims {
        &self.claims
    }

    /// The claims, owned.
    #[must_use]
    pub fn into_claims(self) -> SessionClaims {
        Arc::try_unwrap(self.claims).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The access key id (`sub`).
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.claims.sub
    }

    /// The `kid` of the signing key.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The project id (`iss`, or its last path segment).
    #[must_use]
    pub fn project_id(&self) -> &str {
        self.claims.project_id()
    }

    /// `exp`, Unix seconds.
    #[must_use]
    pub fn expires_at(&self) -> i64 {
        self.claims.exp
    }

    /// Project-level roles (empty if absent).
    #[must_use]
    pub fn roles(&self) -> &[String] {
        self.claims.roles.as_deref().unwrap_or_default()
    }

    /// Project-level permissions (empty if absent).
    #[must_use]
    pub fn permissions(&self) -> &[String] {
        self.claims.permissions.as_deref().unwrap_or_default()
    }

    /// The `tenants` claim, if present.
    #[must_use]
    pub fn tenants(&self) -> Option<&BTreeMap<String, TenantClaims>> {
        self.claims.tenants.as_ref()
    }

    /// The current tenant (`dct`), if one was selected.
    #[must_use]
    pub fn current_tenant(&self) -> Option<&str> {
        self.claims.dct.as_deref()
    }

    /// A top-level custom claim (the key's custom claims).
    #[must_use]
    pub fn custom_claim(&self, name: &str) -> Option<&Value> {
        self.claims.custom.get(name)
    }

    /// All top-level custom claims.
    #[must_use]
    pub fn custom_claims(&self) -> &Map<String, Value> {
        &self.claims.custom
    }

    /// The exchange-time custom claims (`nsec`), if any.
    #[must_use]
    pub fn nsec(&self) -> Option<&Map<String, Value>> {
        self.claims.nsec.as_ref()
    }

    /// See [`SessionClaims::validate_permissions`].
    #[must_use]
    pub fn validate_permissions(&self, permissions: &[&str]) -> bool {
        self.claims.validate_permissions(permissions)
    }

    /// See [`SessionClaims::validate_roles`].
    #[must_use]
    pub fn validate_roles(&self, roles: &[&str]) -> bool {
        self.claims.validate_roles(roles)
    }

    /// See [`SessionClaims::validate_tenant_permissions`].
    #[must_use]
    pub fn validate_tenant_permissions(&self, tenant: &str, permissions: &[&str]) -> bool {
        self.claims.validate_tenant_permissions(tenant, permissions)
    }

    /// See [`SessionClaims::validate_tenant_roles`].
    #[must_use]
    pub fn validate_tenant_roles(&self, tenant: &str, roles: &[&str]) -> bool {
        self.claims.validate_tenant_roles(tenant, roles)
    }

    /// See [`SessionClaims::matched_permissions`].
    #[must_use]
    pub fn matched_permissions(&self, permissions: &[&str]) -> Vec<String> {
        self.claims.matched_permissions(permissions)
    }

    /// See [`SessionClaims::matched_roles`].
    #[must_use]
    pub fn matched_roles(&self, roles: &[&str]) -> Vec<String> {
        self.claims.matched_roles(roles)
    }

    /// See [`SessionClaims::matched_tenant_permissions`].
    #[must_use]
    pub fn matched_tenant_permissions(&self, tenant: &str, permissions: &[&str]) -> Vec<String> {
        self.claims.matched_tenant_permissions(tenant, permissions)
    }

    /// See [`SessionClaims::matched_tenant_roles`].
    #[must_use]
    pub fn matched_tenant_roles(&self, tenant: &str, roles: &[&str]) -> Vec<String> {
        self.claims.matched_tenant_roles(tenant, roles)
    }
}
