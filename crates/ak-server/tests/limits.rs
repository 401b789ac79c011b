//! The rate limiter, X-Forwarded-For, timeouts, the connection cap, header size, graceful
//! shutdown and TLS, over real sockets.

mod common;

use std::time::Duration;

use ak_server::{ServerConfig, TlsConfig};
use common::{PROJECT, assert_error, decode, start, start_with};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config() -> ServerConfig {
    ServerConfig::default()
}

async fn exchange_from(
    server: &common::TestServer,
    key: &str,
    forwarded: Option<&str>,
) -> (u16, serde_json::Value, Option<String>) {
    let mut request = server
        .client
        .post(server.url("/v1/auth/accesskey/exchange"))
        .bearer_auth(format!("{PROJECT}:{key}"))
        .json(&json!({}));
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    let (status, body) = decode(response).await;
    (status, body, retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_rate_limited_per_client() {
    let mut config = config();
    config.auth_failure_burst = 3;
    config.auth_failures_per_second = 0.01;
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let server = start(config).await;
    let (id, cleartext) = server.create(json!({"name": "k"})).await;
    // Successes never count.
    for _ in 0..10 {
        assert_eq!(
            exchange_from(&server, &cleartext, Some("198.51.100.1")).await.0,
            200
        );
    }
    for _ in 0..3 {
        assert_eq!(exchange_from(&server, "wrong", Some("198.51.100.1")).await.0, 401);
    }
    let (status, body, retry_after) = exchange_from(&server, "wrong", Some("198.51.100.1")).await;
    assert_error(&(status, body.clone()), 429, "E130429");
    assert_eq!(body["errorDescription"], "https://docs.descope.com/rate-limit");
    assert_eq!(body["errorMessage"], "API rate limit exceeded.");
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=100).contains(&seconds), "{seconds}");
    // The check comes before any secret is verified: even a valid key waits, and so do
    // management calls from that client.
    assert_eq!(
        exchange_from(&server, &cleartext, Some("198.51.100.1")).await.0,
        429
    );
    // Both refusals are in the audit trail as rate-limited, from that client; the key id only
    // where the presented key parsed.
    let (status, found) = server
        .post(
            "/v1/mgmt/audit/search",
            json!({"actions": ["accesskey.exchange.failed"], "remoteAddresses": ["198.51.100.1"]}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    let limited: Vec<&Value> = found["audits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["data"]["reason"] == "rate-limited")
        .collect();
    assert_eq!(limited.len(), 2, "{found}");
    assert_eq!(limited[0]["externalIds"], json!([id]), "{found}");
    assert_eq!(limited[1]["externalIds"], json!([]), "{found}");
    let management = server
        .client
        .post(server.url("/v1/mgmt/accesskey/search"))
        .bearer_auth(format!("{PROJECT}:{}", server.admin))
        .header("x-forwarded-for", "198.51.100.1")
        .send()
        .await
        .unwrap();
    assert_eq!(management.status().as_u16(), 429);
    // Other clients are not affected.
    assert_eq!(
        exchange_from(&server, &cleartext, Some("198.51.100.2")).await.0,
        200
    );
    assert_eq!(exchange_from(&server, "wrong", Some("198.51.100.2")).await.0, 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refill_lets_a_client_retry() {
    let mut config = config();
    config.auth_failure_burst = 1;
    config.auth_failures_per_second = 5.0;
    let server = start(config).await;
    assert_eq!(exchange_from(&server, "wrong", None).await.0, 401);
    assert_eq!(exchange_from(&server, "wrong", None).await.0, 429);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(exchange_from(&server, "wrong", None).await.0, 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let untrusted = start(config()).await;
    let body = json!({"name": "fenced", "permittedIps": ["198.51.100.7"]});
    let (_, key) = untrusted.create(body.clone()).await;
    assert_error(
        &{
            let (s, b, _) = exchange_from(&untrusted, &key, Some("198.51.100.7")).await;
            (s, b)
        },
        403,
        "E011403",
    );
    untrusted.stop().await;

    let mut trusting = config();
    trusting.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let proxied = start(trusting).await;
    let (_, key) = proxied.create(body).await;
    assert_eq!(exchange_from(&proxied, &key, Some("198.51.100.7")).await.0, 200);
    assert_eq!(
        exchange_from(&proxied, &key, Some("6.6.6.6, 198.51.100.7"))
            .await
            .0,
        200
    );
    assert_eq!(
        exchange_from(&proxied, &key, Some("198.51.100.7, 6.6.6.6"))
            .await
            .0,
        403
    );
    assert_eq!(exchange_from(&proxied, &key, None).await.0, 403);
    proxied.stop().await;
}

fn head(path: &str, key: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {PROJECT}:{key}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

async fn read_all(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_a_request_in_flight() {
    let mut server = start(config()).await;
    let body = br#"{"name": "in flight"}"#;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(head("/v1/mgmt/accesskey/create", &server.admin, body.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.trigger_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No new connections once shutdown began.
    assert!(TcpStream::connect(server.addr).await.is_err());
    stream.write_all(&body[5..]).await.unwrap();
    let response = read_all(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"in flight\""), "{response}");
    tokio::time::timeout(Duration::from_secs(5), server.join())
        .await
        .expect("server stopped");
    assert_eq!(server.management.list().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_time_out_with_408() {
    let mut config = config();
    config.request_timeout = Duration::from_millis(500);
    let server = start(config).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(head("/v1/mgmt/accesskey/search", &server.admin, 10).as_bytes())
        .await
        .unwrap();
    stream.write_all(b"{").await.unwrap();
    let response = read_all(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("E011408"), "{response}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_are_refused() {
    let server = start(config()).await;
    let at_ok = server
        .client
        .get(server.url("/healthz"))
        .header("x-padding", "x".repeat(8_000))
        .send()
        .await
        .unwrap();
    assert_eq!(at_ok.status().as_u16(), 200);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Padding: {}\r\n\r\n",
        "x".repeat(20_000)
    );
    let _ = stream.write_all(request.as_bytes()).await;
    let response = read_all(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait() {
    let mut config = config();
    config.max_connections = 1;
    let server = start(config).await;
    let mut holder = TcpStream::connect(server.addr).await.unwrap();
    holder
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 512];
    let read = holder.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    // The kept-alive connection holds the only slot: another client is not served...
    let client = reqwest::Client::new();
    let waiting = tokio::time::timeout(
        Duration::from_millis(500),
        client.get(server.url("/healthz")).send(),
    )
    .await;
    assert!(waiting.is_err(), "a second connection was served past the cap");
    // ...until the first one closes.
    drop(holder);
    let served = tokio::time::timeout(Duration::from_secs(5), client.get(server.url("/healthz")).send())
        .await
        .expect("served once the slot is free")
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_test_certificate() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let tls =
        TlsConfig::from_pem(cert_pem.as_bytes(), certified.key_pair.serialize_pem().as_bytes()).unwrap();
    assert!(TlsConfig::from_pem(cert_pem.as_bytes(), b"not a key").is_err());
    let server = start_with(config(), Some(tls)).await;
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", server.addr.port());
    let (status, health) = decode(client.get(format!("{base}/healthz")).send().await.unwrap()).await;
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    let created = client
        .post(format!("{base}/v1/mgmt/accesskey/create"))
        .bearer_auth(format!("{PROJECT}:{}", server.admin))
        .json(&json!({"name": "over tls"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200);
    // Plain HTTP to the TLS port gets no HTTP answer.
    assert!(
        reqwest::Client::new()
            .get(format!("http://{}/healthz", server.addr))
            .send()
            .await
            .is_err()
    );
    server.stop().await;
}
