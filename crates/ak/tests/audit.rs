//! The audit trail and last-used tracking of the facade: every management call and exchange
//! attempt is recorded, with the right actor, outcome and reason, and never a secret.

use std::sync::Arc;
use std::time::Duration;

use ak::audit::DEFAULT_ACTOR;
use ak::crates::core::audit::{AuditEvent, AuditQuery, Outcome, actions, reasons};
use ak::{
    AccessKeys, CreateKey, ExchangeOptions, KeySet, KeyStore, ManualClock, MemoryKeyStore, SearchQuery,
    SigningKey, UpdateKey,
};

const NOW: i64 = 1_900_000_000;

fn service(store: &Arc<MemoryKeyStore>, clock: &ManualClock) -> AccessKeys {
    AccessKeys::builder()
        .shared_store(store.clone())
        .audit_store(store.clone())
        .usage_store(store.clone())
        .signing_keys(KeySet::new(SigningKey::from_seed(&[7; 32])))
        .issuer("P1")
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

fn trail(keys: &AccessKeys) -> Vec<AuditEvent> {
    keys.flush_audit();
    let mut query = AuditQuery {
        limit: 1000,
        ..AuditQuery::default()
    };
    let mut all = Vec::new();
    loop {
        let page = keys.search_audit(&query).unwrap();
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return all,
        }
    }
}

fn client(ip: &str) -> ExchangeOptions {
    ExchangeOptions {
        client_ip: Some(ip.parse().unwrap()),
        ..ExchangeOptions::default()
    }
}

#[test]
fn a_full_lifecycle_is_recorded_and_no_event_holds_a_secret_hash_or_token() {
    let store = Arc::new(MemoryKeyStore::new());
    let clock = ManualClock::new(NOW);
    let keys = service(&store, &clock);
    let mut request = CreateKey::named("deploy bot");
    request.permitted_ips = vec!["10.0.0.0/8".into()];
    let created = keys.acting("cli:alice", None).create(request).unwrap();
    let id = created.key.id.clone();
    let first = created.cleartext.expose_secret().to_owned();
    let mut hashes = vec![store.get(&id).unwrap().unwrap().secret_hash];

    let token = keys.exchange(&first, &client("10.1.2.3")).unwrap().session_jwt;
    let denied = keys.exchange(&first, &client("192.0.2.1")).unwrap_err();
    assert!(matches!(
        denied,
        ak::ExchangeError::Auth(ak::AuthError::IpNotPermitted)
    ));
    // A damaged key (its checksum fails) and garbage: no id is recorded.
    let mut wrong = first.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    assert!(keys.exchange(&wrong, &client("10.1.2.3")).is_err());
    assert!(keys.exchange("not-a-key-at-all", &client("10.1.2.3")).is_err());

    clock.advance(5);
    keys.acting("M1", Some("10.9.9.9".parse().unwrap()))
        .update(UpdateKey {
            description: Some("renamed".into()),
            ..UpdateKey::new(&id, "deploy bot")
        })
        .unwrap();
    let rotated = keys.rotate(&id, Duration::from_secs(60)).unwrap();
    let second = rotated.cleartext.expose_secret().to_owned();
    hashes.push(store.get(&id).unwrap().unwrap().secret_hash);
    let second_token = keys.exchange(&second, &client("10.1.2.3")).unwrap().session_jwt;
    keys.deactivate(&id).unwrap();
    let inactive = keys.exchange(&second, &client("10.1.2.3")).unwrap_err();
    assert!(matches!(
        inactive,
        ak::ExchangeError::Auth(ak::AuthError::Inactive)
    ));
    keys.activate(&id).unwrap();
    assert!(keys.delete_batch(&[id.clone(), "missing".into()]).is_err());
    keys.delete(&id).unwrap();
    // A well-formed key of a deleted key: invalid, and its id is recorded.
    assert!(keys.exchange(&second, &client("10.1.2.3")).is_err());

    let events = trail(&keys);
    let summary: Vec<(&str, Outcome, Option<&str>)> = events
        .iter()
        .rev()
        .map(|event| (event.action.as_str(), event.outcome, event.reason.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (actions::ACCESS_KEY_CREATE, Outcome::Success, None),
            (actions::ACCESS_KEY_EXCHANGE, Outcome::Success, None),
            (
                actions::ACCESS_KEY_EXCHANGE_FAILED,
                Outcome::Failure,
                Some(reasons::IP_DENIED)
            ),
            (
                actions::ACCESS_KEY_EXCHANGE_FAILED,
                Outcome::Failure,
                Some(reasons::INVALID)
            ),
            (
                actions::ACCESS_KEY_EXCHANGE_FAILED,
                Outcome::Failure,
                Some(reasons::INVALID)
            ),
            (actions::ACCESS_KEY_UPDATE, Outcome::Success, None),
            (actions::ACCESS_KEY_ROTATE, Outcome::Success, None),
            (actions::ACCESS_KEY_EXCHANGE, Outcome::Success, None),
            (actions::ACCESS_KEY_DEACTIVATE, Outcome::Success, None),
            (
                actions::ACCESS_KEY_EXCHANGE_FAILED,
                Outcome::Failure,
                Some(reasons::INACTIVE)
            ),
            (actions::ACCESS_KEY_ACTIVATE, Outcome::Success, None),
            (actions::ACCESS_KEY_DELETE, Outcome::Failure, Some("not-found")),
            (actions::ACCESS_KEY_DELETE, Outcome::Success, None),
            (
                actions::ACCESS_KEY_EXCHANGE_FAILED,
                Outcome::Failure,
                Some(reasons::INVALID)
            ),
        ]
    );
    let oldest_first: Vec<&AuditEvent> = events.iter().rev().collect();
    assert_eq!(oldest_first[0].actor, "cli:alice");
    assert_eq!(oldest_first[0].key_ids, std::slice::from_ref(&id));
    assert_eq!(oldest_first[1].actor, id);
    assert_eq!(oldest_first[1].client_address.as_deref(), Some("10.1.2.3"));
    assert!(oldest_first[3].key_ids.is_empty(), "a damaged key names no id");
    assert!(oldest_first[4].key_ids.is_empty(), "garbage names no id");
    assert_eq!(oldest_first[13].key_ids, [id], "a parsed key names its id");
    assert_eq!(oldest_first[5].actor, "M1");
    assert_eq!(oldest_first[5].client_address.as_deref(), Some("10.9.9.9"));
    assert_eq!(oldest_first[6].actor, DEFAULT_ACTOR);
    assert!(oldest_first[5].occurred >= oldest_first[4].occurred + 5000);

    // No secret, hash or token anywhere in any event.
    let secret_of = |cleartext: &str| cleartext.rsplit('_').next().unwrap().to_owned();
    let forbidden = [
        first.clone(),
        secret_of(&first),
        second.clone(),
        secret_of(&second),
        token,
        second_token,
        hashes[0].clone(),
        hashes[1].clone(),
        wrong.clone(),
        secret_of(&wrong),
    ];
    for event in &events {
        let json = serde_json::to_string(event).unwrap();
        let debug = format!("{event:?}");
        for secret in &forbidden {
            assert!(!json.contains(secret.as_str()), "{json} holds a secret");
            assert!(!debug.contains(secret.as_str()), "{debug} holds a secret");
        }
        // Hash fragments: the salt and digest parts of each PHC string.
        for hash in &hashes {
            for part in hash.split('$').filter(|part| part.len() > 12) {
                assert!(!json.contains(part), "{json} holds a hash part");
            }
        }
    }
    assert_eq!(keys.audit_events_dropped(), 0);
}

