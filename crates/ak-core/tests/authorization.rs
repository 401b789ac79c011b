//! Role catalog, bound users through a user directory, and the authorization a key carries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ak_core::{
    AuthError, CreateKey, DirectoryError, DirectoryUser, KeyManager, KeyTenant, ManageError, MemoryKeyStore,
    RoleCatalog, UpdateKey, UserDirectory, ValidationError,
};

#[derive(Debug, Default)]
struct Users(Mutex<HashMap<String, DirectoryUser>>);

impl Users {
    fn set(&self, id: &str, user: Option<DirectoryUser>) {
        let mut users = self.0.lock().unwrap();
        match user {
            Some(user) => users.insert(id.to_owned(), user),
            None => users.remove(id),
        };
    }
}

impl UserDirectory for Users {
    fn find_user(&self, user_id: &str) -> Result<Option<DirectoryUser>, DirectoryError> {
        if user_id == "broken" {
            return Err(DirectoryError("directory offline".into()));
        }
        Ok(self.0.lock().unwrap().get(user_id).cloned())
    }
}

fn catalog() -> RoleCatalog {
    RoleCatalog::new()
        .with_project_role("admin", ["keys:read", "keys:write"])
        .with_project_role("reader", ["keys:read"])
        .with_tenant_role("deployer", ["deploy", "keys:read"])
        .with_tenant_role("viewer", ["keys:read"])
}

fn manager_with(users: Option<Arc<Users>>) -> KeyManager {
    let mut builder = KeyManager::builder(Arc::new(MemoryKeyStore::new())).role_catalog(catalog());
    if let Some(users) = users {
        builder = builder.user_directory(users);
    }
    builder.build().unwrap()
}

#[test]
fn project_roles_resolve_to_deduplicated_permissions() {
    let manager = manager_with(None);
    let created = manager
        .create(CreateKey {
            role_names: vec!["admin".into(), "reader".into()],
            ..CreateKey::named("k")
        })
        .unwrap();
    let auth = manager
        .authenticate(created.cleartext.expose_secret(), None)
        .unwrap()
        .authorization;
    assert_eq!(auth.roles, ["admin", "reader"]);
    assert_eq!(auth.permissions, ["keys:read", "keys:write"]);
    assert!(auth.tenants.is_empty());
}

#[test]
fn tenant_roles_resolve_per_tenant() {
    let manager = manager_with(None);
    let tenants = vec![
        KeyTenant::new("acme", ["deployer"]),
        KeyTenant::new("globex", Vec::<String>::new()),
    ];
    let created = manager
        .create(CreateKey {
            key_tenants: tenants,
            ..CreateKey::named("k")
        })
        .unwrap();
    let auth = manager
        .authenticate(created.cleartext.expose_secret(), None)
        .unwrap()
        .authorization;
    assert!(auth.roles.is_empty() && auth.permissions.is_empty());
    assert_eq!(auth.tenants["acme"].permissions, ["deploy", "keys:read"]);
    assert!(
        auth.tenants["globex"].roles.is_empty(),
        "a tenant with no roles is still associated"
    );
}

#[test]
fn catalog_rejects_unknown_roles_on_create_and_update() {
    let manager = manager_with(None);
    let unknown = CreateKey {
        role_names: vec!["root".into()],
        ..CreateKey::named("k")
    };
    assert!(matches!(
        manager.create(unknown),
        Err(ManageError::Invalid(ValidationError::UnknownRole { role })) if role == "root"
    ));
    // A tenant role is not a project role, and the other way round.
    let misplaced = CreateKey {
        role_names: vec!["deployer".into()],
        ..CreateKey::named("k")
    };
    assert!(manager.create(misplaced).is_err());
    let misplaced = CreateKey {
        key_tenants: vec![KeyTenant::new("t", ["admin"])],
        ..CreateKey::named("k")
    };
    assert!(manager.create(misplaced).is_err());
    let key = manager.create(CreateKey::named("k")).unwrap().key;
    let update = UpdateKey {
        role_names: Some(vec!["root".into()]),
        ..UpdateKey::new(&key.id, "k")
    };
    assert!(matches!(
        manager.update(update),
        Err(ManageError::Invalid(ValidationError::UnknownRole { .. }))
    ));
    assert_eq!(manager.load(&key.id).unwrap(), key);
}

