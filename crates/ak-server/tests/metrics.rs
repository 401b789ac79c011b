//! `GET /metrics` over real HTTP: the dropped-event counter counts what a stalled audit store
//! could not take, any management key may read it, and nothing else may.

mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ak::crates::core::audit::{AuditConfig, AuditEvent, AuditEventStore, AuditQuery};
use ak::{AccessKeys, CreateKey, KeySet, ManagementKeys, MemoryKeyStore, Page, SigningKey, StoreError};
use ak_server::ServerConfig;
use common::PROJECT;
use tokio::sync::oneshot;

/// An audit store whose appends wait until it is opened: events pile up in the recorder's queue.
#[derive(Debug, Default)]
struct StalledAudit {
    open: Mutex<bool>,
    opened: Condvar,
    inner: MemoryKeyStore,
}

impl StalledAudit {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Opens the store when dropped, also when an assertion fails: the recorder's shutdown waits for
/// the stalled append.
struct OpenOnDrop(Arc<StalledAudit>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

impl AuditEventStore for StalledAudit {
    fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        drop(open);
        self.inner.append_audit_events(events)
    }

    fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        self.inner.search_audit_events(query)
    }

    fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError> {
        self.inner.prune_audit_events(older_than, max_events)
    }
}

/// The value of `name` in a Prometheus text exposition.
fn counter(text: &str, name: &str) -> u64 {
    let line = text
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {text}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_audit_events_are_counted_for_any_management_key() {
    const EXCHANGES: u64 = 6;
    const QUEUE: usize = 2;
    let store = Arc::new(MemoryKeyStore::new());
    let audit = Arc::new(StalledAudit::default());
    let keys = AccessKeys::builder()
        .shared_store(store.clone())
        .signing_keys(KeySet::new(SigningKey::generate()))
        .issuer(PROJECT)
        .audit_store(audit.clone())
        .audit_config(AuditConfig {
            queue_capacity: QUEUE,
            flush_interval: Duration::from_millis(10),
            ..AuditConfig::default()
        })
        .build()
        .unwrap();
    let _open_at_the_end = OpenOnDrop(audit.clone());
    let access = keys.create(CreateKey::named("metered")).unwrap();
    let management = ManagementKeys::new(store.clone()).unwrap();
    let reader = management.create("reader", true, "test").unwrap();
    let app = ak_server::router(keys, management, ServerConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let config = ServerConfig::default();
    let task = tokio::spawn(async move {
        ak_server::serve(listener, app, &config, None, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");
    let metrics = |key: String| {
        let client = client.clone();
        let url = url("/metrics");
        async move {
            let response = client
                .get(url)
                .bearer_auth(format!("{PROJECT}:{key}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|value| value.to_str().unwrap().to_owned());
            (status, content_type, response.text().await.unwrap())
        }
    };
    let reader_key = reader.cleartext.expose_secret().to_owned();

    let (status, content_type, text) = metrics(reader_key.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(counter(&text, "ak_audit_events_dropped_total"), 0, "{text}");
    assert_eq!(counter(&text, "ak_key_uses_dropped_total"), 0, "{text}");
    assert!(
        text.contains("# TYPE ak_audit_events_dropped_total counter"),
        "{text}"
    );

    // The writer holds at most one batch in the stalled append and the queue holds QUEUE more:
    // of EXCHANGES events, at least EXCHANGES - QUEUE - 1 have nowhere to go.
    for _ in 0..EXCHANGES {
        let response = client
            .post(url("/v1/auth/accesskey/exchange"))
            .bearer_auth(format!("{PROJECT}:{}", access.cleartext.expose_secret()))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let (status, _, text) = metrics(reader_key).await;
    assert_eq!(status, 200, "{text}");
    let dropped = counter(&text, "ak_audit_events_dropped_total");
    assert!(
        (EXCHANGES - QUEUE as u64 - 1..=EXCHANGES).contains(&dropped),
        "{dropped} dropped of {EXCHANGES}: {text}"
    );
    assert!(!text.contains(access.cleartext.expose_secret()));

    // No credential, a wrong one, and an access key: 401 with Descope's body.
    let bare = client.get(url("/metrics")).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    let (status, _, body) = metrics("wrong".to_owned()).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = metrics(access.cleartext.expose_secret().to_owned()).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("errorCode"), "{body}");

    audit.open();
    drop(client);
    let _ = stop.send(());
    task.await.unwrap();
}
