//! A service guarding its requests with `validate_session_and_key` and a permission check.
//!
//! Run with `cargo run -p ak --example guard`.

use ak::{
    AccessKeys, CreateKey, ExchangeOptions, KeySet, RoleCatalog, SessionError, SigningKey, SqliteKeyStore,
};

/// What a request handler decides.
#[derive(Debug, PartialEq)]
enum Decision {
    Allowed(String),
    Unauthorized,
    Forbidden,
}

/// Guards a request that needs `permission`, given its `Authorization: Bearer <jwt>` header.
fn guard(keys: &AccessKeys, authorization: Option<&str>, permission: &str) -> Decision {
    let Some(token) = authorization.and_then(|header| header.strip_prefix("Bearer ")) else {
        return Decision::Unauthorized;
    };
    // One signature check plus one point lookup: a revoked key is refused at once.
    match keys.validate_session_and_key(token) {
        Ok(session) if session.validate_permissions(&[permission]) => {
            Decision::Allowed(session.key_id().to_owned())
        }
        Ok(_) => Decision::Forbidden,
        Err(SessionError::Store(error)) => panic!("fail closed and alert: {error}"),
        Err(_) => Decision::Unauthorized,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ak-guard-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let keys = AccessKeys::builder()
        .store(SqliteKeyStore::open(dir.join("ak.db"))?)
        .signing_keys(KeySet::new(SigningKey::generate()))
        .issuer("my-project")
        .role_catalog(RoleCatalog::new().with_project_role("reader", ["orders:read"]))
        .build()?;
    let created = keys.create(CreateKey {
        role_names: vec!["reader".into()],
        ..CreateKey::named("billing")
    })?;
    let session = keys.exchange(created.cleartext.expose_secret(), &ExchangeOptions::default())?;
    let header = format!("Bearer {}", session.session_jwt);

    let read = guard(&keys, Some(&header), "orders:read");
    let write = guard(&keys, Some(&header), "orders:write");
    keys.deactivate(&created.key.id)?;
    let after_revocation = guard(&keys, Some(&header), "orders:read");
    println!(
        "GET /orders: {read:?}\nPOST /orders: {write:?}\nGET /orders after deactivation: {after_revocation:?}"
    );
    assert_eq!(read, Decision::Allowed(created.key.id));
    assert_eq!(write, Decision::Forbidden);
    assert_eq!(after_revocation, Decision::Unauthorized);
    assert_eq!(guard(&keys, None, "orders:read"), Decision::Unauthorized);

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