#[test]
fn exchanges_record_last_use_coalesced_and_search_finds_stale_and_expiring_keys() {
    let store = Arc::new(MemoryKeyStore::new());
    let clock = ManualClock::new(NOW);
    let keys = service(&store, &clock);
    let used = keys.create(CreateKey::named("used")).unwrap();
    let mut expiring = CreateKey::named("expiring");
    expiring.expire_time = Some(NOW + 3 * 24 * 3600);
    let idle = keys.create(expiring).unwrap();
    assert_eq!(keys.load(&used.key.id).unwrap().last_used_time, None);

    for _ in 0..50 {
        keys.exchange(used.cleartext.expose_secret(), &client("10.0.0.5"))
            .unwrap();
    }
    keys.flush_audit();
    let loaded = keys.load(&used.key.id).unwrap();
    assert_eq!(loaded.last_used_time, Some(NOW));
    assert_eq!(loaded.last_used_ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(keys.load(&idle.key.id).unwrap().last_used_time, None);

    let stale = SearchQuery {
        not_used_since: Some(NOW - 90 * 24 * 3600),
        ..SearchQuery::default()
    };
    let ids: Vec<String> = keys
        .search(&stale)
        .unwrap()
        .items
        .into_iter()
        .map(|key| key.id)
        .collect();
    assert_eq!(ids, std::slice::from_ref(&idle.key.id));
    let soon = SearchQuery {
        expires_before: Some(NOW + 7 * 24 * 3600),
        ..SearchQuery::default()
    };
    let ids: Vec<String> = keys
        .search(&soon)
        .unwrap()
        .items
        .into_iter()
        .map(|key| key.id)
        .collect();
    assert_eq!(ids, [idle.key.id]);

    // Key id filter over the trail: the used key's 50 exchanges and its creation.
    let query = AuditQuery {
        key_ids: vec![used.key.id],
        limit: 1000,
        ..AuditQuery::default()
    };
    assert_eq!(keys.search_audit(&query).unwrap().items.len(), 51);
}

#[test]
fn application_events_are_checked_and_recorded() {
    let store = Arc::new(MemoryKeyStore::new());
    let keys = service(&store, &ManualClock::new(NOW));
    let event = AuditEvent::new("app.deploy", "deployer", NOW * 1000).with_data("env", "prod");
    keys.record_application_event(event.clone()).unwrap();
    let reserved = AuditEvent::new(actions::ACCESS_KEY_CREATE, "x", NOW * 1000);
    assert!(keys.record_application_event(reserved).is_err());
    let events = trail(&keys);
    assert_eq!(events, vec![event]);
}
