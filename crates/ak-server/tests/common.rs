//! A server on 127.0.0.1:0 over an in-memory store, with a full and a read-only management key.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use ak::{AccessKeys, KeySet, ManagementKeys, MemoryKeyStore, SigningKey};
use ak_server::{ServerConfig, TlsConfig};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) const PROJECT: &str = "test-project";

#[derive(Debug)]
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) base: String,
    pub(crate) admin: String,
    pub(crate) reader: String,
    /// The full management key's id (the actor of its calls in the audit trail).
    pub(crate) admin_id: String,
    pub(crate) store: Arc<MemoryKeyStore>,
    pub(crate) management: ManagementKeys,
    pub(crate) client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

pub(crate) async fn start(config: ServerConfig) -> TestServer {
    start_with(config, None).await
}

pub(crate) async fn start_with(config: ServerConfig, tls: Option<TlsConfig>) -> TestServer {
    let store = Arc::new(MemoryKeyStore::new());
    let keys = AccessKeys::builder()
        .shared_store(store.clone())
        .signing_keys(KeySet::new(SigningKey::generate()))
        .issuer(PROJECT)
        .audit_store(store.clone())
        .webhooks(ak::webhook::Webhooks::new(
            store.clone(),
            ak::signing::MasterKey::generate().unwrap(),
        ))
        .build()
        .unwrap();
    let management = ManagementKeys::new(store.clone()).unwrap();
    let admin = management.create("admin", false, "test").unwrap();
    let reader = management.create("reader", true, "test").unwrap();
    let app = ak_server::router(keys, ManagementKeys::new(store.clone()).unwrap(), config.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = tokio::spawn(async move {
        ak_server::serve(listener, app, &config, tls, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestServer {
        addr,
        base: format!("{scheme}://{addr}"),
        admin: admin.cleartext.expose_secret().to_owned(),
        reader: reader.cleartext.expose_secret().to_owned(),
        admin_id: admin.key.id.clone(),
        store,
        management,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        task: Some(task),
    }
}

impl TestServer {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A management POST with the full key.
    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_as(&self.admin, path, body).await
    }

    pub(crate) async fn post_as(&self, key: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(format!("{PROJECT}:{key}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        decode(response).await
    }

    pub(crate) async fn get_as(&self, key: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(format!("{PROJECT}:{key}"))
            .send()
            .await
            .unwrap();
        decode(response).await
    }

    /// Creates a key and returns (id, cleartext).
    pub(crate) async fn create(&self, body: Value) -> (String, String) {
        let (status, created) = self.post("/v1/mgmt/accesskey/create", body).await;
        assert_eq!(status, 200, "{created}");
        (
            created["key"]["id"].as_str().unwrap().to_owned(),
            created["cleartext"].as_str().unwrap().to_owned(),
        )
    }

    pub(crate) async fn exchange(&self, key: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/v1/auth/accesskey/exchange"))
            .bearer_auth(format!("{PROJECT}:{key}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        decode(response).await
    }

    /// Stops accepting and waits for the server task.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    pub(crate) fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub(crate) async fn join(&mut self) {
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

pub(crate) async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("status {status}: not JSON: {text:?}"));
    (status, value)
}

/// Asserts a Descope error body with this status and code.
pub(crate) fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["errorCode"], code, "{}", got.1);
    assert!(got.1["errorDescription"].is_string(), "{}", got.1);
    assert!(got.1["errorMessage"].is_string(), "{}", got.1);
}
