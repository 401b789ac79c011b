//! Every error status over real HTTP, and no 5xx for any malformed input.

mod common;

use ak_server::ServerConfig;
use base64::Engine;
use common::{PROJECT, assert_error, decode, start};
use serde_json::{Value, json};

const POSTS: [&str; 13] = [
    "/v1/mgmt/accesskey/create",
    "/v1/mgmt/accesskey/search",
    "/v1/mgmt/accesskey/update",
    "/v1/mgmt/accesskey/activate",
    "/v1/mgmt/accesskey/deactivate",
    "/v1/mgmt/accesskey/delete",
    "/v1/mgmt/accesskey/rotate",
    "/v1/mgmt/accesskey/activate/batch",
    "/v1/mgmt/accesskey/deactivate/batch",
    "/v1/mgmt/accesskey/delete/batch",
    "/v1/mgmt/audit/search",
    "/v1/mgmt/audit/event",
    "/v1/auth/accesskey/exchange",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_statuses() {
    let server = start(ServerConfig::default()).await;
    let raw = |path: &str, content_type: &str, body: Vec<u8>| {
        server
            .client
            .post(server.url(path))
            .bearer_auth(format!("{PROJECT}:{}", server.admin))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let create = "/v1/mgmt/accesskey/create";
    // 400: malformed JSON, wrong types, missing and invalid fields.
    let got = decode(
        raw(create, "application/json", b"{\"name\":".to_vec())
            .await
            .unwrap(),
    )
    .await;
    assert_error(&got, 400, "E011001");
    assert_error(&server.post(create, json!({"name": 5})).await, 400, "E011001");
    assert_error(&server.post(create, json!({"name": null})).await, 400, "E011002");
    assert_error(&server.post(create, json!({"name": ""})).await, 400, "E011002");
    assert_error(
        &server.post(create, json!({"name": "x".repeat(257)})).await,
        400,
        "E011003",
    );
    assert_error(
        &server.post(create, json!({"name": "x", "expireTime": 1})).await,
        400,
        "E011003",
    );
    assert_error(
        &server
            .post(create, json!({"name": "x", "expireTime": "soon"}))
            .await,
        400,
        "E011001",
    );
    assert_error(
        &server
            .post(
                create,
                json!({"name": "x", "roleNames": ["a"], "keyTenants": [{"tenantId": "t"}]}),
            )
            .await,
        400,
        "E011003",
    );
    assert_error(
        &server
            .post(create, json!({"name": "x", "permittedIps": ["nope"]}))
            .await,
        400,
        "E011003",
    );
    assert_error(
        &server
            .post("/v1/mgmt/accesskey/search", json!({"sort": [{"field": "id"}]}))
            .await,
        400,
        "E011003",
    );
    // 413 past the body limit; exactly at it is accepted.
    let limit = ak_server::DEFAULT_MAX_BODY_BYTES;
    let mut at_limit = br#"{"name":"edge"}"#.to_vec();
    at_limit.resize(limit, b' ');
    let got = decode(raw(create, "application/json", at_limit.clone()).await.unwrap()).await;
    assert_eq!(got.0, 200, "{}", got.1);
    at_limit.push(b' ');
    let got = decode(raw(create, "application/json", at_limit).await.unwrap()).await;
    assert_error(&got, 413, "E011413");
    // 415 for a body that is not JSON; an empty body needs no content type.
    let got = decode(
        raw(create, "text/plain", br#"{"name":"x"}"#.to_vec())
            .await
            .unwrap(),
    )
    .await;
    assert_error(&got, 415, "E011415");
    // 405 and 404.
    let got = decode(server.client.get(server.url(create)).send().await.unwrap()).await;
    assert_error(&got, 405, "E011405");
    let got = decode(server.client.get(server.url("/v1/nope")).send().await.unwrap()).await;
    assert_error(&got, 404, "E011404");
    let got = decode(
        server
            .client
            .get(server.url("/v2/keys/other-project"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&got, 404, "E011404");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_forbidden_and_one_answer_for_bad_keys() {
    let server = start(ServerConfig::default()).await;
    let (_, cleartext) = server.create(json!({"name": "k"})).await;
    let search = "/v1/mgmt/accesskey/search";
    let with_header = |path: &str, header: Option<String>| {
        let mut request = server.client.post(server.url(path)).json(&json!({}));
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        request.send()
    };
    let mut wrong_admin = server.admin.clone();
    wrong_admin.replace_range(40..41, if &server.admin[40..41] == "a" { "b" } else { "a" });
    for header in [
        None,
        Some("Basic abc".to_owned()),
        Some(format!("Bearer {PROJECT}")),
        Some(format!("Bearer other:{}", server.admin)),
        Some(format!("Bearer {PROJECT}:{wrong_admin}")),
        Some(format!("Bearer {PROJECT}:{cleartext}")),
        Some(format!("Bearer {PROJECT}:garbage")),
    ] {
        let got = decode(with_header(search, header.clone()).await.unwrap()).await;
        assert_error(&got, 401, "E011401");
        assert_eq!(
            got.1["errorMessage"], "invalid or missing credentials",
            "{header:?}"
        );
    }
    // Unknown, wrong and malformed access keys (and management keys) get one answer.
    let mut wrong = cleartext.clone();
    wrong.replace_range(40..41, if &cleartext[40..41] == "a" { "b" } else { "a" });
    let unknown = format!("ak_{}_{}", "a".repeat(26), &cleartext[30..]);
    let mut answers = Vec::new();
    for key in [
        wrong.as_str(),
        unknown.as_str(),
        "malformed",
        server.admin.as_str(),
        ":",
    ] {
        answers.push(server.exchange(key, json!({})).await);
    }
    for answer in &answers {
        assert_error(answer, 401, "E011401");
        assert_eq!(answer, &answers[0]);
    }
    let got = decode(with_header("/v1/auth/accesskey/exchange", None).await.unwrap()).await;
    assert_eq!(got, answers[0]);
    // 403: the client IP (127.0.0.1) is not permitted.
    let (_, fenced) = server
        .create(json!({"name": "f", "permittedIps": ["10.0.0.0/8"]}))
        .await;
    assert_error(&server.exchange(&fenced, json!({})).await, 403, "E011403");
    server.stop().await;
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_jwks_and_openapi() {
    let server = start(ServerConfig::default()).await;
    let (id, cleartext) = server
        .create(json!({"name": "k", "keyTenants": [{"tenantId": "t1"}], "customClaims": {"k1": "v1"}}))
        .await;
    for body in [
        json!({}),
        json!({"loginOptions": null}),
        json!({"loginOptions": {}}),
    ] {
        assert_eq!(server.exchange(&cleartext, body).await.0, 200);
    }
    let empty = server
        .client
        .post(server.url("/v1/auth/accesskey/exchange"))
        .bearer_auth(format!("{PROJECT}:{cleartext}:some-auth-management-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        empty.status().as_u16(),
        200,
        "an empty body and a third bearer part"
    );
    let (status, exchanged) = server
        .exchange(
            &cleartext,
            json!({"loginOptions": {"customClaims": {"nsec-k1": "nsec-v1"}, "selectedTenant": "t1"}}),
        )
        .await;
    assert_eq!(status, 200, "{exchanged}");
    assert_eq!(exchanged["keyId"], id.as_str());
    let jwt = exchanged["sessionJwt"].as_str().unwrap();
    let token = claims(jwt);
    assert_eq!(token["iss"], PROJECT);
    assert_eq!(token["sub"], id.as_str());
    assert_eq!(token["k1"], "v1");
    assert_eq!(token["nsec"]["nsec-k1"], "nsec-v1");
    assert_eq!(token["dct"], "t1");
    assert_eq!(token["exp"], exchanged["expiration"]);
    assert!(token.get("aud").is_none());
    assert_error(
        &server
            .exchange(&cleartext, json!({"loginOptions": {"selectedTenant": "t2"}}))
            .await,
        400,
        "E011003",
    );

    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let (status, jwks) = decode(
        server
            .client
            .get(server.url(&format!("/v2/keys/{PROJECT}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    for key in keys {
        assert_eq!(
            (key["kty"].as_str(), key["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
        assert_eq!(key["alg"], "EdDSA");
        assert!(key["kid"].is_string());
    }
    assert_eq!(header["alg"], "EdDSA");
    assert!(keys.iter().any(|key| key["kid"] == header["kid"]));

    let (status, health) = decode(server.client.get(server.url("/healthz")).send().await.unwrap()).await;
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    let (status, doc) = decode(
        server
            .client
            .get(server.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in POSTS {
        assert!(
            paths[path]["post"].is_object(),
            "{path} missing from the document"
        );
        for code in ["400", "401", "413", "415", "429"] {
            assert!(
                paths[path]["post"]["responses"][code].is_object(),
                "{path} {code}"
            );
        }
    }
    for path in [
        "/v1/mgmt/accesskey",
        "/v1/mgmt/license",
        "/v2/keys/{projectId}",
        "/healthz",
        "/openapi.json",
    ] {
        assert!(paths[path]["get"].is_object(), "{path} missing from the document");
    }
    assert!(doc["components"]["schemas"]["AccessKeyResponse"]["properties"]["createdTime"].is_object());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_never_gets_a_server_error() {
    let server = start(ServerConfig::default()).await;
    let (id, cleartext) = server.create(json!({"name": "k"})).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mut bodies: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x00, 0x80],
        b"[]".to_vec(),
        b"\"text\"".to_vec(),
        b"123".to_vec(),
        b"1e999".to_vec(),
        b"{\"name\": {\"a\": 1}}".to_vec(),
        b"{\"name\": \"a\\u0000b\"}".to_vec(),
        b"{\"name\": \"\\ud800\"}".to_vec(),
        b"{\"expireTime\": 1e20, \"name\": \"x\"}".to_vec(),
        b"{\"expireTime\": -5, \"name\": \"x\"}".to_vec(),
        b"{\"ids\": \"x\"}".to_vec(),
        b"{\"ids\": [1, 2]}".to_vec(),
        b"{\"id\": [\"x\"]}".to_vec(),
        b"{\"keyTenants\": [1], \"name\": \"x\"}".to_vec(),
        b"{\"loginOptions\": \"x\"}".to_vec(),
        b"{\"loginOptions\": {\"customClaims\": [1]}}".to_vec(),
        b"{\"sort\": [{}]}".to_vec(),
        b"{\"customAttributes\": {\"a\": {\"b\": [null, 1.5, true]}}}".to_vec(),
        deep.into_bytes(),
        format!("{{\"name\": \"{}\"}}", "\u{1F600}".repeat(10_000)).into_bytes(),
        format!("{{\"id\": \"unknown\", \"name\": \"{}\"}}", "x".repeat(60_000)).into_bytes(),
        format!("{{\"ids\": [{}]}}", vec!["\"x\""; 1001].join(",")).into_bytes(),
    ];
    bodies.push(br#"{"customClaims": {"exp": "x"}, "name": "claims"}"#.to_vec());
    for path in POSTS {
        let key = if path.contains("/auth/") {
            &cleartext
        } else {
            &server.admin
        };
        for body in &bodies {
            let response = server
                .client
                .post(server.url(path))
                .bearer_auth(format!("{PROJECT}:{key}"))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let (status, value) = decode(response).await;
            assert!(
                status < 500,
                "{path} {}: {status} {value}",
                String::from_utf8_lossy(&body[..body.len().min(60)])
            );
            if status >= 400 {
                assert!(
                    value["errorCode"].as_str().is_some_and(|code| !code.is_empty()),
                    "{value}"
                );
            }
        }
    }
    // The store is intact.
    let (status, loaded) = server
        .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={id}"))
        .await;
    assert_eq!(status, 200, "{loaded}");
    for query in [
        "?id=",
        "?id=%00",
        "?id=%FF",
        "?id=a&id=b",
        "?x=1",
        &format!("?id={}", "x".repeat(5000)),
    ] {
        let (status, value) = server
            .get_as(&server.admin, &format!("/v1/mgmt/accesskey{query}"))
            .await;
        assert!((400..500).contains(&status), "{query}: {status} {value}");
        assert!(value["errorCode"].is_string());
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_errors_keep_the_connection_reusable_and_413_closes_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(ServerConfig::default()).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"name": "x"}"#;
    let rejected = format!(
        "POST /v1/mgmt/accesskey/create HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {PROJECT}:wrong\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let health = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    stream
        .write_all(format!("{rejected}{health}").as_bytes())
        .await
        .unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while !seen.contains("\"status\":\"ok\"") {
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("the second answer arrives")
            .unwrap();
        assert!(read > 0, "connection closed after the 401: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    assert!(seen.starts_with("HTTP/1.1 401"), "{seen}");

    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let over = ak_server::DEFAULT_MAX_BODY_BYTES + 1;
    stream
        .write_all(format!("POST /v1/mgmt/accesskey/search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {over}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(
        answer.starts_with("http/1.1 413") && answer.contains("connection: close"),
        "{answer}"
    );
    server.stop().await;
}
