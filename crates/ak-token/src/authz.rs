//! Authorization helpers with the Descope go SDK's semantics (descope-api §3.3).
//!
//! * Project level (`tenant` empty or the non-tenant methods): the granted items are the top-level `roles` /
//!   `permissions`.
//! * Tenant level: the token must be *associated* with the tenant, meaning the tenant is a key of `tenants` **or**
//!   `dct` equals it (the go SDK's rule; the python and node SDKs only look at `tenants`). The granted items are
//!   `tenants[tenant].roles` / `.permissions`; when there is no `tenants` claim at all and `dct == tenant`, the
//!   top-level lists apply (go's `dct` fallback). An associated tenant with no entry in an existing `tenants` claim
//!   grants nothing.
//! * `validate_*` is true iff **all** requested items are granted (so an empty request is true, except for a tenant
//!   the token is not associated with).
//! * `matched_*` returns the requested items that are granted, in request order (duplicates kept), and nothing for
//!   a tenant the token is not associated with.

use crate::claims::SessionClaims;

#[derive(Clone, Copy)]
enum Kind {
    Roles,
    Permissions,
}

impl SessionClaims {
    /// Whether the token is associated with `tenant`: it is a key of `tenants`, or `dct == tenant`.
    #[must_use]
    pub fn is_associated_with_tenant(&self, tenant: &str) -> bool {
        self.tenants.as_ref().is_some_and(|t| t.contains_key(tenant)) || self.dct.as_deref() == Some(tenant)
    }

    /// The granted items, or `None` if the token is not associated with `tenant`.
    fn granted(&self, tenant: &str, kind: Kind) -> Option<&[String]> {
        let top_level = || match kind {
            Kind::Roles => self.roles.as_deref().unwrap_or_default(),
            Kind::Permissions => self.permissions.as_deref().unwrap_or_default(),
        };
        if tenant.is_empty() {
            return Some(top_level());
        }
        match &self.tenants {
            Some(tenants) => match tenants.get(tenant) {
                Some(t) => Some(match kind {
                    Kind::Roles => &t.roles,
                    Kind::Permissions => &t.permissions,
                }),
                None if self.dct.as_deref() == Some(tenant) => Some(&[]),
                None => None,
            },
            None if self.dct.as_deref() == Some(tenant) => Some(top_level()),
            None => None,
        }
    }

    fn validate(&self, tenant: &str, kind: Kind, requested: &[&str]) -> bool {
        self.granted(tenant, kind)
            .is_some_and(|granted| requested.iter().all(|r| granted.iter().any(|g| g == r)))
    }

    fn matched(&self, tenant: &str, kind: Kind, requested: &[&str]) -> Vec<String> {
        self.granted(tenant, kind).map_or_else(Vec::new, |granted| {
            requested
                .iter()
                .filter(|r| granted.iter().any(|g| g == *r))
                .map(|r| (*r).to_owned())
                .collect()
        })
    }

    /// Whether all `permissions` are granted at project level.
    #[must_use]
    pub fn validate_permissions(&self, permissions: &[&str]) -> bool {
        self.validate("", Kind::Permissions, permissions)
    }

    /// Whether all `roles` are granted at project level.
    #[must_use]
    pub fn validate_roles(&self, roles: &[&str]) -> bool {
        self.validate("", Kind::Roles, roles)
    }

    /// Whether the token is associated with `tenant` and all `permissions` are granted in it. An empty `tenant`
    /// means project level.
    #[must_use]
    pub fn validate_tenant_permissions(&self, tenant: &str, permissions: &[&str]) -> bool {
        self.validate(tenant, Kind::Permissions, permissions)
    }

    /// Whether the token is associated with `tenant` and all `roles` are granted in it. An empty `tenant` means
    /// project level.
    #[must_use]
    pub fn validate_tenant_roles(&self, tenant: &str, roles: &[&str]) -> bool {
        self.validate(tenant, Kind::Roles, roles)
    }

    /// The requested `permissions` granted at project level, in request order.
    #[must_use]
    pub fn matched_permissions(&self, permissions: &[&str]) -> Vec<String> {
        self.matched("", Kind::Permissions, permissions)
    }

    /// The requested `roles` granted at project level, in request order.
    #[must_use]
    pub fn matched_roles(&self, roles: &[&str]) -> Vec<String> {
        self.matched("", Kind::Roles, roles)
    }

