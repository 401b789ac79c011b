//! The application's role catalog: role names and the permissions each grants.

use std::collections::BTreeMap;

use crate::model::KeyTenant;
use crate::validate::ValidationError;

/// Role name → permissions, separately for project-level roles and for tenant roles.
///
/// When a catalog is configured, creating or updating a key with a role it does not list is
/// rejected, and tokens carry the permissions resolved from it.
///
/// ```
/// use ak_core::RoleCatalog;
/// let catalog = RoleCatalog::new()
///     .with_project_role("admin", ["keys:read", "keys:write"])
///     .with_tenant_role("viewer", ["keys:read"]);
/// assert_eq!(catalog.project_permissions("admin").unwrap(), ["keys:read", "keys:write"]);
/// assert!(catalog.tenant_permissions("admin").is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleCatalog {
    project: BTreeMap<String, Vec<String>>,
    tenant: BTreeMap<String, Vec<String>>,
}

impl RoleCatalog {
    /// An empty catalog (it knows no roles at all).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a project-level role.
    pub fn with_project_role(
        mut self,
        role: impl Into<String>,
        permissions: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.project
            .insert(role.into(), permissions.into_iter().map(Into::into).collect());
        self
    }

    /// Adds (or replaces) a tenant role.
    pub fn with_tenant_role(
        mut self,
        role: impl Into<String>,
        permissions: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.tenant
            .insert(role.into(), permissions.into_iter().map(Into::into).collect());
        self
    }

    /// The permissions of a project role, or `None` if unknown.
    pub fn project_permissions(&self, role: &str) -> Option<&[String]> {
        self.project.get(role).map(Vec::as_slice)
    }

    /// The permissions of a tenant role, or `None` if unknown.
    pub fn tenant_permissions(&self, role: &str) -> Option<&[String]> {
        self.tenant.get(role).map(Vec::as_slice)
    }

    /// Rejects any project role or tenant role the catalog does not list.
    pub fn check(&self, role_names: &[String], tenants: &[KeyTenant]) -> Result<(), ValidationError> {
        let unknown_project = role_names.iter().find(|role| !self.project.contains_key(*role));
        let unknown_tenant = tenants
            .iter()
            .flat_map(|tenant| &tenant.role_names)
            .find(|role| !self.tenant.contains_key(*role));
        match unknown_project.or(unknown_tenant) {
            Some(role) => Err(ValidationError::UnknownRole { role: role.clone() }),
            None => Ok(()),
        }
    }
}
