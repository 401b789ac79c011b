//! Webhook delivery against local receivers on 127.0.0.1: the signature verifies (computed here,
//! independently), a 500 is retried, failures land in the audit trail without any secret, and a
//! receiver that never answers does not hold up exchanges or the audit writer.
//!
//! Nothing here measures time: every wait is for an event (a request arriving, the dispatcher
//! going idle), with a generous bound only so that a broken build fails instead of hanging.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ak::crates::core::audit::{AuditConfig, AuditEvent, AuditEventStore, AuditQuery, AuditRecorder, actions};
use ak::signing::MasterKey;
use ak::webhook::{DeliveryConfig, WebhookDispatcher, Webhooks};
use ak::{AccessKeys, Clock, CreateKey, ExchangeOptions, KeySet, MemoryKeyStore, SigningKey, SystemClock};
use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Longest wait for something that should happen soon (only a broken build waits this long).
const PATIENCE: Duration = Duration::from_secs(60);

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// What the receiver answers a request with.
#[derive(Clone)]
enum Answer {
    Status(u16),
    /// Hold the request unanswered until the gate opens, then answer 200.
    Block(Arc<Gate>),
}

/// A gate a blocked request waits on.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn is_open(&self) -> bool {
        *self.open.lock().unwrap()
    }
}

/// A local HTTP/1.1 receiver: answers the n-th request with `answers[n]` (the last one again
/// after that) and sends every request to the returned channel.
fn receiver(answers: Vec<Answer>) -> (String, Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook/path-token", listener.local_addr().unwrap());
    let (sender, seen) = channel();
    let answers = Arc::new(answers);
    let count = Arc::new(Mutex::new(0usize));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let answers = Arc::clone(&answers);
            let count = Arc::clone(&count);
            let sender: Sender<Seen> = sender.clone();
            std::thread::spawn(move || serve(stream, &answers, &count, &sender));
        }
    });
    (url, seen)
}

fn serve(stream: TcpStream, answers: &[Answer], count: &Mutex<usize>, sender: &Sender<Seen>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
        let length: usize = headers.get("content-length").map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let answer = {
            let mut count = count.lock().unwrap();
            let answer = answers[(*count).min(answers.len() - 1)].clone();
            *count += 1;
            answer
        };
        let _ = sender.send(Seen { headers, body });
        let status = match answer {
            Answer::Status(status) => status,
            Answer::Block(gate) => {
                gate.wait();
                200
            }
        };
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// A URL nothing listens on: a port bound, then released.
fn unreachable_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/gone", listener.local_addr().unwrap());
    drop(listener);
    url
}

struct Setup {
    store: Arc<MemoryKeyStore>,
    webhooks: Webhooks,
    dispatcher: WebhookDispatcher,
    recorder: Arc<AuditRecorder>,
}

fn setup(delivery: DeliveryConfig) -> Setup {
    let store = Arc::new(MemoryKeyStore::new());
    let webhooks = Webhooks::new(Arc::clone(&store) as _, MasterKey::generate().unwrap());
    let dispatcher = WebhookDispatcher::start(webhooks.clone(), delivery).unwrap();
    let audit = AuditConfig {
        flush_interval: Duration::from_millis(20),
        ..AuditConfig::default()
    };
    let recorder = Arc::new(AuditRecorder::with_config(
        dispatcher.audit_store(Arc::clone(&store) as _),
        audit,
        Arc::new(SystemClock),
    ));
    dispatcher.record_failures_to(&recorder);
    let webhooks = webhooks.with_recorder(Arc::clone(&recorder));
    Setup {
        store,
        webhooks,
        dispatcher,
        recorder,
    }
}

fn fast_retries(attempts: u32) -> DeliveryConfig {
    DeliveryConfig {
        attempts,
        retry_delay: Duration::from_millis(10),
        ..DeliveryConfig::default()
    }
}

fn event(action: &str, key: &str) -> AuditEvent {
    AuditEvent::new(action, "cli:alice", SystemClock.now_millis()).with_keys([key])
}

fn all_events(store: &MemoryKeyStore) -> Vec<AuditEvent> {
    let query = AuditQuery {
        limit: 1000,
        ..AuditQuery::default()
    };
    store.search_audit_events(&query).unwrap().items
}