    /// The requested `permissions` granted in `tenant`, in request order; empty if not associated.
    #[must_use]
    pub fn matched_tenant_permissions(&self, tenant: &str, permissions: &[&str]) -> Vec<String> {
        self.matched(tenant, Kind::Permissions, permissions)
    }

    /// The requested `roles` granted in `tenant`, in request order; empty if not associated.
    #[must_use]
    pub fn matched_tenant_roles(&self, tenant: &str, roles: &[&str]) -> Vec<String> {
        self.matched(tenant, Kind::Roles, roles)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::claims::{SessionClaims, TenantClaims};

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn project_level() -> SessionClaims {
        let mut c = SessionClaims::new("P", "K", 0, 1, "j");
        c.roles = Some(strings(&["admin", "viewer"]));
        c.permissions = Some(strings(&["read", "write"]));
        c
    }

    fn with_tenants() -> SessionClaims {
        let mut c = SessionClaims::new("P", "K", 0, 1, "j");
        let mut tenants = BTreeMap::new();
        tenants.insert(
            "t1".to_owned(),
            TenantClaims {
                roles: strings(&["tr"]),
                permissions: strings(&["tp1", "tp2"]),
            },
        );
        tenants.insert("t2".to_owned(), TenantClaims::default());
        c.tenants = Some(tenants);
        c
    }

    #[test]
    fn project_level_semantics() {
        let c = project_level();
        assert!(c.validate_permissions(&[]));
        assert!(c.validate_permissions(&["read"]));
        assert!(c.validate_permissions(&["write", "read"]));
        assert!(!c.validate_permissions(&["read", "delete"]));
        assert!(c.validate_roles(&["viewer"]));
        assert!(!c.validate_roles(&["owner"]));
        assert_eq!(
            c.matched_permissions(&["delete", "write", "read", "write"]),
            strings(&["write", "read", "write"])
        );
        assert_eq!(c.matched_roles(&["owner"]), Vec::<String>::new());
        // Empty tenant = project level.
        assert!(c.validate_tenant_permissions("", &["read"]));
        // No association with any tenant.
        assert!(!c.validate_tenant_permissions("t1", &[]));
        assert!(c.matched_tenant_roles("t1", &["admin"]).is_empty());
        // Nothing granted at all.
        let empty = SessionClaims::new("P", "K", 0, 1, "j");
        assert!(empty.validate_permissions(&[]));
        assert!(!empty.validate_roles(&["x"]));
    }

    #[test]
    fn tenant_semantics() {
        let c = with_tenants();
        assert!(c.validate_tenant_permissions("t1", &["tp2", "tp1"]));
        assert!(!c.validate_tenant_permissions("t1", &["tp1", "read"]));
        assert!(c.validate_tenant_roles("t1", &["tr"]));
        assert!(
            c.validate_tenant_roles("t2", &[]),
            "an empty tenant object still associates"
        );
        assert!(!c.validate_tenant_roles("t2", &["tr"]));
        assert!(!c.validate_tenant_roles("t3", &[]));
        assert!(
            !c.validate_permissions(&["tp1"]),
            "tenant grants are not project grants"
        );
        assert_eq!(
            c.matched_tenant_permissions("t1", &["x", "tp2", "tp1"]),
            strings(&["tp2", "tp1"])
        );
        assert!(c.matched_tenant_permissions("t3", &["tp1"]).is_empty());
    }

    #[test]
    fn dct_association() {
        // go's fallback: no `tenants` claim, dct selects the tenant, top-level grants apply to it.
        let mut c = project_level();
        c.dct = Some("t9".into());
        assert!(c.is_associated_with_tenant("t9"));
        assert!(c.validate_tenant_permissions("t9", &["read"]));
        assert_eq!(c.matched_tenant_roles("t9", &["admin", "x"]), strings(&["admin"]));
        assert!(!c.validate_tenant_permissions("t8", &[]));

        // With a `tenants` claim, dct still associates but grants only what tenants[dct] has.
        let mut c = with_tenants();
        c.permissions = Some(strings(&["read"]));
        c.dct = Some("t1".into());
        assert!(c.validate_tenant_permissions("t1", &["tp1"]));
        assert!(!c.validate_tenant_permissions("t1", &["read"]));
        c.dct = Some("t5".into());
        assert!(c.validate_tenant_permissions("t5", &[]));
        assert!(!c.validate_tenant_permissions("t5", &["read"]));
    }
}