#[test]
fn without_a_catalog_roles_are_free_and_grant_no_permissions() {
    let manager = KeyManager::builder(Arc::new(MemoryKeyStore::new()))
        .build()
        .unwrap();
    let created = manager
        .create(CreateKey {
            role_names: vec!["anything".into()],
            ..CreateKey::named("k")
        })
        .unwrap();
    let auth = manager
        .authenticate(created.cleartext.expose_secret(), None)
        .unwrap()
        .authorization;
    assert_eq!(auth.roles, ["anything"]);
    assert!(auth.permissions.is_empty());
}

#[test]
fn bound_keys_carry_the_users_authorization_and_follow_its_status() {
    let users = Arc::new(Users::default());
    let user = DirectoryUser {
        active: true,
        role_names: Vec::new(),
        tenants: vec![KeyTenant::new("acme", ["viewer"])],
    };
    users.set("u1", Some(user.clone()));
    let manager = manager_with(Some(users.clone()));
    let request = CreateKey {
        user_id: Some("u1".into()),
        role_names: vec!["admin".into()],
        ..CreateKey::named("bound")
    };
    let created = manager.create(request).unwrap();
    let presented = created.cleartext.expose_secret();

    let authenticated = manager.authenticate(presented, None).unwrap();
    assert_eq!(authenticated.bound_user.as_ref(), Some(&user));
    assert!(
        authenticated.authorization.roles.is_empty(),
        "the key's own roles are ignored"
    );
    assert_eq!(
        authenticated.authorization.tenants["acme"].permissions,
        ["keys:read"]
    );

    users.set(
        "u1",
        Some(DirectoryUser {
            active: false,
            ..user.clone()
        }),
    );
    assert!(matches!(
        manager.authenticate(presented, None),
        Err(AuthError::BoundUserInactive)
    ));
    users.set("u1", None);
    assert!(matches!(
        manager.authenticate(presented, None),
        Err(AuthError::BoundUserInactive)
    ));
    users.set("u1", Some(user));
    assert!(manager.authenticate(presented, None).is_ok());
}

#[test]
fn binding_to_an_unknown_user_is_refused_and_directory_failures_fail_closed() {
    let users = Arc::new(Users::default());
    let manager = manager_with(Some(users.clone()));
    let unknown = CreateKey {
        user_id: Some("ghost".into()),
        ..CreateKey::named("k")
    };
    assert!(matches!(
        manager.create(unknown),
        Err(ManageError::Invalid(ValidationError::UnknownUser { .. }))
    ));
    let broken = CreateKey {
        user_id: Some("broken".into()),
        ..CreateKey::named("k")
    };
    assert!(matches!(manager.create(broken), Err(ManageError::Directory(_))));

    // A key bound while the directory answered, whose directory then fails: refused.
    users.set("broken", None);
    let plain = KeyManager::builder(manager.store().clone()).build().unwrap();
    let created = plain
        .create(CreateKey {
            user_id: Some("broken".into()),
            ..CreateKey::named("k")
        })
        .unwrap();
    assert!(matches!(
        manager.authenticate(created.cleartext.expose_secret(), None),
        Err(AuthError::Directory(_))
    ));
}

#[test]
fn without_a_directory_bound_user_ids_are_recorded_but_not_checked() {
    let manager = manager_with(None);
    let created = manager
        .create(CreateKey {
            user_id: Some("u9".into()),
            ..CreateKey::named("k")
        })
        .unwrap();
    assert_eq!(created.key.bound_user_id.as_deref(), Some("u9"));
    let authenticated = manager
        .authenticate(created.cleartext.expose_secret(), None)
        .unwrap();
    assert!(authenticated.bound_user.is_none());
}
