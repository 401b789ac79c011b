//! What an authenticated key may do: roles and permissions, project-wide or per tenant.

use std::collections::BTreeMap;

use crate::catalog::RoleCatalog;
use crate::model::KeyTenant;

/// Roles and permissions of one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantAuthorization {
    /// Role names in the tenant.
    pub roles: Vec<String>,
    /// Permissions those roles grant (from the role catalog).
    pub permissions: Vec<String>,
}

/// The authorization a token carries: top-level roles and permissions for keys without tenants,
/// per-tenant ones for keys with tenants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    /// Project-level roles.
    pub roles: Vec<String>,
    /// Permissions of the project-level roles.
    pub permissions: Vec<String>,
    /// Tenant id → roles and permissions in it.
    pub tenants: BTreeMap<String, TenantAuthorization>,
}

impl Authorization {
    /// Resolves roles to permissions through `catalog` (no catalog: no permissions). Permissions
    /// are listed once each, in the order their roles first grant them.
    pub fn resolve(role_names: &[String], tenants: &[KeyTenant], catalog: Option<&RoleCatalog>) -> Self {
        let project = permissions(role_names, |role| {
            catalog.and_then(|c| c.project_permissions(role))
        });
        let tenants = tenants
            .iter()
            .map(|tenant| {
                let permissions = permissions(&tenant.role_names, |role| {
                    catalog.and_then(|c| c.tenant_permissions(role))
                });
                (
                    tenant.tenant_id.clone(),
                    TenantAuthorization {
                        roles: tenant.role_names.clone(),
                        permissions,
                    },
                )
            })
            .collect();
        Self {
            roles: role_names.to_vec(),
            permissions: project,
            tenants,
        }
    }
}

fn permissions<'a>(roles: &[String], lookup: impl Fn(&str) -> Option<&'a [String]>) -> Vec<String> {
    let mut granted: Vec<String> = Vec::new();
    for permission in roles.iter().filter_map(|role| lookup(role)).flatten() {
        if !granted.contains(permission) {
            granted.push(permission.clone());
        }
    }
    granted
}
