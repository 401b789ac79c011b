//! `ak demo`: the main job end to end, narrated, in a temporary SQLite store.

use std::sync::Arc;

use ak::signing::MasterKey;
use ak::{AccessKeys, CreateKey, ExchangeError, ExchangeOptions, RoleCatalog, SqliteKeyStore};

use crate::error::CliError;
use crate::secret_io::SecretLine;

fn step(json: bool, text: &str) {
    if !json {
        println!("{text}");
    }
}

/// A step whose text holds a secret (the key's cleartext, the token), printed without copies.
fn secret_step(json: bool, capacity: usize, args: std::fmt::Arguments<'_>) -> Result<(), CliError> {
    if !json {
        SecretLine::format(capacity, args)?.write_to(std::io::stdout().lock())?;
    }
    Ok(())
}

pub(crate) fn run(json: bool) -> Result<(), CliError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ak.db");
    step(
        json,
        &format!(
            "ak demo: create a key, exchange it, verify the token, revoke it.\nStore: SQLite at {}\n",
            path.display()
        ),
    );
    // The signing keys live in the store, sealed under a master key created beside it.
    let store = Arc::new(SqliteKeyStore::open(&path)?);
    let master_key = MasterKey::load_or_create(&dir.path().join("ak.db.master-key"))?;
    let keys = AccessKeys::builder()
        .shared_store(Arc::clone(&store) as _)
        .signing_key_store(store, master_key)
        .issuer("demo-project")
        .role_catalog(RoleCatalog::new().with_project_role("reader", ["reports:read"]))
        .build()?;

    let request = CreateKey {
        description: Some("made by ak demo".into()),
        role_names: vec!["reader".into()],
        ..CreateKey::named("demo key")
    };
    let created = keys.create(request)?;
    let cleartext = created.cleartext.expose_secret();
    step(
        json,
        &format!("1. Created access key {} with role \"reader\".", created.key.id),
    );
    secret_step(
        json,
        cleartext.len() + 80,
        format_args!("   Its cleartext is shown once; only an argon2id hash is stored:\n   {cleartext}\n"),
    )?;

    let session = keys.exchange(cleartext, &ExchangeOptions::default())?;
    step(
        json,
        &format!(
            "2. Exchanged the key for an EdDSA session token ({} bytes), expiring at {}.",
            session.session_jwt.len(),
            crate::output::time(session.expiration)
        ),
    );
    secret_step(
        json,
        session.session_jwt.len() + 8,
        format_args!("   {}\n", session.session_jwt),
    )?;

    let token = keys.validate_session(&session.session_jwt)?;
    let claims = serde_json::to_string(token.claims()).unwrap_or_default();
    step(
        json,
        "3. Verified the token offline against the JWKS. Its claims:",
    );
    step(json, &format!("   {claims}"));
    if token.key_id() != created.key.id || !token.validate_permissions(&["reports:read"]) {
        return Err(CliError::Demo(
            "the verified token does not carry the key's id and permission".into(),
        ));
    }
    step(
        json,
        "   It names the key as `sub` and grants \"reports:read\".\n",
    );

    keys.deactivate(&created.key.id)?;
    step(json, "4. Deactivated the key.");
    let refused = match keys.exchange(cleartext, &ExchangeOptions::default()) {
        Err(ExchangeError::Auth(error)) => error.to_string(),
        Ok(_) => return Err(CliError::Demo("a deactivated key yielded a token".into())),
        Err(other) => return Err(other.into()),
    };
    step(json, &format!("5. Exchanging it again is refused: {refused}.\n"));
    step(
        json,
        "Demo complete: create, exchange, verify and revoke all behaved as they should.",
    );
    if json {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Summary<'a> {
            key_id: &'a str,
            session_jwt: &'a str,
            claims: &'a ak::SessionClaims,
            exchange_after_deactivate: &'a str,
        }
        let summary = Summary {
            key_id: &created.key.id,
            session_jwt: &session.session_jwt,
            claims: token.claims(),
            exchange_after_deactivate: &refused,
        };
        let claims_len = serde_json::to_vec_pretty(token.claims()).map_or(0, |json| json.len());
        let capacity =
            2 * claims_len + session.session_jwt.len() + created.key.id.len() + refused.len() + 256;
        SecretLine::json(capacity, &summary)?.write_to(std::io::stdout().lock())?;
    }
    Ok(())
}
