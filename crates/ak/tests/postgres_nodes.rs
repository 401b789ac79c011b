//! Many nodes on one PostgreSQL: two services (`AccessKeys`), each on its own `PgStore` handle
//! (its own connection pool, as two processes would have), on one database and schema.
//!
//! A key created on A exchanges on B; a deactivate, delete or rotate that returned on A is
//! refused by B's very next exchange and `validate_session_and_key`, with no sleep; a signing-key
//! rotation on A (immediate and staged) reaches B's JWKS within B's refresh interval, and B
//! verifies A's new tokens; a management key deleted on A stops authenticating on B.
//!
//! Each test runs in its own schema on `AK_TEST_POSTGRES_URL` (default the machine's server),
//! dropped afterwards; without a server the tests print "skipped: no PostgreSQL at ..." and pass,
//! unless `AK_REQUIRE_POSTGRES=1`.

use std::sync::Arc;
use std::time::Duration;

use ak::signing::{MasterKey, SigningKeyStatus};
use ak::{
    AccessKeys, AuthError, CreateKey, ExchangeError, ExchangeOptions, ManageError, ManagementKeys,
    ManualClock, PgConfig, PgStore, SessionError, SigningKey, VerifyError,
};
use ak_testkit::postgres::TempSchema;

const ISSUER: &str = "P2nodes";
/// Both nodes' signing-key refresh interval in these tests, in seconds.
const REFRESH_SECS: i64 = 5;

fn master() -> MasterKey {
    MasterKey::from_bytes([7; 32])
}

fn now() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}

/// A new handle on the schema: its own pool, as another process would open it.
fn store(schema: &TempSchema) -> Arc<PgStore> {
    let config = PgConfig::from_url(schema.url())
        .unwrap()
        .schema(schema.name())
        .pool_size(2);
    Arc::new(PgStore::open(&config).unwrap())
}

