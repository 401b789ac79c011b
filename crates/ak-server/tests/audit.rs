//! `/v1/mgmt/audit/{search,event}` over real HTTP: Descope's shapes, the filters, the errors, and
//! management calls recorded with the management key as the actor.

mod common;

use ak_server::ServerConfig;
use common::{PROJECT, TestServer, assert_error, decode, start};
use serde_json::{Value, json};

const SEARCH: &str = "/v1/mgmt/audit/search";
const EVENT: &str = "/v1/mgmt/audit/event";

/// Every field null, as the Python SDK sends an unset filter, with `overrides` on top.
fn body(overrides: Value) -> Value {
    let mut body = json!({
        "userIds": null, "actions": null, "excludedActions": null, "devices": null,
        "methods": null, "geos": null, "remoteAddresses": null, "loginIds": null,
        "externalIds": null, "tenants": null, "noTenants": null, "text": null,
        "from": null, "to": null,
    });
    for (name, value) in overrides.as_object().unwrap() {
        body[name] = value.clone();
    }
    body
}

async fn search(server: &TestServer, overrides: Value) -> Vec<Value> {
    let (status, found) = server.post(SEARCH, body(overrides)).await;
    assert_eq!(status, 200, "{found}");
    found["audits"].as_array().unwrap().clone()
}

fn actions(audits: &[Value]) -> Vec<&str> {
    audits.iter().map(|a| a["action"].as_str().unwrap()).collect()
}

