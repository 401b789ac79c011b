//! Create a key, exchange it for a session token, verify the token: on SQLite.
//!
//! Run with `cargo run -p ak --example quickstart`.

use ak::{AccessKeys, CreateKey, ExchangeOptions, KeySet, RoleCatalog, SigningKey, SqliteKeyStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ak-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let keys = AccessKeys::builder()
        .store(SqliteKeyStore::open(dir.join("ak.db"))?)
        .signing_keys(KeySet::new(SigningKey::generate()))
        .issuer("my-project")
        .role_catalog(RoleCatalog::new().with_project_role("reporter", ["reports:read"]))
        .build()?;

    let created = keys.create(CreateKey {
        role_names: vec!["reporter".into()],
        ..CreateKey::named("nightly job")
    })?;
    println!(
        "created key {} (the cleartext is shown once and never stored)",
        created.key.id
    );

    let session = keys.exchange(created.cleartext.expose_secret(), &ExchangeOptions::default())?;
    println!("exchanged for a token expiring at {}", session.expiration);

    let token = keys.validate_session(&session.session_jwt)?;
    println!(
        "verified: key {} may read reports: {}",
        token.key_id(),
        token.validate_permissions(&["reports:read"])
    );

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