/// One node: a service on its own store handle, signing keys in the store.
fn node(schema: &TempSchema, clock: &ManualClock) -> AccessKeys {
    let store = store(schema);
    AccessKeys::builder()
        .shared_store(Arc::clone(&store) as _)
        .signing_key_store(store, master())
        .signing_key_refresh(Duration::from_secs(REFRESH_SECS.unsigned_abs()))
        .issuer(ISSUER)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

fn exchange(node: &AccessKeys, cleartext: &str) -> Result<String, ExchangeError> {
    node.exchange(cleartext, &ExchangeOptions::default())
        .map(|response| response.session_jwt)
}

fn refused(result: Result<String, ExchangeError>) -> AuthError {
    match result {
        Err(ExchangeError::Auth(error)) => error,
        other => panic!("expected a refused exchange, got {other:?}"),
    }
}

fn jwks_kids(node: &AccessKeys) -> Vec<String> {
    let mut kids: Vec<String> = node.jwks().keys.into_iter().filter_map(|key| key.kid).collect();
    kids.sort();
    kids
}

#[test]
fn a_key_created_on_one_node_exchanges_on_the_other_and_revocation_is_immediate() {
    let Some(schema) = TempSchema::new() else {
        return;
    };
    let clock = ManualClock::new(now());
    let a = node(&schema, &clock);
    let b = node(&schema, &clock);

    let created = a.create(CreateKey::named("ci")).unwrap();
    let id = created.key.id.clone();
    let cleartext = created.cleartext.expose_secret().to_owned();
    assert_eq!(b.load(&id).unwrap(), created.key, "B reads what A wrote");
    let from_b = exchange(&b, &cleartext).unwrap();
    let from_a = exchange(&a, &cleartext).unwrap();
    for token in [&from_a, &from_b] {
        assert_eq!(b.validate_session_and_key(token).unwrap().key_id(), id);
        assert_eq!(a.validate_session_and_key(token).unwrap().key_id(), id);
    }

    // Deactivate on A: B's very next exchange and key check refuse it; no sleep, no cache window.
    a.deactivate(&id).unwrap();
    assert!(matches!(refused(exchange(&b, &cleartext)), AuthError::Inactive));
    assert!(matches!(
        b.validate_session_and_key(&from_b),
        Err(SessionError::KeyRevoked(AuthError::Inactive))
    ));
    // The token itself still verifies offline until it expires: that is what the key check is for.
    assert!(b.validate_session(&from_b).is_ok());
    // Activated again on B, it works on A at once.
    b.activate(&id).unwrap();
    let token = exchange(&a, &cleartext).unwrap();
    assert!(b.validate_session_and_key(&token).is_ok());

    // A batch deactivate on A, likewise.
    let other = a.create(CreateKey::named("other")).unwrap();
    let other_secret = other.cleartext.expose_secret().to_owned();
    exchange(&b, &other_secret).unwrap();
    let both = [id.clone(), other.key.id];
    a.deactivate_batch(&both).unwrap();
    for secret in [&cleartext, &other_secret] {
        assert!(matches!(refused(exchange(&b, secret)), AuthError::Inactive));
    }
    a.activate_batch(&both).unwrap();
    exchange(&b, &cleartext).unwrap();

    // Rotate on A without grace: the old secret is refused on B at once, the new one works.
    let rotated = a.rotate(&id, Duration::ZERO).unwrap();
    let new_secret = rotated.cleartext.expose_secret().to_owned();
    assert!(matches!(refused(exchange(&b, &cleartext)), AuthError::InvalidKey));
    let token = exchange(&b, &new_secret).unwrap();
    assert!(a.validate_session_and_key(&token).is_ok());
    // Rotate on B with a grace period: A accepts the previous secret during it, not after.
    let graced = b.rotate(&id, Duration::from_secs(60)).unwrap();
    exchange(&a, &new_secret).unwrap();
    exchange(&a, graced.cleartext.expose_secret()).unwrap();
    clock.advance(61);
    assert!(matches!(
        refused(exchange(&a, &new_secret)),
        AuthError::InvalidKey
    ));
    let latest = graced.cleartext.expose_secret().to_owned();
    let token = exchange(&b, &latest).unwrap();

    // Delete on A: gone on B at once.
    a.delete(&id).unwrap();
    assert!(matches!(refused(exchange(&b, &latest)), AuthError::InvalidKey));
    assert!(matches!(
        b.validate_session_and_key(&token),
        Err(SessionError::KeyRevoked(AuthError::InvalidKey))
    ));
    assert!(matches!(b.load(&id), Err(ManageError::NotFound { .. })));
    // The other key is untouched.
    exchange(&b, &other_secret).unwrap();
}

#[test]
fn signing_key_rotations_on_one_node_reach_the_other_within_its_refresh_interval() {
    let Some(schema) = TempSchema::new() else {
        return;
    };
    let start = now();
    let clock = ManualClock::new(start);
    let a = node(&schema, &clock);
    let b = node(&schema, &clock);
    let first = a.signing_keys().active().kid().to_owned();
    assert_eq!(
        b.signing_keys().kids(),
        vec![first.clone()],
        "B loaded the set A created"
    );
    let created = a.create(CreateKey::named("ci")).unwrap();
    let cleartext = created.cleartext.expose_secret().to_owned();

    // Immediate rotation on A: A signs with the new key at once.
    let new_key = SigningKey::generate();
    let new_kid = new_key.kid().to_owned();
    a.rotate_signing_key(new_key).unwrap();
    let token = exchange(&a, &cleartext).unwrap();
    assert_eq!(a.validate_session(&token).unwrap().kid(), new_kid);
    // B's JWKS carries it after B's refresh interval...
    assert_eq!(jwks_kids(&b), vec![first.clone()], "B has not refreshed yet");
    clock.advance(REFRESH_SECS - 1);
    assert_eq!(jwks_kids(&b), vec![first.clone()]);
    clock.advance(1);
    let mut both = vec![first, new_kid.clone()];
    both.sort();
    assert_eq!(jwks_kids(&b), both);
    // ...and B verifies A's new tokens, and signs with the new key itself.
    assert_eq!(b.validate_session_and_key(&token).unwrap().kid(), new_kid);
    let from_b = exchange(&b, &cleartext).unwrap();
    assert_eq!(a.validate_session(&from_b).unwrap().kid(), new_kid);

    // A token with a kid B does not know yet makes B reload at once, without waiting for the
    // refresh: rotate on A again and verify on B before B's interval has passed.
    let newer = SigningKey::generate();
    let newer_kid = newer.kid().to_owned();
    a.rotate_signing_key(newer).unwrap();
    let token = exchange(&a, &cleartext).unwrap();
    assert_eq!(b.validate_session(&token).unwrap().kid(), newer_kid);

    // Staged rotation on A: published at once on A, in B's JWKS within its refresh interval,
    // signing on both nodes only from the activation time.
    let staged = a
        .shared_signing_keys()
        .unwrap()
        .rotate(Duration::from_secs(60))
        .unwrap();
    assert_eq!(staged.status, SigningKeyStatus::Pending);
    a.reload_signing_keys().unwrap();
    assert!(jwks_kids(&a).contains(&staged.kid));
    clock.advance(REFRESH_SECS);
    assert!(jwks_kids(&b).contains(&staged.kid), "B publishes the staged key");
    let before = exchange(&b, &cleartext).unwrap();
    assert_eq!(a.validate_session(&before).unwrap().kid(), newer_kid);
    clock.set(start + REFRESH_SECS + 60);
    let after_a = exchange(&a, &cleartext).unwrap();
    let after_b = exchange(&b, &cleartext).unwrap();
    for token in [&after_a, &after_b] {
        assert_eq!(a.validate_session(token).unwrap().kid(), staged.kid);
        assert_eq!(b.validate_session_and_key(token).unwrap().kid(), staged.kid);
    }

    // Retire the first key on A: B refuses its tokens after its next refresh.
    let old = a.validate_session(&before).unwrap();
    assert_eq!(old.kid(), newer_kid);
    a.retire_signing_key(&newer_kid).unwrap();
    assert!(b.validate_session(&before).is_ok(), "B has not refreshed yet");
    clock.advance(REFRESH_SECS);
    assert!(matches!(
        b.validate_session(&before),
        Err(SessionError::Token(VerifyError::UnknownKeyId))
    ));
    assert!(!jwks_kids(&b).contains(&newer_kid));
}

#[test]
fn a_management_key_deleted_on_one_node_stops_authenticating_on_the_other() {
    let Some(schema) = TempSchema::new() else {
        return;
    };
    let a = ManagementKeys::new(store(&schema)).unwrap();
    let b = ManagementKeys::new(store(&schema)).unwrap();
    let created = a.create("admin", false, "").unwrap();
    let secret = created.cleartext.expose_secret().to_owned();
    assert_eq!(b.authenticate(&secret).unwrap().id, created.key.id);
    assert_eq!(b.list().unwrap().len(), 1);
    a.delete(&created.key.id).unwrap();
    assert!(matches!(b.authenticate(&secret), Err(AuthError::InvalidKey)));
    assert!(b.list().unwrap().is_empty());
}
