//! The key manager's lifecycle rules, run on top of each store.

use std::net::IpAddr;
use std::sync::Arc;

use ak_core::limits::MAX_JSON_DEPTH;
use ak_core::{
    AuthError, CreateKey, KeyManager, KeyStatus, KeyStore, ManageError, ManualClock, SearchQuery,
    SeededRandom, UpdateKey, ValidationError,
};
use serde_json::json;

use crate::StoreFactory;
use crate::fixtures::{nested, object};

/// The fixed start time of every lifecycle case.
pub const START: i64 = 1_750_000_000;

/// A manager over `store` with a manual clock at [`START`] and seeded randomness.
pub fn manager(store: Arc<dyn KeyStore>) -> (KeyManager, ManualClock) {
    let clock = ManualClock::new(START);
    let manager = KeyManager::builder(store)
        .clock(Arc::new(clock.clone()))
        .random(Arc::new(SeededRandom::new(0x5eed)))
        .build()
        .expect("default settings are valid");
    (manager, clock)
}

fn ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// Create → authenticate; deactivate → refused; activate → accepted again.
pub fn create_authenticate_deactivate_activate(factory: &dyn StoreFactory) {
    let (manager, _) = manager(factory.open());
    let created = manager.create(CreateKey::named("svc")).unwrap();
    let presented = created.cleartext.expose_secret();
    assert_eq!(created.key.status, KeyStatus::Active);
    assert_eq!(created.key.created_time, START);
    assert_eq!(
        manager.authenticate(presented, None).unwrap().key.id,
        created.key.id
    );
    // Warm (cached) path gives the same answer.
    assert_eq!(manager.authenticate(presented, None).unwrap().key, created.key);
    manager.deactivate(&created.key.id).unwrap();
    assert!(matches!(
        manager.authenticate(presented, None),
        Err(AuthError::Inactive)
    ));
    manager.activate(&created.key.id).unwrap();
    assert!(manager.authenticate(presented, None).is_ok());
    // Another key's secret under this id fails the same way as garbage.
    let other = manager.create(CreateKey::named("other")).unwrap();
    let forged = format!("{}{}", &presented[..30], &other.cleartext.expose_secret()[30..]);
    assert!(matches!(
        manager.authenticate(&forged, None),
        Err(AuthError::InvalidKey)
    ));
    assert!(matches!(
        manager.authenticate("garbage", None),
        Err(AuthError::InvalidKey)
    ));
}

/// A deleted key never authenticates again, and is gone from load and search.
pub fn deleted_keys_never_authenticate(factory: &dyn StoreFactory) {
    let (manager, _) = manager(factory.open());
    let created = manager.create(CreateKey::named("doomed")).unwrap();
    manager
        .authenticate(created.cleartext.expose_secret(), None)
        .unwrap();
    manager.delete(&created.key.id).unwrap();
    assert!(matches!(
        manager.authenticate(created.cleartext.expose_secret(), None),
        Err(AuthError::InvalidKey)
    ));
    assert!(matches!(
        manager.load(&created.key.id),
        Err(ManageError::NotFound { .. })
    ));
    assert!(matches!(
        manager.delete(&created.key.id),
        Err(ManageError::NotFound { .. })
    ));
}

/// A key stops authenticating at its expiry time.
pub fn expired_keys_never_authenticate(factory: &dyn StoreFactory) {
    let (manager, clock) = manager(factory.open());
    let request = CreateKey {
        expire_time: Some(START + 60),
        ..CreateKey::named("short")
    };
    let created = manager.create(request).unwrap();
    clock.advance(59);
    assert!(
        manager
            .authenticate(created.cleartext.expose_secret(), None)
            .is_ok()
    );
    clock.advance(1);
    assert!(matches!(
        manager.authenticate(created.cleartext.expose_secret(), None),
        Err(AuthError::Expired)
    ));
}

/// Rotation: without grace the old secret dies at once; with grace it lives until the grace ends.
pub fn rotation_without_and_with_grace(factory: &dyn StoreFactory) {
    let (manager, clock) = manager(factory.open());
    let created = manager.create(CreateKey::named("rotating")).unwrap();
    let old = created.cleartext;
    manager.authenticate(old.expose_secret(), None).unwrap();
    let rotated = manager.rotate(&created.key.id, 0).unwrap();
    assert_eq!(rotated.key.id, created.key.id);
    assert_ne!(rotated.cleartext.expose_secret(), old.expose_secret());
    assert!(matches!(
        manager.authenticate(old.expose_secret(), None),
        Err(AuthError::InvalidKey)
    ));
    assert!(
        manager
            .authenticate(rotated.cleartext.expose_secret(), None)
            .is_ok()
    );

    let graced = manager.rotate(&created.key.id, 600).unwrap();
    let previous = rotated.cleartext;
    assert!(
        manager.authenticate(previous.expose_secret(), None).is_ok(),
        "inside the grace period"
    );
    assert!(
        manager
            .authenticate(graced.cleartext.expose_secret(), None)
            .is_ok()
    );
    clock.advance(600);
    assert!(matches!(
        manager.authenticate(previous.expose_secret(), None),
        Err(AuthError::InvalidKey)
    ));
    assert!(
        manager
            .authenticate(graced.cleartext.expose_secret(), None)
            .is_ok()
    );
    assert!(matches!(
        manager.rotate(&created.key.id, 7 * 24 * 3600 + 1),
        Err(ManageError::Invalid(_))
    ));
}