fn expected_signature(secret: &str, headers: &BTreeMap<String, String>, body: &[u8]) -> String {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap().as_bytes())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let signed = format!("{}.{}.", headers["webhook-id"], headers["webhook-timestamp"]);
    mac.update(signed.as_bytes());
    mac.update(body);
    format!("v1,{}", BASE64.encode(&mac.finalize().into_bytes()))
}

#[test]
fn deliveries_are_signed_and_filtered() {
    let setup = setup(fast_retries(1));
    let (url, seen) = receiver(vec![Answer::Status(200)]);
    let (other_url, other_seen) = receiver(vec![Answer::Status(200)]);
    let created = setup
        .webhooks
        .add(&url, &["accesskey.*".into()], "cli:alice")
        .unwrap();
    setup
        .webhooks
        .add(&other_url, &["app.deploy".into()], "cli:alice")
        .unwrap();

    let recorded = event(actions::ACCESS_KEY_CREATE, "K1");
    setup.recorder.record(recorded.clone());
    let request = seen.recv_timeout(PATIENCE).unwrap();
    setup.dispatcher.wait_idle();

    let headers = &request.headers;
    assert_eq!(headers["webhook-id"], recorded.id);
    assert_eq!(headers["content-type"], "application/json");
    let timestamp: i64 = headers["webhook-timestamp"].parse().unwrap();
    assert!(timestamp > 1_700_000_000);
    assert_eq!(
        headers["webhook-signature"],
        expected_signature(created.secret.expose_secret(), headers, &request.body)
    );
    // A signature under another secret, or over another body, does not match.
    let mut tampered = request.body.clone();
    tampered.push(b' ');
    assert_ne!(
        headers["webhook-signature"],
        expected_signature(created.secret.expose_secret(), headers, &tampered)
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], actions::ACCESS_KEY_CREATE);
    assert_eq!(body["data"]["id"], recorded.id.as_str());
    assert_eq!(body["data"]["keyIds"][0], "K1");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    // The webhook filtering on `app.deploy` saw nothing; the other one saw exactly one request.
    assert!(other_seen.try_recv().is_err());
    assert!(seen.try_recv().is_err());
    assert_eq!(setup.dispatcher.delivered(), 1);

    // An application event matching the second filter reaches it only.
    setup.recorder.record(event("app.deploy", "K2"));
    let request = other_seen.recv_timeout(PATIENCE).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&request.body).unwrap()["type"],
        "app.deploy"
    );
    setup.dispatcher.wait_idle();
    assert!(seen.try_recv().is_err());
}

#[test]
fn a_500_is_retried_then_delivered() {
    let setup = setup(fast_retries(3));
    let (url, seen) = receiver(vec![Answer::Status(500), Answer::Status(200)]);
    setup
        .webhooks
        .add(&url, &[actions::ACCESS_KEY_DELETE.into()], "")
        .unwrap();
    let recorded = event(actions::ACCESS_KEY_DELETE, "K1");
    setup.recorder.record(recorded.clone());
    let first = seen.recv_timeout(PATIENCE).unwrap();
    let second = seen.recv_timeout(PATIENCE).unwrap();
    setup.dispatcher.wait_idle();
    assert_eq!(first.headers["webhook-id"], recorded.id);
    assert_eq!(second.headers["webhook-id"], recorded.id);
    assert_eq!(first.body, second.body);
    assert!(seen.try_recv().is_err(), "no third attempt after the 200");
    assert_eq!((setup.dispatcher.delivered(), setup.dispatcher.failed()), (1, 0));
    setup.recorder.flush();
    assert!(
        all_events(&setup.store)
            .iter()
            .all(|event| event.action != actions::WEBHOOK_DELIVERY_FAILED)
    );
}

