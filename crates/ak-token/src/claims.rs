//! The claims of a Descope access-key session token.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Claim names with a fixed meaning in [`SessionClaims`]; custom claims may not use them.
pub const REGISTERED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "nbf",
    "jti",
    "roles",
    "permissions",
    "tenants",
    "dct",
    "nsec",
];

/// The `aud` claim: a single string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "x"`.
    Single(String),
    /// `"aud": ["x", "y"]`.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is (one of) the audience(s).
    #[must_use]
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::Single(a) => a == audience,
            Self::Many(list) => list.iter().any(|a| a == audience),
        }
    }
}

/// The roles and permissions granted within one tenant: the value type of the `tenants` claim.
///
/// An empty object `{}` still associates the token with the tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantClaims {
    /// Tenant-level roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Tenant-level permissions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
}

/// The claims of a Descope access-key session token (descope-api §3.1).
///
/// `roles` and `permissions` are project-level (keys without tenants); `tenants` maps tenant ids to their grants
/// (keys with tenants); `custom` holds the key's custom claims, serialized at the top level; `nsec` holds the
/// exchange-time custom claims; `dct` is the tenant selected at exchange.
///
/// [`TokenMinter::mint`](crate::TokenMinter::mint) refuses custom claims named like a registered claim
/// ([`REGISTERED_CLAIMS`]), so serialization never produces duplicate JSON members.
///
/// The authorization helpers (`validate_*`, `matched_*`) follow the go SDK; see the rules on
/// [`validate_tenant_permissions`](Self::validate_tenant_permissions).
///
/// ```
/// use std::collections::BTreeMap;
/// use ak_token::{SessionClaims, TenantClaims};
///
/// let mut claims = SessionClaims::new("P2project", "K2key", 0, 600, "jti");
/// claims.permissions = Some(vec!["read".into()]);
/// claims.tenants = Some(BTreeMap::from([(
///     "T1".to_owned(),
///     TenantClaims { roles: vec!["admin".into()], permissions: vec!["billing".into()] },
/// )]));
/// claims.custom.insert("plan".into(), "pro".into());
/// assert!(claims.validate_permissions(&["read"]));
/// assert!(!claims.validate_permissions(&["billing"]));
/// assert!(claims.validate_tenant_permissions("T1", &["billing"]));
/// assert!(!claims.validate_tenant_roles("T2", &[])); // not associated with T2
/// assert_eq!(claims.matched_tenant_roles("T1", &["owner", "admin"]), ["admin"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Issuer: the project id.
    pub iss: String,
    /// Subject: the access key id.
    pub sub: String,
    /// Optional audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Optional not-before, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique token id.
    pub jti: String,
    /// Project-level roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Project-level permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Per-tenant roles and permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenants: Option<BTreeMap<String, TenantClaims>>,
    /// Descope current tenant: the tenant selected at exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dct: Option<String>,
    /// Exchange-time ("non-secure") custom claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nsec: Option<Map<String, Value>>,
    /// The key's custom claims, merged at the top level of the token.
    #[serde(flatten)]
    pub custom: Map<String, Value>,
}

impl SessionClaims {
    /// Claims with the required members set and everything optional empty.
    #[must_use]
    pub fn new(
        iss: impl Into<String>,
        sub: impl Into<String>,
        iat: i64,
        exp: i64,
        jti: impl Into<String>,
    ) -> Self {
        Self {
            iss: iss.into(),
            sub: sub.into(),
            iat,
            exp,
            jti: jti.into(),
            ..Self::default()
        }
    }

    /// The project id: `iss`, or its last `/`-separated segment when `iss` is a URL (as the Descope SDKs read it).
    #[must_use]
    pub fn project_id(&self) -> &str {
        self.iss.rsplit('/').next().unwrap_or(&self.iss)
    }

    /// The first custom claim whose name is registered, if any.
    pub(crate) fn reserved_custom_claim(&self) -> Option<&str> {
        self.custom
            .keys()
            .map(String::as_str)
            .find(|name| REGISTERED_CLAIMS.contains(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serde_shapes() {
        let mut claims = SessionClaims::new("P2proj", "K1", 10, 20, "j");
        claims.aud = Some(Audience::Many(vec!["P2proj".into()]));
        claims.custom.insert("k1".into(), json!("v1"));
        let value = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            value,
            json!({"iss":"P2proj","sub":"K1","aud":["P2proj"],"iat":10,"exp":20,"jti":"j","k1":"v1"})
        );
        let back: SessionClaims = serde_json::from_value(value).unwrap();
        assert_eq!(back, claims);

        let single: SessionClaims =
            serde_json::from_value(json!({"iss":"a","sub":"b","aud":"x","iat":1,"exp":2,"jti":"j"})).unwrap();
        assert!(single.aud.unwrap().contains("x"));
        assert!(
            serde_json::from_value::<SessionClaims>(json!({"iss":"a","sub":"b","iat":1,"exp":"2","jti":"j"}))
                .is_err()
        );
        assert!(serde_json::from_value::<SessionClaims>(json!([1, 2])).is_err());
        let tenants: SessionClaims = serde_json::from_value(
            json!({"iss":"a","sub":"b","iat":1,"exp":2,"jti":"j","tenants":{"t1":{},"t2":{"roles":["r"]}}}),
        )
        .unwrap();
        assert_eq!(tenants.tenants.unwrap()["t2"].roles, vec!["r".to_owned()]);
    }

    #[test]
    fn project_id() {
        assert_eq!(SessionClaims::new("P2x", "", 0, 0, "").project_id(), "P2x");
        assert_eq!(
            SessionClaims::new("https://api.example/P2x", "", 0, 0, "").project_id(),
            "P2x"
        );
    }
}
