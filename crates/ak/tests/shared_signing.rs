//! Two services on one SQLite file share their signing keys through the store: staged rotation,
//! the reload on an unknown `kid`, the refresh interval, retirement, a wrong master key, and no
//! key material in the database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ak::signing::{MasterKey, SigningKeyStatus, SigningKeysError};
use ak::{
    AccessKeys, ConfigError, CreateKey, ExchangeOptions, ManualClock, SessionError, SigningKeyStore,
    SqliteKeyStore, VerifyError,
};

const NOW: i64 = 1_760_000_000;

fn master() -> MasterKey {
    MasterKey::from_bytes([42; 32])
}

fn node(
    path: &Path,
    master: MasterKey,
    clock: &ManualClock,
    refresh: Duration,
) -> Result<AccessKeys, ConfigError> {
    let store = Arc::new(SqliteKeyStore::open(path).unwrap());
    AccessKeys::builder()
        .shared_store(Arc::clone(&store) as _)
        .signing_key_store(store, master)
        .signing_key_refresh(refresh)
        .issuer("P2project")
        .clock(Arc::new(clock.clone()))
        .build()
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("keys.db")
}

fn token_kid(node: &AccessKeys, cleartext: &str) -> (String, String) {
    let token = node
        .exchange(cleartext, &ExchangeOptions::default())
        .unwrap()
        .session_jwt;
    let kid = node.validate_session(&token).unwrap().kid().to_owned();
    (token, kid)
}

fn jwks_kids(node: &AccessKeys) -> Vec<String> {
    let mut kids: Vec<String> = node.jwks().keys.into_iter().filter_map(|k| k.kid).collect();
    kids.sort();
    kids
}

#[test]
fn a_staged_rotation_on_one_node_is_followed_by_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(NOW);
    let a = node(&db(&dir), master(), &clock, Duration::from_secs(30)).unwrap();
    // B never refreshes on its own within this test: only the unknown-kid reload can help it.
    let b = node(&db(&dir), master(), &clock, Duration::from_secs(3600)).unwrap();
    let c = node(&db(&dir), master(), &clock, Duration::from_secs(30)).unwrap();
    let first = a.signing_keys().active().kid().to_owned();
    assert_eq!(
        b.signing_keys().kids(),
        vec![first.clone()],
        "B loaded the set A created"
    );

    let created = a.create(CreateKey::named("ci")).unwrap();
    let cleartext = created.cleartext.expose_secret().to_owned();

    let staged = a
        .shared_signing_keys()
        .unwrap()
        .rotate(Duration::from_secs(600))
        .unwrap();
    assert_eq!(staged.status, SigningKeyStatus::Pending);
    a.reload_signing_keys().unwrap();
    // Published at once on A; C shows it after its refresh interval.
    assert_eq!(jwks_kids(&a).len(), 2);
    assert_eq!(jwks_kids(&c), vec![first.clone()]);
    clock.advance(29);
    assert_eq!(jwks_kids(&c), vec![first.clone()]);
    clock.advance(1);
    assert_eq!(jwks_kids(&c), jwks_kids(&a));

    // Signed with the old key until the delay has passed, with the new one from then on.
    clock.set(NOW + 599);
    let (old_token, kid) = token_kid(&a, &cleartext);
    assert_eq!(kid, first);
    clock.set(NOW + 600);
    let (new_token, kid) = token_kid(&a, &cleartext);
    assert_eq!(kid, staged.kid);
    // C switched signer on its own at the activation time, without a store write.
    assert_eq!(token_kid(&c, &cleartext).1, staged.kid);

    // B has not refreshed, yet verifies the new key's token: the unknown kid made it reload once.
    assert_eq!(b.signing_keys().kids(), vec![first.clone()]);
    assert_eq!(b.validate_session(&new_token).unwrap().kid(), staged.kid);
    assert_eq!(b.validate_session_and_key(&old_token).unwrap().kid(), first);

    // Retire the old key on A: refused while it signs (it no longer does), then C stops accepting
    // its tokens after its refresh.
    a.shared_signing_keys().unwrap().retire(&first).unwrap();
    assert!(c.validate_session(&old_token).is_ok(), "C has not refreshed yet");
    clock.advance(30);
    assert!(matches!(
        c.validate_session(&old_token),
        Err(SessionError::Token(VerifyError::UnknownKeyId))
    ));
    assert!(c.validate_session(&new_token).is_ok());
    assert_eq!(jwks_kids(&c), vec![staged.kid.clone()]);
    // The key signing now cannot be retired, from any node.
    assert!(matches!(
        c.retire_signing_key(&staged.kid),
        Err(SigningKeysError::RetireSigning(_))
    ));
}

