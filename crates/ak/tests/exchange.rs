//! End to end: create → exchange → verify, and every rule that stops a key from yielding a token,
//! against every enabled storage backend.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ak::{
    AccessKeys, AuthError, CreateKey, DirectoryError, DirectoryUser, ExchangeError, ExchangeOptions, KeySet,
    KeyStore, KeyTenant, ManageError, ManualClock, RoleCatalog, SeededRandom, SessionError, SigningKey,
    UpdateKey, UserDirectory, VerifyError,
};
use serde_json::{Map, Value, json};

const NOW: i64 = 1_760_000_000;
const ISSUER: &str = "P2projectid";

#[derive(Debug, Default)]
struct Users(Mutex<HashMap<String, DirectoryUser>>);

impl UserDirectory for Users {
    fn find_user(&self, user_id: &str) -> Result<Option<DirectoryUser>, DirectoryError> {
        Ok(self.0.lock().unwrap().get(user_id).cloned())
    }
}

struct Harness {
    keys: AccessKeys,
    clock: ManualClock,
    users: Arc<Users>,
    _dir: tempfile::TempDir,
}

fn harness(open: fn(&Path) -> Arc<dyn KeyStore>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(NOW);
    let users = Arc::new(Users::default());
    let catalog = RoleCatalog::new()
        .with_project_role("admin", ["keys:read", "keys:write"])
        .with_project_role("reader", ["keys:read"])
        .with_tenant_role("deployer", ["deploy"])
        .with_tenant_role("viewer", ["view"]);
    let keys = AccessKeys::builder()
        .shared_store(open(dir.path()))
        .signing_keys(KeySet::new(SigningKey::from_seed(&[7; 32])))
        .issuer(ISSUER)
        .session_timeout(Duration::from_secs(600))
        .role_catalog(catalog)
        .user_directory(users.clone())
        .clock(Arc::new(clock.clone()))
        .random(Arc::new(SeededRandom::new(99)))
        .build()
        .unwrap();
    Harness {
        keys,
        clock,
        users,
        _dir: dir,
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn exchange(h: &Harness, cleartext: &str) -> Result<ak::ExchangeResponse, ExchangeError> {
    h.keys.exchange(cleartext, &ExchangeOptions::default())
}

fn create_exchange_verify(h: Harness) {
    let request = CreateKey {
        role_names: vec!["admin".into()],
        ..CreateKey::named("svc")
    };
    let created = h.keys.create(request).unwrap();
    let response = exchange(&h, created.cleartext.expose_secret()).unwrap();
    assert_eq!(response.key_id, created.key.id);
    assert_eq!(response.expiration, NOW + 600);
    let token = h.keys.validate_session(&response.session_jwt).unwrap();
    let claims = token.claims();
    assert_eq!(
        (claims.iss.as_str(), claims.sub.as_str()),
        (ISSUER, created.key.id.as_str())
    );
    assert_eq!((claims.iat, claims.exp), (NOW, NOW + 600));
    assert_eq!(token.roles(), ["admin"]);
    assert_eq!(token.permissions(), ["keys:read", "keys:write"]);
    assert!(claims.tenants.is_none() && claims.dct.is_none() && claims.nsec.is_none());
    assert!(token.validate_permissions(&["keys:write"]));
    assert!(!token.validate_permissions(&["keys:delete"]));
    // Tokens verify offline from the JWKS alone.
    let verifier = ak::crates::token::Verifier::new(
        &h.keys.jwks(),
        ak::crates::token::VerificationOptions::new().with_issuer(ISSUER),
    )
    .unwrap();
    assert_eq!(
        verifier.verify(&response.session_jwt, NOW).unwrap().key_id(),
        created.key.id
    );
    assert!(
        !format!("{response:?}").contains(&response.session_jwt),
        "Debug hides the token"
    );
}

fn deactivate_then_activate(h: Harness) {
    let created = h.keys.create(CreateKey::named("k")).unwrap();
    let cleartext = created.cleartext.expose_secret();
    exchange(&h, cleartext).unwrap();
    h.keys.deactivate(&created.key.id).unwrap();
    assert!(matches!(
        exchange(&h, cleartext),
        Err(ExchangeError::Auth(AuthError::Inactive))
    ));
    h.keys.activate(&created.key.id).unwrap();
    exchange(&h, cleartext).unwrap();
}

fn deleted_key_never_exchanges(h: Harness) {
    let created = h.keys.create(CreateKey::named("k")).unwrap();
    exchange(&h, created.cleartext.expose_secret()).unwrap();
    h.keys.delete(&created.key.id).unwrap();
    assert!(matches!(
        exchange(&h, created.cleartext.expose_secret()),
        Err(ExchangeError::Auth(AuthError::InvalidKey))
    ));
}

fn expired_key_fails_and_exp_is_capped(h: Harness) {
    let request = CreateKey {
        expire_time: Some(NOW + 120),
        ..CreateKey::named("short")
    };
    let created = h.keys.create(request).unwrap();
    let response = exchange(&h, created.cleartext.expose_secret()).unwrap();
    assert_eq!(
        response.expiration,
        NOW + 120,
        "exp = min(now + timeout, key expiry)"
    );
    assert_eq!(
        h.keys
            .validate_session(&response.session_jwt)
            .unwrap()
            .claims()
            .exp,
        NOW + 120
    );
    h.clock.advance(120);
    assert!(matches!(
        exchange(&h, created.cleartext.expose_secret()),
        Err(ExchangeError::Auth(AuthError::Expired))
    ));
    // The token minted earlier expires with the key (plus the 5 s leeway).
    h.clock.advance(6);
    assert!(matches!(
        h.keys.validate_session(&response.session_jwt),
        Err(SessionError::Token(VerifyError::Expired))
    ));
}

fn rotation_with_and_without_grace(h: Harness) {
    let created = h.keys.create(CreateKey::named("k")).unwrap();
    let rotated = h.keys.rotate(&created.key.id, Duration::ZERO).unwrap();
    assert!(matches!(
        exchange(&h, created.cleartext.expose_secret()),
        Err(ExchangeError::Auth(AuthError::InvalidKey))
    ));
    exchange(&h, rotated.cleartext.expose_secret()).unwrap();
    let graced = h.keys.rotate(&created.key.id, Duration::from_secs(300)).unwrap();
    exchange(&h, rotated.cleartext.expose_secret()).unwrap();
    exchange(&h, graced.cleartext.expose_secret()).unwrap();
    h.clock.advance(300);
    assert!(exchange(&h, rotated.cleartext.expose_secret()).is_err());
    exchange(&h, graced.cleartext.expose_secret()).unwrap();
}

fn permitted_ips(h: Harness) {
    let request = CreateKey {
        permitted_ips: vec!["10.0.0.0/8".into(), "192.168.1.7".into()],
        ..CreateKey::named("k")
    };
    let created = h.keys.create(request).unwrap();
    let from = |ip: Option<&str>| {
        let options = ExchangeOptions {
            client_ip: ip.map(|ip| ip.parse().unwrap()),
            ..ExchangeOptions::default()
        };
        h.keys.exchange(created.cleartext.expose_secret(), &options)
    };
    from(Some("10.9.8.7")).unwrap();
    from(Some("192.168.1.7")).unwrap();
    for denied in [Some("11.0.0.1"), Some("192.168.1.8"), None] {
        assert!(
            matches!(from(denied), Err(ExchangeError::Auth(AuthError::IpNotPermitted))),
            "{denied:?}"
        );
    }
}

fn tenants_and_selected_tenant(h: Harness) {
    let tenants = vec![
        KeyTenant::new("acme", ["deployer"]),
        KeyTenant::new("globex", ["viewer"]),
    ];
    let created = h
        .keys
        .create(CreateKey {
            key_tenants: tenants,
            ..CreateKey::named("k")
        })
        .unwrap();
    let token = h
        .keys
        .validate_session(
            &exchange(&h, created.cleartext.expose_secret())
                .unwrap()
                .session_jwt,
        )
        .unwrap();
    let claims = token.claims();
    assert!(
        claims.roles.is_none() && claims.permissions.is_none(),
        "tenant keys carry no top-level roles"
    );
    let tenants = claims.tenants.as_ref().unwrap();
    assert_eq!(tenants["acme"].permissions, ["deploy"]);
    assert_eq!(tenants["globex"].roles, ["viewer"]);
    assert!(token.validate_tenant_permissions("acme", &["deploy"]));
    assert!(!token.validate_tenant_permissions("globex", &["deploy"]));
    let selected = ExchangeOptions {
        selected_tenant: Some("globex".into()),
        ..ExchangeOptions::default()
    };
    let response = h
        .keys
        .exchange(created.cleartext.expose_secret(), &selected)
        .unwrap();
    assert_eq!(
        h.keys
            .validate_session(&response.session_jwt)
            .unwrap()
            .claims()
            .dct
            .as_deref(),
        Some("globex")
    );
    let foreign = ExchangeOptions {
        selected_tenant: Some("initech".into()),
        ..ExchangeOptions::default()
    };
    assert!(matches!(
        h.keys.exchange(created.cleartext.expose_secret(), &foreign),
        Err(ExchangeError::TenantNotPermitted)
    ));
}

fn custom_claims_top_level_and_nsec(h: Harness) {
    let request = CreateKey {
        custom_claims: object(json!({"k1": "v1", "plan": {"tier": 2}})),
        ..CreateKey::named("k")
    };
    let created = h.keys.create(request).unwrap();
    let options = ExchangeOptions {
        custom_claims: object(json!({"nsec-k1": "nsec-v1"})),
        ..ExchangeOptions::default()
    };
    let response = h
        .keys
        .exchange(created.cleartext.expose_secret(), &options)
        .unwrap();
    let token = h.keys.validate_session(&response.session_jwt).unwrap();
    assert_eq!(token.custom_claim("k1"), Some(&json!("v1")));
    assert_eq!(token.custom_claim("plan"), Some(&json!({"tier": 2})));
    assert_eq!(token.nsec().unwrap()["nsec-k1"], json!("nsec-v1"));
    for reserved in ["sub", "roles", "nsec", "dct", "boundUserId"] {
        let request = CreateKey {
            custom_claims: object(json!({ reserved: 1 })),
            ..CreateKey::named("bad")
        };
        assert!(
            matches!(h.keys.create(request), Err(ManageError::Invalid(_))),
            "{reserved}"
        );
        let update = UpdateKey {
            custom_claims: Some(object(json!({ reserved: 1 }))),
            ..UpdateKey::new(&created.key.id, "k")
        };
        assert!(
            matches!(h.keys.update(update), Err(ManageError::Invalid(_))),
            "{reserved}"
        );
    }
    let huge = ExchangeOptions {
        custom_claims: object(json!({"x": "y".repeat(9000)})),
        ..ExchangeOptions::default()
    };
    assert!(matches!(
        h.keys.exchange(created.cleartext.expose_secret(), &huge),
        Err(ExchangeError::Invalid(_))
    ));
    // Exchange claims at the nesting limit reach the token intact; one level more is refused.
    let deepest = ExchangeOptions {
        custom_claims: ak_testkit::fixtures::nested(ak::limits::MAX_JSON_DEPTH),
        ..ExchangeOptions::default()
    };
    let response = h
        .keys
        .exchange(created.cleartext.expose_secret(), &deepest)
        .unwrap();
    let token = h.keys.validate_session(&response.session_jwt).unwrap();
    assert_eq!(token.nsec().unwrap(), &deepest.custom_claims);
    let deeper = ExchangeOptions {
        custom_claims: ak_testkit::fixtures::nested(ak::limits::MAX_JSON_DEPTH + 1),
        ..ExchangeOptions::default()
    };
    assert!(matches!(
        h.keys.exchange(created.cleartext.expose_secret(), &deeper),
        Err(ExchangeError::Invalid(ak::ValidationError::TooDeep { .. }))
    ));
}

fn bound_user_authorization(h: Harness) {
    let user = DirectoryUser {
        active: true,
        role_names: vec!["reader".into()],
        tenants: Vec::new(),
    };
    h.users.0.lock().unwrap().insert("u1".into(), user.clone());
    let request = CreateKey {
        user_id: Some("u1".into()),
        role_names: vec!["admin".into()],
        ..CreateKey::named("bound")
    };
    let created = h.keys.create(request).unwrap();
    let token = h
        .keys
        .validate_session(
            &exchange(&h, created.cleartext.expose_secret())
                .unwrap()
                .session_jwt,
        )
        .unwrap();
    assert_eq!(
        token.roles(),
        ["reader"],
        "the user's authorization replaces the key's"
    );
    assert_eq!(token.permissions(), ["keys:read"]);
    assert_eq!(token.custom_claim(ak::BOUND_USER_CLAIM), Some(&json!("u1")));
    h.users.0.lock().unwrap().insert(
        "u1".into(),
        DirectoryUser {
            active: false,
            ..user
        },
    );
    assert!(matches!(
        exchange(&h, created.cleartext.expose_secret()),
        Err(ExchangeError::Auth(AuthError::BoundUserInactive))
    ));
    h.users.0.lock().unwrap().remove("u1");
    assert!(exchange(&h, created.cleartext.expose_secret()).is_err());
}

fn revocation_aware_validation_follows_the_bound_user(h: Harness) {
    let user = DirectoryUser {
        active: true,
        role_names: vec!["reader".into()],
        tenants: Vec::new(),
    };
    h.users.0.lock().unwrap().insert("u2".into(), user.clone());
    let created = h
        .keys
        .create(CreateKey {
            user_id: Some("u2".into()),
            ..CreateKey::named("bound")
        })
        .unwrap();
    let jwt = exchange(&h, created.cleartext.expose_secret())
        .unwrap()
        .session_jwt;
    h.keys.validate_session_and_key(&jwt).unwrap();
    h.users.0.lock().unwrap().insert(
        "u2".into(),
        DirectoryUser {
            active: false,
            ..user
        },
    );
    assert!(matches!(
        h.keys.validate_session_and_key(&jwt),
        Err(SessionError::KeyRevoked(AuthError::BoundUserInactive))
    ));
}

fn revocation_aware_validation(h: Harness) {
    let created = h.keys.create(CreateKey::named("k")).unwrap();
    let jwt = exchange(&h, created.cleartext.expose_secret())
        .unwrap()
        .session_jwt;
    h.keys.validate_session_and_key(&jwt).unwrap();
    h.keys.deactivate(&created.key.id).unwrap();
    h.keys
        .validate_session(&jwt)
        .expect("offline validation cannot see revocation");
    assert!(matches!(
        h.keys.validate_session_and_key(&jwt),
        Err(SessionError::KeyRevoked(AuthError::Inactive))
    ));
    h.keys.delete(&created.key.id).unwrap();
    assert!(matches!(
        h.keys.validate_session_and_key(&jwt),
        Err(SessionError::KeyRevoked(AuthError::InvalidKey))
    ));
}

fn signing_key_rotation(h: Harness) {
    let created = h.keys.create(CreateKey::named("k")).unwrap();
    let old_jwt = exchange(&h, created.cleartext.expose_secret())
        .unwrap()
        .session_jwt;
    let old_kid = h.keys.signing_keys().active().kid().to_owned();
    h.keys
        .rotate_signing_key(SigningKey::from_seed(&[8; 32]))
        .unwrap();
    let new_jwt = exchange(&h, created.cleartext.expose_secret())
        .unwrap()
        .session_jwt;
    assert_eq!(h.keys.jwks().keys.len(), 2);
    assert_eq!(
        h.keys.validate_session(&new_jwt).unwrap().kid(),
        h.keys.signing_keys().active().kid()
    );
    h.keys
        .validate_session(&old_jwt)
        .expect("old tokens verify until their key is retired");
    h.keys.retire_signing_key(&old_kid).unwrap();
    assert!(matches!(
        h.keys.validate_session(&old_jwt),
        Err(SessionError::Token(VerifyError::UnknownKeyId))
    ));
    h.keys.validate_session(&new_jwt).unwrap();
    let active = h.keys.signing_keys().active().kid().to_owned();
    assert!(
        h.keys.retire_signing_key(&active).is_err(),
        "the active key cannot be retired"
    );
}

fn invalid_keys_fail_alike(h: Harness) {
    let created = h.keys.create(CreateKey::named("k")).unwrap();
    let cleartext = created.cleartext.expose_secret();
    let other = h.keys.create(CreateKey::named("other")).unwrap();
    let wrong_secret = format!("{}{}", &cleartext[..30], &other.cleartext.expose_secret()[30..]);
    h.keys.delete(&other.key.id).unwrap();
    for presented in [
        "",
        "garbage",
        "ak_x_y",
        &wrong_secret,
        other.cleartext.expose_secret(),
    ] {
        match exchange(&h, presented) {
            Err(error @ ExchangeError::Auth(AuthError::InvalidKey)) => {
                assert_eq!(error.to_string(), "invalid access key")
            }
            other => panic!("{presented:?}: {other:?}"),
        }
    }
}

/// Issue 12, finding 9: the docs say what the code does. A bound key's tokens carry
/// `boundUserId` without a user directory too, and then keep the key's own roles.
#[test]
fn bound_user_claim_without_a_directory() {
    let keys = AccessKeys::builder()
        .store(ak::MemoryKeyStore::new())
        .signing_keys(KeySet::new(SigningKey::from_seed(&[9; 32])))
        .issuer(ISSUER)
        .role_catalog(RoleCatalog::new().with_project_role("reader", ["keys:read"]))
        .build()
        .unwrap();
    let created = keys
        .create(CreateKey {
            user_id: Some("U2bound".into()),
            role_names: vec!["reader".into()],
            ..CreateKey::named("bound")
        })
        .unwrap();
    let response = keys
        .exchange(created.cleartext.expose_secret(), &ExchangeOptions::default())
        .unwrap();
    let token = keys.validate_session(&response.session_jwt).unwrap();
    assert_eq!(token.custom_claim(ak::BOUND_USER_CLAIM), Some(&json!("U2bound")));
    assert!(token.validate_permissions(&["keys:read"]));
    let unbound = keys.create(CreateKey::named("unbound")).unwrap();
    let response = keys
        .exchange(unbound.cleartext.expose_secret(), &ExchangeOptions::default())
        .unwrap();
    let token = keys.validate_session(&response.session_jwt).unwrap();
    assert_eq!(token.custom_claim(ak::BOUND_USER_CLAIM), None);
}

macro_rules! backend {
    ($module:ident, $open:expr) => {
        mod $module {
            use super::*;
            fn open(dir: &Path) -> Arc<dyn KeyStore> {
                $open(dir)
            }
            backend!(@tests create_exchange_verify, deactivate_then_activate, deleted_key_never_exchanges,
                expired_key_fails_and_exp_is_capped, rotation_with_and_without_grace, permitted_ips,
                tenants_and_selected_tenant, custom_claims_top_level_and_nsec, bound_user_authorization,
                revocation_aware_validation, revocation_aware_validation_follows_the_bound_user, signing_key_rotation, invalid_keys_fail_alike);
        }
    };
    (@tests $($case:ident),*) => {
        $( #[test] fn $case() { super::$case(harness(open)); } )*
    };
}

backend!(memory, |_: &Path| Arc::new(ak::MemoryKeyStore::new())
    as Arc<dyn KeyStore>);
#[cfg(feature = "sqlite")]
backend!(
    sqlite,
    |dir: &Path| Arc::new(ak::SqliteKeyStore::open(dir.join("ak.db")).unwrap()) as Arc<dyn KeyStore>
);
#[cfg(feature = "sled")]
backend!(
    sled,
    |dir: &Path| Arc::new(ak::SledKeyStore::open(dir.join("ak.sled")).unwrap()) as Arc<dyn KeyStore>
);