/// A key's lifecycle, then an exchange failure: (key id, the lifecycle's events newest first).
async fn lifecycle(server: &TestServer) -> String {
    let (id, _) = server.create(json!({"name": "audited"})).await;
    let (status, got) = server
        .post("/v1/mgmt/accesskey/update", json!({"id": id, "name": "renamed"}))
        .await;
    assert_eq!(status, 200, "{got}");
    for path in ["/v1/mgmt/accesskey/deactivate", "/v1/mgmt/accesskey/activate"] {
        let (status, got) = server.post(path, json!({"id": id})).await;
        assert_eq!(status, 200, "{got}");
    }
    let (status, rotated) = server.post("/v1/mgmt/accesskey/rotate", json!({"id": id})).await;
    assert_eq!(status, 200, "{rotated}");
    let (status, got) = server
        .exchange(rotated["cleartext"].as_str().unwrap(), json!({}))
        .await;
    assert_eq!(status, 200, "{got}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_newest_first_with_actor_and_address() {
    let server = start(ServerConfig::default()).await;
    let id = lifecycle(&server).await;
    let audits = search(&server, json!({})).await;
    assert_eq!(
        actions(&audits),
        [
            "accesskey.exchange",
            "accesskey.rotate",
            "accesskey.activate",
            "accesskey.deactivate",
            "accesskey.update",
            "accesskey.create",
        ]
    );
    let times: Vec<i64> = audits.iter().map(|a| a["occurred"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    for audit in &audits {
        assert_eq!(audit["projectId"], PROJECT);
        assert_eq!(audit["externalIds"], json!([id]), "{audit}");
        assert_eq!(audit["remoteAddress"], "127.0.0.1", "{audit}");
        for empty in ["device", "method", "geo"] {
            assert_eq!(audit[empty], "", "{audit}");
        }
        assert_eq!(audit["tenants"], json!([]));
        assert_eq!(audit["data"]["outcome"], "success", "{audit}");
        // The acting identity: the key itself for an exchange, else the management key.
        let actor = if audit["action"] == "accesskey.exchange" {
            id.as_str()
        } else {
            server.admin_id.as_str()
        };
        assert_eq!(audit["userId"], actor, "{audit}");
    }
    // A read: the read-only key may search, and an empty body means every event.
    let response = server
        .client
        .post(server.url(SEARCH))
        .bearer_auth(format!("{PROJECT}:{}", server.reader))
        .send()
        .await
        .unwrap();
    let (status, found) = decode(response).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["audits"].as_array().unwrap().len(), audits.len());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_filter() {
    let server = start(ServerConfig::default()).await;
    let id = lifecycle(&server).await;
    let (other, _) = server.create(json!({"name": "other"})).await;
    let all = search(&server, json!({})).await;
    assert_eq!(all.len(), 7);

    let mine = search(&server, json!({"userIds": [id]})).await;
    assert_eq!(mine.len(), 6);
    let theirs = search(&server, json!({"userIds": [other]})).await;
    assert_eq!(actions(&theirs), ["accesskey.create"]);
    assert_eq!(search(&server, json!({"externalIds": [other]})).await, theirs);
    assert_eq!(search(&server, json!({"loginIds": [other]})).await, theirs);
    assert_eq!(
        search(&server, json!({"userIds": ["nobody"]})).await,
        Vec::<Value>::new()
    );

    let created = search(&server, json!({"actions": ["accesskey.create"]})).await;
    assert_eq!(actions(&created), ["accesskey.create", "accesskey.create"]);
    let rest = search(
        &server,
        json!({"excludedActions": ["accesskey.create", "accesskey.exchange"]}),
    )
    .await;
    assert_eq!(rest.len(), 4);
    assert!(
        actions(&rest)
            .iter()
            .all(|a| *a != "accesskey.create" && *a != "accesskey.exchange")
    );

    assert_eq!(
        search(&server, json!({"remoteAddresses": ["127.0.0.1"]}))
            .await
            .len(),
        7
    );
    assert!(
        search(&server, json!({"remoteAddresses": ["10.0.0.1"]}))
            .await
            .is_empty()
    );

    // The create event's data names the key: text finds it, ignoring case.
    let named = search(&server, json!({"text": "OTHER"})).await;
    assert_eq!(actions(&named), ["accesskey.create"]);
    assert_eq!(named[0]["externalIds"], json!([other]));

    let newest = all[0]["occurred"].as_i64().unwrap();
    let oldest = all[6]["occurred"].as_i64().unwrap();
    assert_eq!(
        search(&server, json!({"from": oldest, "to": newest})).await.len(),
        7
    );
    // The Python SDK sends `timestamp() * 1000`, a float.
    let (from, to) = (oldest as f64 - 0.5, newest as f64 + 0.5);
    assert_eq!(search(&server, json!({"from": from, "to": to})).await.len(), 7);
    assert!(
        search(&server, json!({"from": newest as f64 + 0.5}))
            .await
            .is_empty()
    );
    assert!(search(&server, json!({"from": newest + 1})).await.is_empty());
    assert!(search(&server, json!({"to": oldest - 1})).await.is_empty());

    // ak records no device, method or geo: such a filter matches nothing.
    for field in ["devices", "methods", "geos"] {
        assert!(search(&server, json!({field: ["x"]})).await.is_empty(), "{field}");
        assert_eq!(search(&server, json!({field: []})).await.len(), 7, "{field}");
    }

    // Tenants: an application event names one.
    let (status, got) = server
        .post(
            EVENT,
            json!({"action": "app.export", "type": "info", "actorId": "svc", "tenantId": "t1", "userId": other, "data": {"rows": 3}}),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    let tenant = search(&server, json!({"tenants": ["t1"]})).await;
    assert_eq!(actions(&tenant), ["app.export"]);
    assert!(search(&server, json!({"tenants": ["t2"]})).await.is_empty());
    // noTenants (the Python SDK always sends it): tenantless events match a tenants filter too.
    assert_eq!(search(&server, json!({"noTenants": true})).await.len(), 8);
    assert_eq!(search(&server, json!({"noTenants": false})).await.len(), 8);
    assert_eq!(
        search(&server, json!({"tenants": ["t2"], "noTenants": true}))
            .await
            .len(),
        7
    );
    assert_eq!(
        search(&server, json!({"tenants": ["t1"], "noTenants": true}))
            .await
            .len(),
        8
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_events() {
    let server = start(ServerConfig::default()).await;
    let (status, got) = server
        .post(
            EVENT,
            json!({"action": "app.report", "type": "warn", "actorId": "svc-1", "tenantId": "t1", "userId": "u1", "data": {"rows": 3}}),
        )
        .await;
    assert_eq!((status, got), (200, json!({})));
    // The SDKs send null for unset optional fields.
    let (status, got) = server
        .post(
            EVENT,
            json!({"action": "app.ping", "type": "info", "actorId": "svc-1", "tenantId": null, "userId": null, "data": null}),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    let audits = search(&server, json!({"actions": ["app.report", "app.ping"]})).await;
    assert_eq!(actions(&audits), ["app.ping", "app.report"]);
    let report = &audits[1];
    assert_eq!(report["userId"], "svc-1");
    assert_eq!(report["externalIds"], json!(["u1"]));
    assert_eq!(report["tenants"], json!(["t1"]));
    assert_eq!(report["remoteAddress"], "127.0.0.1");
    assert_eq!(report["data"]["rows"], 3);
    assert_eq!(report["data"]["type"], "warn");
    assert_eq!(audits[0]["externalIds"], json!([]));

    // ak's own names are refused, and nothing is recorded.
    for action in [
        "accesskey.create",
        "managementkey.delete",
        "signingkey.rotate",
        "webhook.create",
    ] {
        let got = server
            .post(
                EVENT,
                json!({"action": action, "type": "info", "actorId": "svc-1", "tenantId": "t1"}),
            )
            .await;
        assert_error(&got, 400, "E011003");
    }
    let ours = search(&server, json!({"actions": ["accesskey.create", "managementkey.delete", "signingkey.rotate", "webhook.create"]})).await;
    assert!(ours.is_empty(), "{ours:?}");

    let base = json!({"action": "app.x", "type": "info", "actorId": "svc-1"});
    for (missing, code) in [("action", "E011002"), ("type", "E011002"), ("actorId", "E011002")] {
        let mut event = base.clone();
        event[missing] = Value::Null;
        assert_error(&server.post(EVENT, event).await, 400, code);
    }
    let mut event = base.clone();
    event["type"] = json!("debug");
    assert_error(&server.post(EVENT, event).await, 400, "E011003");
    let mut event = base.clone();
    event["action"] = json!("a\u{0}b");
    assert_error(&server.post(EVENT, event).await, 400, "E011003");
    // Writing needs a full key.
    assert_error(
        &server.post_as(&server.reader, EVENT, base.clone()).await,
        403,
        "E011403",
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_credentials() {
    let server = start(ServerConfig::default()).await;
    for bad in [
        json!({"userIds": "x"}),
        json!({"from": "yesterday"}),
        json!({"to": true}),
        json!({"noTenants": 1}),
        json!({"actions": [1]}),
    ] {
        assert_error(&server.post(SEARCH, bad).await, 400, "E011001");
    }
    let many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    assert_error(
        &server.post(SEARCH, json!({"userIds": many})).await,
        400,
        "E011003",
    );
    assert_error(
        &server.post(SEARCH, json!({"text": "x".repeat(257)})).await,
        400,
        "E011003",
    );
    assert_error(&server.post(SEARCH, json!({"from": 1e300})).await, 400, "E011003");
    assert_error(&server.post(EVENT, json!({"data": 5})).await, 400, "E011001");

    for path in [SEARCH, EVENT] {
        let response = server
            .client
            .post(server.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(&decode(response).await, 401, "E011401");
        assert_error(&server.post_as("wrong", path, json!({})).await, 401, "E011401");
    }
    server.stop().await;
}
