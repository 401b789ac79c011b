//! Exchanging a presented access key for a session token.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ak_core::{AuthError, AuthenticatedKey, Authorization, ValidationError};
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

/// Everything a token says about an authenticated key, before signing. Takes the key by value:
/// its id, roles, permissions and custom claims move into the claims instead of being copied.
pub(crate) fn session_claims(
    issuer: &str,
    authenticated: AuthenticatedKey,
    options: &ExchangeOptions,
    now: i64,
    session_timeout_secs: i64,
    jti: String,
) -> Result<SessionClaims, ExchangeError> {
    let AuthenticatedKey {
        key, authorization, ..
    } = authenticated;
    let Authorization {
        roles,
        permissions,
        tenants,
    } = authorization;
    if let Some(tenant) = &options.selected_tenant
        && !tenants.contains_key(tenant)
    {
        return Err(ExchangeError::TenantNotPermitted);
    }
    let expiration = key.expire_time.map_or(now + session_timeout_secs, |expiry| {
        expiry.min(now + session_timeout_secs)
    });
    let mut claims = SessionClaims::new(issuer, key.id, now, expiration, jti);
    if !roles.is_empty() || tenants.is_empty() {
        claims.roles = Some(roles);
        claims.permissions = Some(permissions);
    }
    if !tenants.is_empty() {
        let tenants: BTreeMap<String, TenantClaims> = tenants
            .into_iter()
            .map(|(id, tenant)| {
                (
                    id,
                    TenantClaims {
                        roles: tenant.roles,
                        permissions: tenant.permissions,
                    },
                )
            })
            .collect();
        claims.tenants = Some(tenants);
    }
    claims.dct.clone_from(&options.selected_tenant);
    if !options.custom_claims.is_empty() {
        claims.nsec = Some(options.custom_claims.clone());
    }
    claims.custom = key.custom_claims;
    if let Some(user) = key.bound_user_id {
        claims
            .custom
            .insert(BOUND_USER_CLAIM.to_owned(), Value::String(user));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use ak_core::{AccessKey, KeyStatus, TenantAuthorization};
    use serde_json::json;

    use super::*;

    fn key(id: &str) -> AccessKey {
        AccessKey {
            id: id.to_owned(),
            name: "n".into(),
            description: String::new(),
            role_names: vec!["deployer".into()],
            key_tenants: Vec::new(),
            status: KeyStatus::Active,
            created_time: 0,
            expire_time: Some(700),
            created_by: String::new(),
            bound_user_id: Some("u1".into()),
            custom_claims: json!({"plan": "gold"}).as_object().cloned().unwrap_or_default(),
            custom_attributes: Map::new(),
            permitted_ips: Vec::new(),
            last_used_time: None,
            last_used_ip: None,
        }
    }

    fn authenticated(tenants: bool) -> AuthenticatedKey {
        let mut authorization = Authorization {
            roles: vec!["deployer".into()],
            permissions: vec!["deploy".into(), "read".into()],
            tenants: BTreeMap::new(),
        };
        if tenants {
            authorization.roles.clear();
            authorization.permissions.clear();
            authorization.tenants.insert(
                "t1".into(),
                TenantAuthorization {
                    roles: vec!["admin".into()],
                    permissions: vec!["billing".into()],
                },
            );
        }
        AuthenticatedKey {
            key: key("K1"),
            authorization,
            bound_user: None,
        }
    }

    /// The claims take the key's id, grants and custom claims over instead of copying them: the
    /// exchange path allocates none of them again (the heap addresses are the key's own).
    #[test]
    fn claims_move_the_authenticated_key_into_the_token() {
        let options = ExchangeOptions::default();
        let project = authenticated(false);
        let sub = project.key.id.as_ptr();
        let roles = project.authorization.roles.as_ptr();
        let permissions = project.authorization.permissions.as_ptr();
        let plan = match &project.key.custom_claims["plan"] {
            Value::String(plan) => plan.as_ptr(),
            other => panic!("{other:?}"),
        };
        let claims = session_claims("P2p", project, &options, 100, 600, "j".into()).unwrap();
        assert_eq!(claims.sub.as_ptr(), sub);
        assert_eq!(claims.roles.as_deref().map(<[String]>::as_ptr), Some(roles));
        assert_eq!(
            claims.permissions.as_deref().map(<[String]>::as_ptr),
            Some(permissions)
        );
        assert!(matches!(&claims.custom["plan"], Value::String(moved) if moved.as_ptr() == plan));
        assert_eq!(claims.custom[BOUND_USER_CLAIM], "u1");
        assert_eq!(
            (claims.iat, claims.exp),
            (100, 700),
            "exp is the key's expiry when sooner"
        );

        let tenant = authenticated(true);
        let grants = tenant.authorization.tenants["t1"].roles.as_ptr();
        let selected = ExchangeOptions {
            selected_tenant: Some("t1".into()),
            ..ExchangeOptions::default()
        };
        let claims = session_claims("P2p", tenant, &selected, 100, 600, "j".into()).unwrap();
        let tenants = claims.tenants.as_ref().unwrap();
        assert_eq!(tenants["t1"].roles.as_ptr(), grants);
        assert_eq!(tenants["t1"].permissions, ["billing"]);
        assert_eq!((claims.roles, claims.dct.as_deref()), (None, Some("t1")));

        let other = ExchangeOptions {
            selected_tenant: Some("t2".into()),
            ..ExchangeOptions::default()
        };
        assert!(matches!(
            session_claims("P2p", authenticated(true), &other, 100, 600, "j".into()),
            Err(ExchangeError::TenantNotPermitted)
        ));
    }
}
