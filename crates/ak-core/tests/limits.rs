//! Every documented limit, accepted exactly at its edge and rejected one past it, through the
//! manager; a rejected call changes nothing in the store.

use std::sync::Arc;

use ak_core::limits::*;
use ak_core::validate::RESERVED_CLAIMS;
use ak_core::{
    CreateKey, KeyManager, KeyStore, KeyTenant, ManageError, ManualClock, MemoryKeyStore, SearchQuery,
    SeededRandom, UpdateKey, ValidationError,
};
use serde_json::{Map, Value, json};

const NOW: i64 = 1_750_000_000;

fn manager() -> (KeyManager, Arc<MemoryKeyStore>) {
    let store = Arc::new(MemoryKeyStore::new());
    let manager = KeyManager::builder(store.clone())
        .clock(Arc::new(ManualClock::new(NOW)))
        .random(Arc::new(SeededRandom::new(1)))
        .build()
        .unwrap();
    (manager, store)
}

fn count(store: &MemoryKeyStore) -> usize {
    store
        .search(&SearchQuery {
            limit: MAX_PAGE_SIZE,
            ..SearchQuery::default()
        })
        .unwrap()
        .items
        .len()
}

/// Creates `at` (must succeed) and `past` (must fail with a validation error, storing nothing).
fn edge(at: CreateKey, past: CreateKey) -> ValidationError {
    let (manager, store) = manager();
    manager.create(at).expect("a value at the limit is accepted");
    let error = match manager.create(past) {
        Err(ManageError::Invalid(error)) => error,
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(count(&store), 1, "a rejected create stores nothing");
    error
}

fn named(name: &str) -> CreateKey {
    CreateKey::named(name)
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// A JSON object whose compact encoding is exactly `bytes` long (`{"x":"…"}`).
fn object_of(bytes: usize) -> Map<String, Value> {
    match json!({ "x": "v".repeat(bytes - 8) }) {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

#[test]
fn name_length_and_characters() {
    let error = edge(
        named(&"é".repeat(MAX_NAME_CHARS)),
        named(&"é".repeat(MAX_NAME_CHARS + 1)),
    );
    assert_eq!(
        error,
        ValidationError::TooLong {
            field: "name",
            max: MAX_NAME_CHARS,
            actual: MAX_NAME_CHARS + 1
        }
    );
    let (manager, _) = manager();
    assert!(matches!(
        manager.create(named("")),
        Err(ManageError::Invalid(ValidationError::Empty { field: "name" }))
    ));
    assert!(matches!(
        manager.create(named("line\nbreak")),
        Err(ManageError::Invalid(ValidationError::ControlCharacter { .. }))
    ));
}

#[test]
fn description_length() {
    let with = |n| CreateKey {
        description: Some("d".repeat(n)),
        ..named("k")
    };
    let error = edge(with(MAX_DESCRIPTION_CHARS), with(MAX_DESCRIPTION_CHARS + 1));
    assert!(matches!(
        error,
        ValidationError::TooLong {
            field: "description",
            ..
        }
    ));
}

#[test]
fn role_names_length_count_and_duplicates() {
    let with = |roles: Vec<String>| CreateKey {
        role_names: roles,
        ..named("k")
    };
    let error = edge(
        with(vec!["r".repeat(MAX_ID_CHARS)]),
        with(vec!["r".repeat(MAX_ID_CHARS + 1)]),
    );
    assert!(matches!(
        error,
        ValidationError::TooLong {
            field: "roleNames",
            ..
        }
    ));
    let error = edge(with(ids("r", MAX_ROLES)), with(ids("r", MAX_ROLES + 1)));
    assert!(matches!(
        error,
        ValidationError::TooMany {
            field: "roleNames",
            ..
        }
    ));
    let error = edge(with(ids("r", 2)), with(vec!["a".into(), "a".into()]));
    assert!(matches!(
        error,
        ValidationError::Duplicate {
            field: "roleNames",
            ..
        }
    ));
    let error = edge(with(vec!["a".into()]), with(vec![String::new()]));
    assert!(matches!(error, ValidationError::Empty { field: "roleNames" }));
}

#[test]
fn tenants_length_count_duplicates_and_exclusivity() {
    let with = |tenants: Vec<KeyTenant>| CreateKey {
        key_tenants: tenants,
        ..named("k")
    };
    let tenant = |id: String| KeyTenant::new(id, ["r"]);
    let error = edge(
        with(vec![tenant("t".repeat(MAX_ID_CHARS))]),
        with(vec![tenant("t".repeat(MAX_ID_CHARS + 1))]),
    );
    assert!(matches!(
        error,
        ValidationError::TooLong {
            field: "tenantId",
            ..
        }
    ));
    let error = edge(
        with(ids("t", MAX_TENANTS).into_iter().map(tenant).collect()),
        with(ids("t", MAX_TENANTS + 1).into_iter().map(tenant).collect()),
    );
    assert!(matches!(
        error,
        ValidationError::TooMany {
            field: "keyTenants",
            ..
        }
    ));
    let error = edge(
        with(vec![tenant("a".into())]),
        with(vec![tenant("a".into()), tenant("a".into())]),
    );
    assert!(matches!(
        error,
        ValidationError::Duplicate {
            field: "keyTenants",
            ..
        }
    ));
    let roles_per_tenant = |n| with(vec![KeyTenant::new("t", ids("r", n))]);
    let error = edge(roles_per_tenant(MAX_ROLES), roles_per_tenant(MAX_ROLES + 1));
    assert!(matches!(
        error,
        ValidationError::TooMany {
            field: "roleNames",
            ..
        }
    ));
    let both = CreateKey {
        role_names: vec!["r".into()],
        key_tenants: vec![tenant("t".into())],
        ..named("k")
    };
    assert_eq!(edge(named("k"), both), ValidationError::RolesAndTenants);
}

#[test]
fn expire_time_must_be_future_and_fit_int32() {
    let with = |t| CreateKey {
        expire_time: Some(t),
        ..named("k")
    };
    assert!(matches!(
        edge(with(NOW + 1), with(NOW)),
        ValidationError::BadExpireTime { .. }
    ));
    assert!(matches!(
        edge(with(MAX_EXPIRE_TIME), with(MAX_EXPIRE_TIME + 1)),
        ValidationError::BadExpireTime { .. }
    ));
}

#[test]
fn custom_claims_size_and_reserved_names() {
    let with = |claims| CreateKey {
        custom_claims: claims,
        ..named("k")
    };
    let error = edge(
        with(object_of(MAX_CUSTOM_CLAIMS_BYTES)),
        with(object_of(MAX_CUSTOM_CLAIMS_BYTES + 1)),
    );
    assert_eq!(
        error,
        ValidationError::TooLong {
            field: "customClaims",
            max: MAX_CUSTOM_CLAIMS_BYTES,
            actual: MAX_CUSTOM_CLAIMS_BYTES + 1
        }
    );
    for reserved in RESERVED_CLAIMS {
        let mut claims = Map::new();
        claims.insert((*reserved).to_owned(), json!(1));
        let error = edge(named("k"), with(claims));
        assert_eq!(
            error,
            ValidationError::ReservedClaim {
                name: (*reserved).to_owned()
            }
        );
    }
    let mut empty_name = Map::new();
    empty_name.insert(String::new(), json!(1));
    assert_eq!(
        edge(named("k"), with(empty_name)),
        ValidationError::EmptyClaimName
    );
}

#[test]
fn custom_attributes_size() {
    let with = |attributes| CreateKey {
        custom_attributes: attributes,
        ..named("k")
    };
    let error = edge(
        with(object_of(MAX_CUSTOM_ATTRIBUTES_BYTES)),
        with(object_of(MAX_CUSTOM_ATTRIBUTES_BYTES + 1)),
    );
    assert!(matches!(
        error,
        ValidationError::TooLong {
            field: "customAttributes",
            ..
        }
    ));
}

#[test]
fn permitted_ips_count_syntax_and_duplicates() {
    let with = |ips: Vec<String>| CreateKey {
        permitted_ips: ips,
        ..named("k")
    };
    let addresses = |n: usize| {
        (0..n)
            .map(|i| format!("10.1.{}.{}", i / 200, i % 200))
            .collect::<Vec<_>>()
    };
    let error = edge(
        with(addresses(MAX_PERMITTED_IPS)),
        with(addresses(MAX_PERMITTED_IPS + 1)),
    );
    assert!(matches!(
        error,
        ValidationError::TooMany {
            field: "permittedIps",
            ..
        }
    ));
    for bad in [
        "10.0.0.0/33",
        "::1/129",
        "10.0.0",
        "example.com",
        "10.0.0.1/",
        " 10.0.0.1",
        "",
    ] {
        let error = edge(with(vec!["10.0.0.1".into()]), with(vec![bad.into()]));
        assert_eq!(error, ValidationError::InvalidIp { value: bad.into() }, "{bad:?}");
    }
    let error = edge(with(vec!["::1".into()]), with(vec!["::1".into(), "::1".into()]));
    assert!(matches!(error, ValidationError::Duplicate { .. }));
}

#[test]
fn bound_user_and_creator_ids() {
    let user = |id: String| CreateKey {
        user_id: Some(id),
        ..named("k")
    };
    let error = edge(user("u".repeat(MAX_ID_CHARS)), user("u".repeat(MAX_ID_CHARS + 1)));
    assert!(matches!(error, ValidationError::TooLong { field: "userId", .. }));
    let creator = |id: String| CreateKey {
        created_by: Some(id),
        ..named("k")
    };
    let error = edge(
        creator("c".repeat(MAX_ID_CHARS)),
        creator("c".repeat(MAX_ID_CHARS + 1)),
    );
    assert!(matches!(
        error,
        ValidationError::TooLong {
            field: "createdBy",
            ..
        }
    ));
}

#[test]
fn batch_size_duplicates_and_emptiness() {
    let (manager, store) = manager();
    let mut created = Vec::new();
    for n in 0..MAX_BATCH_IDS {
        let key = ak_core::KeyRecord {
            version: 1,
            ..ak_testkit::fixtures::record(&format!("k{n}"), "k", 1)
        };
        store.insert(&key).unwrap();
        created.push(key.key.id);
    }
    manager
        .deactivate_batch(&created)
        .expect("a batch of exactly the limit is accepted");
    let mut too_many = created.clone();
    too_many.push("k0-extra".into());
    assert!(matches!(
        manager.activate_batch(&too_many),
        Err(ManageError::Invalid(ValidationError::TooMany {
            field: "ids",
            ..
        }))
    ));
    assert!(matches!(
        manager.activate_batch(&[]),
        Err(ManageError::Invalid(ValidationError::Empty { .. }))
    ));
    let duplicate = vec!["k1".to_owned(), "k1".to_owned()];
    assert!(matches!(
        manager.delete_batch(&duplicate),
        Err(ManageError::Invalid(ValidationError::Duplicate { .. }))
    ));
    assert_eq!(count(&store), MAX_BATCH_IDS, "rejected batches change nothing");
    assert!(
        store
            .get("k1")
            .unwrap()
            .is_some_and(|r| r.key.status == ak_core::KeyStatus::Inactive)
    );
}

#[test]
fn search_limits() {
    let (manager, _) = manager();
    for limit in [1, MAX_PAGE_SIZE] {
        manager
            .search(&SearchQuery {
                limit,
                ..SearchQuery::default()
            })
            .unwrap();
    }
    for limit in [0, MAX_PAGE_SIZE + 1] {
        let result = manager.search(&SearchQuery {
            limit,
            ..SearchQuery::default()
        });
        assert!(
            matches!(
                result,
                Err(ManageError::Invalid(ValidationError::BadLimit { .. }))
            ),
            "{limit}"
        );
    }
    let text = |n| SearchQuery {
        text: Some("t".repeat(n)),
        ..SearchQuery::default()
    };
    manager.search(&text(MAX_SEARCH_TEXT_CHARS)).unwrap();
    assert!(manager.search(&text(MAX_SEARCH_TEXT_CHARS + 1)).is_err());
    let tenants = |n| SearchQuery {
        tenant_ids: ids("t", n),
        ..SearchQuery::default()
    };
    manager.search(&tenants(MAX_TENANTS)).unwrap();
    assert!(manager.search(&tenants(MAX_TENANTS + 1)).is_err());
    let cursor = SearchQuery {
        cursor: Some(ak_core::Cursor::from_string("not-a-cursor")),
        ..SearchQuery::default()
    };
    assert!(matches!(
        manager.search(&cursor),
        Err(ManageError::Invalid(ValidationError::InvalidCursor))
    ));
}

#[test]
fn cursor_length_is_bounded() {
    let (manager, _) = manager();
    let with_cursor = |text: String| SearchQuery {
        cursor: Some(ak_core::Cursor::from_string(text)),
        sort: ak_core::SortField::Name,
        ..SearchQuery::default()
    };
    // At the limit the cursor is read (and this one is not ak's); one byte more is refused unread.
    assert!(matches!(
        manager.search(&with_cursor("A".repeat(MAX_CURSOR_BYTES))),
        Err(ManageError::Invalid(ValidationError::InvalidCursor))
    ));
    assert!(matches!(
        manager.search(&with_cursor("A".repeat(MAX_CURSOR_BYTES + 1))),
        Err(ManageError::Invalid(ValidationError::TooLong { field: "cursor", max: MAX_CURSOR_BYTES, actual }))
            if actual == MAX_CURSOR_BYTES + 1
    ));
    // The longest cursor ak can issue (longest name and id, 4-byte characters) fits, and works.
    let widest = "\u{1D11E}";
    let mut key = manager
        .create(CreateKey::named(widest.repeat(MAX_NAME_CHARS)))
        .unwrap()
        .key;
    key.id = widest.repeat(MAX_ID_CHARS);
    let query = with_cursor(String::new());
    let cursor = query.cursor_after(&key);
    assert!(
        cursor.as_str().len() <= MAX_CURSOR_BYTES,
        "{}",
        cursor.as_str().len()
    );
    manager
        .search(&SearchQuery {
            cursor: Some(cursor),
            ..query
        })
        .expect("ak's own longest cursor is accepted");
}

#[test]
fn cursor_from_another_sort_order_is_refused() {
    let (manager, _) = manager();
    for n in 0..3 {
        manager.create(named(&format!("k{n}"))).unwrap();
    }
    let by_time = SearchQuery {
        limit: 1,
        ..SearchQuery::default()
    };
    let cursor = manager.search(&by_time).unwrap().next_cursor.expect("more pages");
    let by_name = SearchQuery {
        sort: ak_core::SortField::Name,
        cursor: Some(cursor.clone()),
        ..by_time.clone()
    };
    assert!(matches!(
        manager.search(&by_name),
        Err(ManageError::Invalid(ValidationError::InvalidCursor))
    ));
    let descending = SearchQuery {
        descending: true,
        cursor: Some(cursor),
        ..by_time
    };
    assert!(matches!(
        manager.search(&descending),
        Err(ManageError::Invalid(ValidationError::InvalidCursor))
    ));
}

#[test]
fn rotation_grace_limit() {
    let (manager, _) = manager();
    let key = manager.create(named("k")).unwrap().key;
    manager.rotate(&key.id, MAX_ROTATION_GRACE_SECS).unwrap();
    assert!(matches!(
        manager.rotate(&key.id, MAX_ROTATION_GRACE_SECS + 1),
        Err(ManageError::Invalid(ValidationError::GraceTooLong { .. }))
    ));
}

#[test]
fn update_validates_before_writing() {
    let (manager, store) = manager();
    let key = manager
        .create(CreateKey {
            description: Some("keep".into()),
            ..named("k")
        })
        .unwrap()
        .key;
    let bad_updates = [
        UpdateKey::new(&key.id, ""),
        UpdateKey {
            description: Some("d".repeat(MAX_DESCRIPTION_CHARS + 1)),
            ..UpdateKey::new(&key.id, "n")
        },
        UpdateKey {
            permitted_ips: Some(vec!["nope".into()]),
            ..UpdateKey::new(&key.id, "n")
        },
        UpdateKey {
            custom_claims: Some(object_of(MAX_CUSTOM_CLAIMS_BYTES + 1)),
            ..UpdateKey::new(&key.id, "n")
        },
        UpdateKey {
            role_names: Some(ids("r", MAX_ROLES + 1)),
            ..UpdateKey::new(&key.id, "n")
        },
    ];
    for update in bad_updates {
        assert!(matches!(manager.update(update), Err(ManageError::Invalid(_))));
    }
    assert_eq!(store.get(&key.id).unwrap().unwrap().key, key);
    assert!(matches!(
        manager.update(UpdateKey::new("missing", "n")),
        Err(ManageError::NotFound { .. })
    ));
}

#[test]
fn prefix_is_validated_when_building() {
    let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    assert!(
        KeyManager::builder(store.clone())
            .key_prefix("Bad_Prefix")
            .build()
            .is_err()
    );
    assert!(
        KeyManager::builder(store.clone())
            .key_prefix("a".repeat(MAX_PREFIX_CHARS + 1))
            .build()
            .is_err()
    );
    let manager = KeyManager::builder(store).key_prefix("acme7").build().unwrap();
    let created = manager.create(named("k")).unwrap();
    assert!(created.cleartext.expose_secret().starts_with("acme7_"));
    assert!(
        manager
            .authenticate(created.cleartext.expose_secret(), None)
            .is_ok()
    );
}

#[test]
fn a_builder_without_a_store_is_refused() {
    let missing = ak_core::KeyManagerBuilder::default().key_prefix("acme7").build();
    assert!(matches!(missing, Err(ak_core::ConfigError::MissingStore)));
    let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    let late = ak_core::KeyManagerBuilder::default()
        .key_prefix("acme7")
        .store(Arc::clone(&store))
        .build()
        .expect("a store given after other settings");
    let created = late.create(named("k")).unwrap();
    assert!(created.cleartext.expose_secret().starts_with("acme7_"));
    assert!(Arc::ptr_eq(late.store(), &store));
}

#[test]
fn oversized_presented_keys_are_invalid() {
    let (manager, _) = manager();
    let huge = "a".repeat(MAX_PRESENTED_KEY_BYTES + 1);
    assert!(matches!(
        manager.authenticate(&huge, None),
        Err(ak_core::AuthError::InvalidKey)
    ));
}
