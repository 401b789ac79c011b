//! `accesskey.expiring`: recorded once per key and expiry time when the key enters the window.

use std::sync::Arc;
use std::time::Duration;

use ak::crates::core::audit::{AuditConfig, AuditEvent, AuditEventStore, AuditQuery, AuditRecorder, actions};
use ak::expiring::{EXPIRY_ACTOR, ExpiryChecker, ExpiryWatcher, MAX_EXPIRY_WARNING};
use ak::{CreateKey, KeyManager, KeyStore, KeyTenant, ManualClock, MemoryKeyStore};

const DAY: i64 = 86_400;
const NOW: i64 = 1_800_000_000;

struct Setup {
    store: Arc<MemoryKeyStore>,
    clock: Arc<ManualClock>,
    recorder: Arc<AuditRecorder>,
    manager: KeyManager,
}

fn setup() -> Setup {
    let store = Arc::new(MemoryKeyStore::new());
    let clock = Arc::new(ManualClock::new(NOW));
    let recorder = Arc::new(AuditRecorder::with_config(
        Arc::clone(&store) as _,
        AuditConfig::default(),
        Arc::clone(&clock) as _,
    ));
    let manager = KeyManager::builder(Arc::clone(&store) as _)
        .clock(Arc::clone(&clock) as _)
        .build()
        .unwrap();
    Setup {
        store,
        clock,
        recorder,
        manager,
    }
}

impl Setup {
    fn checker(&self) -> ExpiryChecker {
        ExpiryChecker::new(
            Arc::clone(&self.store) as _,
            Arc::clone(&self.store) as _,
            Arc::clone(&self.recorder),
            Arc::clone(&self.clock) as _,
            Duration::from_secs(7 * 86_400),
        )
        .unwrap()
    }

    fn key(&self, name: &str, expires_in: Option<i64>) -> String {
        let mut request = CreateKey::named(name);
        request.expire_time = expires_in.map(|secs| self.clock_now() + secs);
        request.key_tenants = vec![KeyTenant::new("acme", Vec::<String>::new())];
        self.manager.create(request).unwrap().key.id
    }

    fn clock_now(&self) -> i64 {
        ak::Clock::now(self.clock.as_ref())
    }

    fn expiring_events(&self) -> Vec<AuditEvent> {
        self.recorder.flush();
        let query = AuditQuery {
            actions: vec![actions::ACCESS_KEY_EXPIRING.into()],
            ..AuditQuery::default()
        };
        self.store.search_audit_events(&query).unwrap().items
    }
}

#[test]
fn once_per_key_and_expiry_even_across_restarts() {
    let setup = setup();
    let soon = setup.key("soon", Some(3 * DAY));
    let edge = setup.key("edge", Some(7 * DAY));
    let later = setup.key("later", Some(10 * DAY));
    setup.key("never", None);
    let inactive = setup.key("inactive", Some(DAY));
    setup.manager.deactivate(&inactive).unwrap();
    let expired = setup.key("expired", Some(60));
    setup.clock.advance(120);
    let _ = expired;

    let checker = setup.checker();
    assert_eq!(checker.check().unwrap(), 2);
    let events = setup.expiring_events();
    let mut warned: Vec<&str> = events.iter().map(|e| e.key_ids[0].as_str()).collect();
    warned.sort_unstable();
    let mut expected = vec![soon.as_str(), edge.as_str()];
    expected.sort_unstable();
    assert_eq!(warned, expected);
    let event = events.iter().find(|e| e.key_ids[0] == soon).unwrap();
    assert_eq!(event.actor, EXPIRY_ACTOR);
    assert_eq!(event.tenants, ["acme"]);
    let soon_expiry = setup.manager.load(&soon).unwrap().expire_time.unwrap();
    assert_eq!(event.data["expireTime"], soon_expiry);

    // Checking again, in this process or a new one (the trail says it was done), adds nothing.
    assert_eq!(checker.check().unwrap(), 0);
    assert_eq!(setup.checker().check().unwrap(), 0);
    assert_eq!(setup.expiring_events().len(), 2);

    // Time passes: `later` enters the window and is warned, once.
    setup.clock.advance(4 * DAY);
    assert_eq!(setup.checker().check().unwrap(), 1);
    // (Another process sees it once the recorder has written it.)
    setup.recorder.flush();
    assert_eq!(setup.checker().check().unwrap(), 0);
    assert!(setup.expiring_events().iter().any(|e| e.key_ids[0] == later));

    // A key whose expiry is moved (here in the store) gets a warning for its new expiry.
    let mut record = setup.store.get(&soon).unwrap().unwrap();
    assert!(soon_expiry < setup.clock_now(), "expired meanwhile");
    record.key.expire_time = Some(setup.clock_now() + 2 * DAY);
    setup.store.update(&record).unwrap();
    assert_eq!(setup.checker().check().unwrap(), 1);
    assert_eq!(
        setup
            .expiring_events()
            .iter()
            .filter(|e| e.key_ids[0] == soon)
            .count(),
        2
    );
    // Expired keys are never warned.
    assert!(setup.expiring_events().iter().all(|e| e.key_ids[0] != expired));
}

#[test]
fn the_window_is_bounded_and_the_watcher_checks_at_start() {
    let setup = setup();
    assert!(
        ExpiryChecker::new(
            Arc::clone(&setup.store) as _,
            Arc::clone(&setup.store) as _,
            Arc::clone(&setup.recorder),
            Arc::clone(&setup.clock) as _,
            MAX_EXPIRY_WARNING + Duration::from_secs(1),
        )
        .is_err()
    );
    let soon = setup.key("soon", Some(DAY));
    let mut watcher = ExpiryWatcher::start(setup.checker(), Duration::from_secs(3600)).unwrap();
    // The first check runs at start; stopping waits for it.
    watcher.stop();
    let events = setup.expiring_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].key_ids, [soon]);
}