#[test]
fn failures_are_audited_and_no_event_holds_a_secret() {
    let setup = setup(fast_retries(3));
    let (failing, failing_seen) = receiver(vec![Answer::Status(500)]);
    let (refusing, refusing_seen) = receiver(vec![Answer::Status(404)]);
    let gone = unreachable_url();
    let mut secrets = Vec::new();
    let mut ids = BTreeMap::new();
    for (name, url) in [("failing", &failing), ("refusing", &refusing), ("gone", &gone)] {
        let created = setup.webhooks.add(url, &[], "cli:alice").unwrap();
        secrets.push(created.secret.expose_secret().to_owned());
        ids.insert(name, created.webhook.id.clone());
    }
    // The create events themselves are delivered too (they match the empty filters); wait for
    // those to settle first so the counts below are about one event.
    setup.recorder.flush();
    setup.dispatcher.wait_idle();
    setup.recorder.flush();
    setup.dispatcher.wait_idle();
    setup.recorder.flush();
    let before = all_events(&setup.store).len();
    while failing_seen.try_recv().is_ok() {}
    while refusing_seen.try_recv().is_ok() {}

    let recorded = event(actions::ACCESS_KEY_DEACTIVATE, "K7");
    setup.recorder.record(recorded.clone());
    setup.recorder.flush();
    setup.dispatcher.wait_idle();
    // The failure events are recorded now; writing them offers them for delivery too, and those
    // deliveries fail as well, but are only logged: failures do not feed themselves.
    setup.recorder.flush();
    setup.dispatcher.wait_idle();
    setup.recorder.flush();

    let events = all_events(&setup.store);
    let failures: Vec<&AuditEvent> = events
        .iter()
        .filter(|event| {
            event.action == actions::WEBHOOK_DELIVERY_FAILED && event.data["eventId"] == recorded.id.as_str()
        })
        .collect();
    assert_eq!(failures.len(), 3, "{failures:#?}");
    let of = |name: &str| {
        failures
            .iter()
            .find(|event| event.data["webhookId"] == ids[name].as_str())
            .unwrap_or_else(|| panic!("no failure event for {name}"))
    };
    let failed = of("failing");
    assert_eq!(failed.data["status"], 500);
    assert_eq!(failed.data["attempts"], 3);
    assert_eq!(failed.outcome, ak::crates::core::audit::Outcome::Failure);
    assert_eq!(failed.actor, "ak:webhooks");
    assert_eq!(failed.data["eventAction"], actions::ACCESS_KEY_DEACTIVATE);
    let refused = of("refusing");
    assert_eq!(refused.data["status"], 404);
    assert_eq!(refused.data["attempts"], 1, "a 404 is not retried");
    let gone_event = of("gone");
    assert_eq!(gone_event.data["error"], "connect");
    assert_eq!(gone_event.data["attempts"], 3);
    // Exactly the three failure events and the one event were added: the deliveries of the
    // failure events failed too, without recording anything.
    assert_eq!(events.len(), before + 4);
    // Only one request per attempt reached the failing receiver for the event: 3 attempts.
    let mut attempts_seen = 0;
    while let Ok(seen) = failing_seen.try_recv() {
        if seen.headers["webhook-id"] == recorded.id {
            attempts_seen += 1;
        }
    }
    assert_eq!(attempts_seen, 3);

    // No event holds a secret, its key bytes, a signature or a URL.
    let everything = serde_json::to_string(&events).unwrap();
    for secret in &secrets {
        let key = secret.strip_prefix("whsec_").unwrap();
        assert!(!everything.contains(secret.as_str()));
        assert!(!everything.contains(key));
    }
    for needle in ["path-token", "127.0.0.1", "/gone", "v1,", "whsec"] {
        assert!(!everything.contains(needle), "{needle} in an event");
    }
    let creates = events
        .iter()
        .filter(|event| event.action == actions::WEBHOOK_CREATE)
        .count();
    assert_eq!(creates, 3);
}