/// Only active, unexpired keys rotate.
pub fn rotation_requires_active_unexpired(factory: &dyn StoreFactory) {
    let (manager, clock) = manager(factory.open());
    let inactive = manager.create(CreateKey::named("inactive")).unwrap();
    manager.deactivate(&inactive.key.id).unwrap();
    assert!(matches!(
        manager.rotate(&inactive.key.id, 0),
        Err(ManageError::NotRotatable {
            reason: "inactive",
            ..
        })
    ));
    let expiring = manager
        .create(CreateKey {
            expire_time: Some(START + 10),
            ..CreateKey::named("e")
        })
        .unwrap();
    clock.advance(10);
    assert!(matches!(
        manager.rotate(&expiring.key.id, 0),
        Err(ManageError::NotRotatable {
            reason: "expired",
            ..
        })
    ));
    assert!(matches!(
        manager.rotate("unknown", 0),
        Err(ManageError::NotFound { .. })
    ));
}

/// A batch with an unknown id changes nothing; a valid batch changes every key.
pub fn batches_are_all_or_nothing(factory: &dyn StoreFactory) {
    let (manager, _) = manager(factory.open());
    let ids: Vec<String> = (0..5)
        .map(|n| manager.create(CreateKey::named(format!("k{n}"))).unwrap().key.id)
        .collect();
    let mut with_unknown = ids.clone();
    with_unknown.insert(2, "unknown-id".into());
    match manager.deactivate_batch(&with_unknown) {
        Err(ManageError::NotFound { ids }) => assert_eq!(ids, ["unknown-id"]),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(
        ids.iter()
            .all(|id| manager.load(id).unwrap().status == KeyStatus::Active)
    );
    assert!(matches!(
        manager.delete_batch(&with_unknown),
        Err(ManageError::NotFound { .. })
    ));
    assert!(ids.iter().all(|id| manager.load(id).is_ok()));
    manager.deactivate_batch(&ids).unwrap();
    assert!(
        ids.iter()
            .all(|id| manager.load(id).unwrap().status == KeyStatus::Inactive)
    );
    manager.activate_batch(&ids[..2]).unwrap();
    assert_eq!(manager.load(&ids[0]).unwrap().status, KeyStatus::Active);
    assert_eq!(manager.load(&ids[2]).unwrap().status, KeyStatus::Inactive);
    manager.delete_batch(&ids).unwrap();
    assert!(
        ids.iter()
            .all(|id| matches!(manager.load(id), Err(ManageError::NotFound { .. })))
    );
}

/// Update: absent fields are kept, present-but-empty ones cleared.
pub fn update_keeps_absent_and_clears_empty(factory: &dyn StoreFactory) {
    let (manager, _) = manager(factory.open());
    let request = CreateKey {
        description: Some("hey".into()),
        role_names: vec!["reader".into()],
        custom_claims: object(json!({"k1": "v1"})),
        custom_attributes: object(json!({"team": "a"})),
        permitted_ips: vec!["10.0.0.1".into()],
        ..CreateKey::named("AAA")
    };
    let created = manager.create(request).unwrap();
    let kept = manager.update(UpdateKey::new(&created.key.id, "ABA")).unwrap();
    assert_eq!(kept.name, "ABA");
    assert_eq!(kept.description, "hey");
    assert_eq!(kept.role_names, ["reader"]);
    assert_eq!(kept.custom_claims, object(json!({"k1": "v1"})));
    assert_eq!(kept.permitted_ips, ["10.0.0.1"]);
    let cleared = manager
        .update(UpdateKey {
            description: Some(String::new()),
            role_names: Some(Vec::new()),
            custom_claims: Some(serde_json::Map::new()),
            custom_attributes: Some(serde_json::Map::new()),
            permitted_ips: Some(Vec::new()),
            ..UpdateKey::new(&created.key.id, "ABA1")
        })
        .unwrap();
    assert_eq!(cleared.description, "");
    assert!(cleared.role_names.is_empty() && cleared.custom_claims.is_empty());
    assert!(cleared.custom_attributes.is_empty() && cleared.permitted_ips.is_empty());
    assert_eq!(manager.load(&created.key.id).unwrap(), cleared);
    // Roles and tenants stay exclusive after merging with the stored key.
    let tenants = manager
        .create(CreateKey {
            key_tenants: vec![ak_core::KeyTenant::new("t", ["r"])],
            ..CreateKey::named("t")
        })
        .unwrap();
    let both = UpdateKey {
        role_names: Some(vec!["r".into()]),
        ..UpdateKey::new(&tenants.key.id, "t")
    };
    assert!(matches!(manager.update(both), Err(ManageError::Invalid(_))));
    assert_eq!(
        manager.load(&tenants.key.id).unwrap(),
        tenants.key,
        "a rejected update changes nothing"
    );
}

/// Permitted IPs allow inside the range, deny outside it, and deny when no address is given.
pub fn permitted_ips_fail_closed(factory: &dyn StoreFactory) {
    let (manager, _) = manager(factory.open());
    let request = CreateKey {
        permitted_ips: vec!["10.0.0.0/8".into(), "2001:db8::1".into()],
        ..CreateKey::named("ip")
    };
    let created = manager.create(request).unwrap();
    let presented = created.cleartext.expose_secret();
    assert!(manager.authenticate(presented, ip("10.200.1.1")).is_ok());
    assert!(
        manager.authenticate(presented, ip("::ffff:10.0.0.1")).is_ok(),
        "IPv4-mapped IPv6"
    );
    assert!(manager.authenticate(presented, ip("2001:db8::1")).is_ok());
    assert!(matches!(
        manager.authenticate(presented, ip("11.0.0.1")),
        Err(AuthError::IpNotPermitted)
    ));
    assert!(matches!(
        manager.authenticate(presented, ip("2001:db8::2")),
        Err(AuthError::IpNotPermitted)
    ));
    assert!(matches!(
        manager.authenticate(presented, None),
        Err(AuthError::IpNotPermitted)
    ));
}

/// A deactivation and a deletion that returned are still in force after the store re-opens.
pub fn revocation_survives_reopen(factory: &dyn StoreFactory) {
    let (first_manager, _) = manager(factory.open());
    let revoked = first_manager.create(CreateKey::named("revoked")).unwrap();
    let deleted = first_manager.create(CreateKey::named("deleted")).unwrap();
    first_manager.deactivate(&revoked.key.id).unwrap();
    first_manager.delete(&deleted.key.id).unwrap();
    drop(first_manager);
    let (manager, _) = manager(factory.open());
    assert!(matches!(
        manager.authenticate(revoked.cleartext.expose_secret(), None),
        Err(AuthError::Inactive)
    ));
    assert!(matches!(
        manager.authenticate(deleted.cleartext.expose_secret(), None),
        Err(AuthError::InvalidKey)
    ));
}

/// Claims and attributes exactly [`MAX_JSON_DEPTH`] deep are stored and read back on this backend
/// (through load, search and a re-open); one level more is refused by create and update, which
/// then change nothing.
pub fn json_nesting_limit_at_and_past_its_edge(factory: &dyn StoreFactory) {
    let (keys, _) = manager(factory.open());
    let at_edge = CreateKey {
        custom_claims: nested(MAX_JSON_DEPTH),
        custom_attributes: nested(MAX_JSON_DEPTH),
        ..CreateKey::named("deep")
    };
    let created = keys
        .create(at_edge)
        .expect("claims at the depth limit are accepted");
    let too_deep = |field: &str, error: ManageError| match error {
        ManageError::Invalid(ValidationError::TooDeep { field: named, max }) => {
            assert_eq!((named, max), (field, MAX_JSON_DEPTH));
        }
        other => panic!("expected TooDeep for {field}, got {other:?}"),
    };
    let create = |claims, attributes| {
        keys.create(CreateKey {
            custom_claims: claims,
            custom_attributes: attributes,
            ..CreateKey::named("deeper")
        })
        .expect_err("one level past the limit")
    };
    too_deep("customClaims", create(nested(MAX_JSON_DEPTH + 1), nested(1)));
    too_deep("customAttributes", create(nested(1), nested(MAX_JSON_DEPTH + 1)));
    let update = |claims, attributes| {
        keys.update(UpdateKey {
            custom_claims: claims,
            custom_attributes: attributes,
            ..UpdateKey::new(created.key.id.clone(), "deep")
        })
        .expect_err("one level past the limit")
    };
    too_deep("customClaims", update(Some(nested(MAX_JSON_DEPTH + 1)), None));
    too_deep("customAttributes", update(None, Some(nested(MAX_JSON_DEPTH + 1))));
    drop(keys);

    let (keys, _) = manager(factory.open());
    let loaded = keys
        .load(&created.key.id)
        .expect("a key at the depth limit reads back");
    assert_eq!(loaded, created.key);
    let page = keys
        .search(&SearchQuery::default())
        .expect("an unfiltered search reads it");
    assert_eq!(page.items, [created.key]);
    assert!(page.skipped.is_empty());
}