#[test]
fn unknown_kid_reloads_are_rate_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(NOW);
    let a = node(&db(&dir), master(), &clock, Duration::from_secs(3600)).unwrap();
    let b = node(&db(&dir), master(), &clock, Duration::from_secs(3600)).unwrap();
    let created = a.create(CreateKey::named("ci")).unwrap();
    let cleartext = created.cleartext.expose_secret().to_owned();

    // B meets an unknown kid (a token from a foreign key set): it reloads once, finds nothing.
    let foreign_dir = tempfile::tempdir().unwrap();
    let foreign = node(&db(&foreign_dir), master(), &clock, Duration::from_secs(3600)).unwrap();
    let foreign_key = foreign.create(CreateKey::named("x")).unwrap();
    let (foreign_token, _) = token_kid(&foreign, foreign_key.cleartext.expose_secret());
    assert!(b.validate_session(&foreign_token).is_err());

    // Within the same second, a real new key is not reloaded for: the bound holds.
    a.rotate_signing_key(ak::SigningKey::generate()).unwrap();
    let (token, _) = token_kid(&a, &cleartext);
    assert!(matches!(
        b.validate_session(&token),
        Err(SessionError::Token(VerifyError::UnknownKeyId))
    ));
    // A second later it is.
    clock.advance(1);
    assert!(b.validate_session(&token).is_ok());
}

#[test]
fn a_wrong_master_key_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(NOW);
    let a = node(&db(&dir), master(), &clock, Duration::from_secs(30)).unwrap();
    let before = SqliteKeyStore::open(db(&dir))
        .unwrap()
        .load_signing_keys()
        .unwrap()
        .unwrap();
    let wrong = node(
        &db(&dir),
        MasterKey::from_bytes([43; 32]),
        &clock,
        Duration::from_secs(30),
    );
    assert!(matches!(
        wrong,
        Err(ConfigError::SigningKeys(SigningKeysError::WrongMasterKey))
    ));
    let after = SqliteKeyStore::open(db(&dir))
        .unwrap()
        .load_signing_keys()
        .unwrap()
        .unwrap();
    assert_eq!(before, after, "nothing was generated over the set");
    assert_eq!(a.signing_keys().kids().len(), 1);
}

#[test]
fn the_database_files_hold_no_key_material_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(NOW);
    let a = node(&db(&dir), master(), &clock, Duration::from_secs(30)).unwrap();
    a.shared_signing_keys()
        .unwrap()
        .rotate(Duration::from_secs(60))
        .unwrap();
    let set = a.shared_signing_keys().unwrap().export().unwrap();
    drop(a);
    let mut dump = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        dump.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(dump.len() > 4096, "the dump holds the database");
    assert_eq!(set.kids().len(), 2);
    for key in set.iter() {
        let jwk = key.to_private_jwk();
        let d = jwk.d.as_deref().unwrap().to_owned();
        for needle in [
            d.as_bytes(),
            &data_encoding::BASE64URL_NOPAD.decode(d.as_bytes()).unwrap(),
        ] {
            assert!(
                !dump.windows(needle.len()).any(|w| w == needle),
                "private key in clear"
            );
        }
    }
}