#[test]
fn a_receiver_that_never_answers_does_not_hold_up_exchanges_or_the_trail() {
    let delivery = DeliveryConfig {
        request_timeout: Duration::from_secs(600),
        max_in_flight: 1,
        queue_capacity: 4,
        ..DeliveryConfig::default()
    };
    let setup = setup(delivery);
    let gate = Arc::new(Gate::default());
    let (url, seen) = receiver(vec![Answer::Block(Arc::clone(&gate))]);
    setup.webhooks.add(&url, &[], "").unwrap();
    let keys = AccessKeys::builder()
        .shared_store(Arc::clone(&setup.store) as _)
        .signing_keys(KeySet::new(SigningKey::generate()))
        .issuer("p")
        .build()
        .unwrap();
    let created = keys.create(CreateKey::named("bot")).unwrap();

    // The first delivery is now stuck in a request the receiver holds open.
    setup
        .recorder
        .record(event(actions::ACCESS_KEY_CREATE, &created.key.id));
    seen.recv_timeout(PATIENCE).unwrap();

    // Meanwhile exchanges run, and their events are written to the trail; the small delivery
    // queue overflows (those events are dropped for delivery and counted) rather than waiting.
    for _ in 0..50 {
        let exchanged = keys
            .exchange(created.cleartext.expose_secret(), &ExchangeOptions::default())
            .unwrap();
        assert_eq!(exchanged.key_id, created.key.id);
        assert!(
            setup
                .recorder
                .record(event(actions::ACCESS_KEY_EXCHANGE, &created.key.id))
        );
    }
    setup.recorder.flush();
    let stored = all_events(&setup.store)
        .iter()
        .filter(|event| event.action == actions::ACCESS_KEY_EXCHANGE)
        .count();
    assert_eq!(stored, 50);
    // All of that happened while the first delivery was still waiting for its answer.
    assert!(!gate.is_open());
    assert_eq!((setup.dispatcher.delivered(), setup.dispatcher.failed()), (0, 0));

    gate.open();
    setup.dispatcher.wait_idle();
    assert!(setup.dispatcher.delivered() >= 1);
    assert_eq!(setup.dispatcher.failed(), 0);
}

#[test]
fn a_deleted_webhook_gets_no_more_attempts() {
    let setup = setup(DeliveryConfig {
        attempts: 5,
        retry_delay: Duration::from_millis(200),
        ..DeliveryConfig::default()
    });
    let (url, seen) = receiver(vec![Answer::Status(503)]);
    let created = setup
        .webhooks
        .add(&url, &["accesskey.rotate".into()], "")
        .unwrap();
    setup.recorder.record(event(actions::ACCESS_KEY_ROTATE, "K1"));
    seen.recv_timeout(PATIENCE).unwrap();
    setup.webhooks.delete(&created.webhook.id).unwrap();
    setup.dispatcher.wait_idle();
    // At most the attempt that may have started before the delete; never all five.
    let later = std::iter::from_fn(|| seen.try_recv().ok()).count();
    assert!(later <= 1, "{later} attempts after the delete");
    assert_eq!(
        setup.dispatcher.failed(),
        0,
        "a deleted webhook's delivery is not a failure"
    );
}

#[test]
fn the_pipeline_delivers_expiry_warnings() {
    use ak::expiring::ExpiryConfig;
    use ak::webhook::AuditPipeline;

    let store = Arc::new(MemoryKeyStore::new());
    let webhooks = Webhooks::new(Arc::clone(&store) as _, MasterKey::generate().unwrap());
    let (url, seen) = receiver(vec![Answer::Status(204)]);
    let created = webhooks
        .add(&url, &[actions::ACCESS_KEY_EXPIRING.into()], "cli:alice")
        .unwrap();
    let keys = ak::KeyManager::builder(Arc::clone(&store) as _).build().unwrap();
    let mut request = CreateKey::named("expiring");
    request.expire_time = Some(SystemClock.now() + 86_400);
    let key = keys.create(request).unwrap().key;
    keys.create(CreateKey::named("forever")).unwrap();

    let mut pipeline = AuditPipeline::start(
        Arc::clone(&store) as _,
        Arc::clone(&store) as _,
        webhooks,
        Arc::new(SystemClock),
        AuditConfig {
            flush_interval: Duration::from_millis(20),
            ..AuditConfig::default()
        },
        fast_retries(2),
        &ExpiryConfig::default(),
    )
    .unwrap();
    let request = seen.recv_timeout(PATIENCE).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], actions::ACCESS_KEY_EXPIRING);
    assert_eq!(body["data"]["keyIds"], serde_json::json!([key.id]));
    assert_eq!(body["data"]["data"]["expireTime"], key.expire_time.unwrap());
    assert_eq!(
        request.headers["webhook-signature"],
        expected_signature(created.secret.expose_secret(), &request.headers, &request.body)
    );
    pipeline.dispatcher().wait_idle();
    assert_eq!(pipeline.dispatcher().delivered(), 1);
    pipeline.shutdown();
    assert!(seen.try_recv().is_err(), "one warning, one delivery");
}
