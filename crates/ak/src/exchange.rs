//! Exchanging a presented access key for a session token.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ak_core::{AuthError, AuthenticatedKey, ValidationError};
use ak_token::{MintError, SessionClaims, TenantClaims};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The claim that carries the id of the user a key is bound to: in every token of a bound key,
/// whether or not a user directory is configured.
pub const BOUND_USER_CLAIM: &str = "boundUserId";

/// Options of one exchange (Descope's `loginOptions`, plus the client's address).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeOptions {
    /// Claims to place under the token's `nsec` claim.
    #[serde(default)]
    pub custom_claims: Map<String, Value>,
    /// A tenant of the key to select; it becomes the token's `dct` claim.
    #[serde(default)]
    pub selected_tenant: Option<String>,
    /// The client's address, checked against the key's permitted IPs. Taken from the connection,
    /// never from a request body.
    #[serde(skip)]
    pub client_ip: Option<IpAddr>,
}

/// Descope's exchange response.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeResponse {
    /// The key id (also the token's `sub`).
    pub key_id: String,
    /// The signed session token. A bearer credential: `Debug` does not show it.
    pub session_jwt: String,
    /// When the token expires (Unix seconds).
    pub expiration: i64,
}

impl std::fmt::Debug for ExchangeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeResponse")
            .field("key_id", &self.key_id)
            .field("session_jwt", &"[redacted]")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Why an exchange yielded no token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The key did not authenticate (invalid, inactive, expired, IP denied, bound user inactive,
    /// or the store failed).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The exchange options were invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The selected tenant is not one of the key's tenants.
    #[error("the selected tenant is not one of the key's tenants")]
    TenantNotPermitted,
    /// The token would exceed [`MAX_SESSION_TOKEN_BYTES`](crate::MAX_SESSION_TOKEN_BYTES).
    #[error("the session token would be too large")]
    TokenTooLarge,
    /// Signing failed.
    #[error(transparent)]
    Mint(#[from] MintError),
    /// The random source failed (no token id could be drawn).
    #[error(transparent)]
    Random(#[from] ak_core::RandomError),
}

/// Everything a token says about an authenticated key, before signing.
pub(crate) fn session_claims(
    issuer: &str,
    authenticated: &AuthenticatedKey,
    options: &ExchangeOptions,
    now: i64,
    session_timeout_secs: i64,
    jti: String,
) -> Result<SessionClaims, ExchangeError> {
    let key = &authenticated.key;
    let authorization = &authenticated.authorization;
    let expiration = key.expire_time.map_or(now + session_timeout_secs, |expiry| {
        expiry.min(now + session_timeout_secs)
    });
    let mut claims = SessionClaims::new(issuer, key.id.clone(), now, expiration, jti);
    if !authorization.roles.is_empty() || authorization.tenants.is_empty() {
        claims.roles = Some(authorization.roles.clone());
        claims.permissions = Some(authorization.permissions.clone());
    }
    if !authorization.tenants.is_empty() {
        let tenants: BTreeMap<String, TenantClaims> = authorization
            .tenants
            .iter()
            .map(|(id, tenant)| {
                (
                    id.clone(),
                    TenantClaims {
                        roles: tenant.roles.clone(),
                        permissions: tenant.permissions.clone(),
                    },
                )
            })
            .collect();
        claims.tenants = Some(tenants);
    }
    if let Some(tenant) = &options.selected_tenant {
        if !authorization.tenants.contains_key(tenant) {
            return Err(ExchangeError::TenantNotPermitted);
        }
        claims.dct = Some(tenant.clone());
    }
    if !options.custom_claims.is_empty() {
        claims.nsec = Some(options.custom_claims.clone());
    }
    claims.custom = key.custom_claims.clone();
    if let Some(user) = &key.bound_user_id {
        claims
            .custom
            .insert(BOUND_USER_CLAIM.to_owned(), Value::String(user.clone()));
    }
    Ok(claims)
}
