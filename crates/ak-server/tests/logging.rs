//! One access-log line per request, with ids but never a secret, a token or a body.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use ak_server::ServerConfig;
use common::start;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_per_request_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let server = start(ServerConfig::default()).await;
    let (id, cleartext) = server
        .create(json!({"name": "logged", "description": "private-description-text"}))
        .await;
    let (_, exchanged) = server
        .exchange(
            &cleartext,
            json!({"loginOptions": {"customClaims": {"c": "private-claim"}}}),
        )
        .await;
    let jwt = exchanged["sessionJwt"].as_str().unwrap().to_owned();
    assert_eq!(server.exchange("wrong", json!({})).await.0, 401);
    assert_eq!(
        server
            .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={id}"))
            .await
            .0,
        200
    );
    let admin = server.admin.clone();
    let admin_id = server
        .management
        .list()
        .unwrap()
        .into_iter()
        .find(|k| !k.read_only)
        .unwrap()
        .id;
    server.stop().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("ak_server::access"))
        .collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(lines[0].contains("method=POST") && lines[0].contains("path=/v1/mgmt/accesskey/create"));
    assert!(lines[0].contains("status=200") && lines[0].contains(&id) && lines[0].contains("latency_us="));
    assert!(lines[1].contains("/v1/auth/accesskey/exchange") && lines[1].contains(&id));
    assert!(lines[2].contains("status=401"));
    assert!(
        lines[3].contains("method=GET")
            && lines[3].contains("path=/v1/mgmt/accesskey ")
            && !lines[3].contains('?')
    );
    assert!(
        lines[0].contains(&admin_id),
        "the calling management key is named"
    );
    for secret in [
        cleartext.as_str(),
        admin.as_str(),
        jwt.as_str(),
        "private-description-text",
        "private-claim",
        "wrong",
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
