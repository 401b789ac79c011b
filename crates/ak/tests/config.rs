//! The builder refuses incomplete or out-of-range settings with a typed error.

use std::time::Duration;

use ak::{
    AccessKeys, ConfigError, KeySet, MAX_SESSION_TIMEOUT, MIN_SESSION_TIMEOUT, MemoryKeyStore, SigningKey,
};

fn complete() -> ak::AccessKeysBuilder {
    AccessKeys::builder()
        .store(MemoryKeyStore::new())
        .signing_keys(KeySet::new(SigningKey::from_seed(&[1; 32])))
        .issuer("p")
}

#[test]
fn session_timeout_is_bounded_to_three_minutes_through_four_weeks() {
    assert_eq!(MIN_SESSION_TIMEOUT, Duration::from_secs(180));
    assert_eq!(MAX_SESSION_TIMEOUT, Duration::from_secs(28 * 86_400));
    for accepted in [
        MIN_SESSION_TIMEOUT,
        MAX_SESSION_TIMEOUT,
        ak::DEFAULT_SESSION_TIMEOUT,
    ] {
        complete()
            .session_timeout(accepted)
            .build()
            .expect("within bounds");
    }
    let second = Duration::from_secs(1);
    for refused in [
        Duration::ZERO,
        MIN_SESSION_TIMEOUT - second,
        MAX_SESSION_TIMEOUT + second,
    ] {
        assert!(matches!(
            complete().session_timeout(refused).build(),
            Err(ConfigError::SessionTimeout(timeout)) if timeout == refused
        ));
    }
}

#[test]
fn store_signing_keys_and_issuer_are_required() {
    let keys = || KeySet::new(SigningKey::from_seed(&[1; 32]));
    let no_store = AccessKeys::builder().signing_keys(keys()).issuer("p").build();
    assert!(matches!(no_store, Err(ConfigError::MissingStore)));
    let no_keys = AccessKeys::builder()
        .store(MemoryKeyStore::new())
        .issuer("p")
        .build();
    assert!(matches!(no_keys, Err(ConfigError::MissingSigningKeys)));
    let no_issuer = AccessKeys::builder()
        .store(MemoryKeyStore::new())
        .signing_keys(keys())
        .build();
    assert!(matches!(no_issuer, Err(ConfigError::MissingIssuer)));
}

#[test]
fn invalid_manager_settings_surface_as_config_errors() {
    assert!(matches!(
        complete().key_prefix("Not Valid").build(),
        Err(ConfigError::Manager(_))
    ));
    let params = ak::HashParams {
        memory_kib: 1,
        iterations: 1,
        parallelism: 1,
    };
    assert!(matches!(
        complete().hash_params(params).build(),
        Err(ConfigError::Manager(_))
    ));
}

#[test]
fn audience_is_written_and_required() {
    let keys = complete().audience("api").build().unwrap();
    let created = keys.create(ak::CreateKey::named("k")).unwrap();
    let session = keys
        .exchange(created.cleartext.expose_secret(), &ak::ExchangeOptions::default())
        .unwrap();
    let token = keys.validate_session(&session.session_jwt).unwrap();
    assert_eq!(
        token.claims().aud,
        Some(ak::crates::token::Audience::Single("api".into()))
    );
    let without = complete().build().unwrap();
    let plain = without.create(ak::CreateKey::named("k")).unwrap();
    let plain_jwt = without
        .exchange(plain.cleartext.expose_secret(), &ak::ExchangeOptions::default())
        .unwrap();
    assert!(
        matches!(
            keys.validate_session(&plain_jwt.session_jwt),
            Err(ak::SessionError::Token(ak::VerifyError::WrongAudience))
        ),
        "a token without the configured audience is refused"
    );
}
