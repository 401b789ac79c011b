//! Every management endpoint over real HTTP, with the bodies each SDK sends.

mod common;

use ak_server::ServerConfig;
use common::{PROJECT, assert_error, start};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_with_every_field_load_search_update() {
    let server = start(ServerConfig::default()).await;
    // Python: every field, null when unset.
    let (status, created) = server
        .post(
            "/v1/mgmt/accesskey/create",
            json!({"name": "py", "expireTime": 0, "roleNames": [], "keyTenants": [], "userId": null,
                   "customClaims": null, "description": null, "permittedIps": null, "customAttributes": null}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let key = &created["key"];
    assert!(created["cleartext"].as_str().unwrap().starts_with("ak_"));
    for (field, value) in [
        ("description", json!("")),
        ("permittedIps", json!([])),
        ("roleNames", json!([])),
        ("keyTenants", json!([])),
        ("expireTime", json!(0)),
        ("boundUserId", json!("")),
        ("status", json!("active")),
        ("customClaims", json!({})),
        ("customAttributes", json!({})),
        ("clientId", json!("")),
        ("editable", json!(true)),
    ] {
        assert_eq!(key[field], value, "{field}: {key}");
    }
    assert!(key["createdTime"].is_i64());
    assert!(key["createdTime"].as_i64().unwrap() <= i64::from(i32::MAX));
    let admin_id = server
        .management
        .list()
        .unwrap()
        .into_iter()
        .find(|k| !k.read_only)
        .unwrap()
        .id;
    assert_eq!(key["createdBy"], admin_id.as_str(), "the creating management key");

    // Go: "" and null, every key present; Node: fields omitted; .NET: expireTime as a string.
    let future = 2_000_000_000_i64;
    let (status, go) = server
        .post(
            "/v1/mgmt/accesskey/create",
            json!({"name": "go", "description": "", "expireTime": future, "roleNames": null,
                   "keyTenants": [{"tenantId": "t1", "roleNames": null}, {"tenantId": "t2", "roleNames": ["r"]}],
                   "userId": "", "customClaims": {"k1": "v1"}, "permittedIps": ["10.0.0.0/8", "127.0.0.1"],
                   "customAttributes": {"team": "infra"}}),
        )
        .await;
    assert_eq!(status, 200, "{go}");
    assert_eq!(go["key"]["expireTime"], future);
    assert_eq!(
        go["key"]["keyTenants"],
        json!([{"tenantId": "t1", "tenantName": "", "roleNames": []}, {"tenantId": "t2", "tenantName": "", "roleNames": ["r"]}])
    );
    let (status, dotnet) = server
        .post(
            "/v1/mgmt/accesskey/create",
            json!({"name": "net", "expireTime": future.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{dotnet}");
    assert_eq!(dotnet["key"]["expireTime"], future);
    let (node_id, _) = server
        .create(json!({"name": "node", "roleNames": ["admin"]}))
        .await;

    // Load.
    let go_id = go["key"]["id"].as_str().unwrap();
    let (status, loaded) = server
        .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={go_id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(loaded["key"], go["key"]);

    // Search: Go's empty body (no content type), Node's {}, Python's nulls, filters, sort.
    let empty = server
        .client
        .post(server.url("/v1/mgmt/accesskey/search"))
        .bearer_auth(format!("{PROJECT}:{}", server.admin))
        .send()
        .await
        .unwrap();
    let (status, all) = common::decode(empty).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["keys"].as_array().unwrap().len(), 4);
    let (_, node_all) = server.post("/v1/mgmt/accesskey/search", json!({})).await;
    assert_eq!(node_all["keys"].as_array().unwrap().len(), 4);
    let (_, python) = server
        .post(
            "/v1/mgmt/accesskey/search",
            json!({"tenantIds": [], "boundUserId": null, "creatingUser": null, "customAttributes": null}),
        )
        .await;
    assert_eq!(python["keys"].as_array().unwrap().len(), 4);
    let (_, tenant) = server
        .post("/v1/mgmt/accesskey/search", json!({"tenantIds": ["t2"]}))
        .await;
    assert_eq!(tenant["keys"][0]["id"], go_id);
    assert_eq!(tenant["keys"].as_array().unwrap().len(), 1);
    let (_, attrs) = server
        .post(
            "/v1/mgmt/accesskey/search",
            json!({"customAttributes": {"team": "infra"}}),
        )
        .await;
    assert_eq!(attrs["keys"].as_array().unwrap().len(), 1);
    let (_, sorted) = server
        .post(
            "/v1/mgmt/accesskey/search",
            json!({"sort": [{"field": "name", "desc": true}]}),
        )
        .await;
    let names: Vec<&str> = sorted["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["py", "node", "net", "go"]);
    let creator = key["createdBy"].as_str().unwrap();
    let (_, by_creator) = server
        .post("/v1/mgmt/accesskey/search", json!({"creatingUser": creator}))
        .await;
    assert_eq!(by_creator["keys"].as_array().unwrap().len(), 4);

    // Update: id and name required; absent/null keep, empty clears.
    let (status, updated) = server
        .post(
            "/v1/mgmt/accesskey/update",
            json!({"id": go_id, "name": "go2", "description": null, "permittedIps": [], "customClaims": {"k2": 2}}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["key"]["name"], "go2");
    assert_eq!(updated["key"]["permittedIps"], json!([]));
    assert_eq!(updated["key"]["customClaims"], json!({"k2": 2}));
    assert_eq!(updated["key"]["customAttributes"], json!({"team": "infra"}));
    let (status, kept) = server
        .post(
            "/v1/mgmt/accesskey/update",
            json!({"id": node_id, "name": "node2", "roleNames": null}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(kept["key"]["roleNames"], json!(["admin"]));
    assert_error(
        &server
            .post("/v1/mgmt/accesskey/update", json!({"id": node_id}))
            .await,
        400,
        "E011002",
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_rotate_batches_delete_and_license() {
    let server = start(ServerConfig::default()).await;
    let (id, cleartext) = server.create(json!({"name": "k"})).await;
    assert_eq!(server.exchange(&cleartext, json!({})).await.0, 200);

    let done = server
        .post("/v1/mgmt/accesskey/deactivate", json!({"id": id}))
        .await;
    assert_eq!(done, (200, json!({})));
    assert_error(&server.exchange(&cleartext, json!({})).await, 401, "E011401");
    assert_eq!(
        server
            .post("/v1/mgmt/accesskey/activate", json!({"id": id}))
            .await,
        (200, json!({}))
    );
    assert_eq!(server.exchange(&cleartext, json!({})).await.0, 200);

    let (status, rotated) = server.post("/v1/mgmt/accesskey/rotate", json!({"id": id})).await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["key"]["id"], id.as_str());
    let new_secret = rotated["cleartext"].as_str().unwrap();
    assert_ne!(new_secret, cleartext);
    assert_error(&server.exchange(&cleartext, json!({})).await, 401, "E011401");
    assert_eq!(server.exchange(new_secret, json!({})).await.0, 200);

    let (a, _) = server.create(json!({"name": "a"})).await;
    let (b, _) = server.create(json!({"name": "b"})).await;
    let ids = json!({"ids": [a, b]});
    assert_eq!(
        server
            .post("/v1/mgmt/accesskey/deactivate/batch", ids.clone())
            .await,
        (200, json!({}))
    );
    let (_, loaded) = server
        .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={a}"))
        .await;
    assert_eq!(loaded["key"]["status"], "inactive");
    assert_eq!(
        server
            .post("/v1/mgmt/accesskey/activate/batch", ids.clone())
            .await,
        (200, json!({}))
    );
    let (_, loaded) = server
        .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={b}"))
        .await;
    assert_eq!(loaded["key"]["status"], "active");
    // An unknown id fails the whole batch and changes nothing.
    assert_error(
        &server
            .post("/v1/mgmt/accesskey/delete/batch", json!({"ids": [a, "nope"]}))
            .await,
        404,
        "E011404",
    );
    assert_eq!(
        server
            .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={a}"))
            .await
            .0,
        200
    );
    assert_eq!(
        server.post("/v1/mgmt/accesskey/delete/batch", ids).await,
        (200, json!({}))
    );
    assert_error(
        &server
            .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={a}"))
            .await,
        404,
        "E011404",
    );

    assert_eq!(
        server.post("/v1/mgmt/accesskey/delete", json!({"id": id})).await,
        (200, json!({}))
    );
    assert_error(&server.exchange(new_secret, json!({})).await, 401, "E011401");
    for path in ["delete", "activate", "deactivate", "rotate"] {
        assert_error(
            &server
                .post(&format!("/v1/mgmt/accesskey/{path}"), json!({"id": id}))
                .await,
            404,
            "E011404",
        );
        assert_error(
            &server
                .post(&format!("/v1/mgmt/accesskey/{path}"), json!({}))
                .await,
            400,
            "E011002",
        );
    }
    assert_error(
        &server
            .post("/v1/mgmt/accesskey/update", json!({"id": id, "name": "x"}))
            .await,
        404,
        "E011404",
    );
    assert_error(
        &server.get_as(&server.admin, "/v1/mgmt/accesskey").await,
        400,
        "E011002",
    );
    assert_error(
        &server
            .post("/v1/mgmt/accesskey/activate/batch", json!({"ids": []}))
            .await,
        400,
        "E011002",
    );

    let license = server.get_as(&server.reader, "/v1/mgmt/license").await;
    assert_eq!(license, (200, json!({"rateLimitTier": "ak"})));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_keys_only_read_and_revoked_keys_stop_at_once() {
    let server = start(ServerConfig::default()).await;
    let (id, _) = server.create(json!({"name": "k"})).await;
    let reader = server.reader.clone();
    assert_eq!(
        server
            .get_as(&reader, &format!("/v1/mgmt/accesskey?id={id}"))
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .post_as(&reader, "/v1/mgmt/accesskey/search", json!({}))
            .await
            .0,
        200
    );
    let writes: [(&str, Value); 10] = [
        ("create", json!({"name": "x"})),
        ("update", json!({"id": id, "name": "x"})),
        ("activate", json!({"id": id})),
        ("deactivate", json!({"id": id})),
        ("delete", json!({"id": id})),
        ("rotate", json!({"id": id})),
        ("activate/batch", json!({"ids": [id]})),
        ("deactivate/batch", json!({"ids": [id]})),
        ("delete/batch", json!({"ids": [id]})),
        ("create", json!({})),
    ];
    for (path, body) in writes {
        assert_error(
            &server
                .post_as(&reader, &format!("/v1/mgmt/accesskey/{path}"), body)
                .await,
            403,
            "E011403",
        );
    }
    let (_, loaded) = server
        .get_as(&reader, &format!("/v1/mgmt/accesskey?id={id}"))
        .await;
    assert_eq!(loaded["key"]["status"], "active", "nothing changed");

    // Deleting a management key (e.g. with the CLI, on the same store) takes effect at once.
    let reader_id = server
        .management
        .list()
        .unwrap()
        .into_iter()
        .find(|key| key.read_only)
        .unwrap()
        .id;
    server.management.delete(&reader_id).unwrap();
    assert_error(
        &server
            .post_as(&reader, "/v1/mgmt/accesskey/search", json!({}))
            .await,
        401,
        "E011401",
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_expiring_and_never_used_keys() {
    let server = start(ServerConfig::default()).await;
    let soon = 2_000_000_000;
    let (_, expiring) = server
        .post(
            "/v1/mgmt/accesskey/create",
            json!({"name": "soon", "expireTime": soon}),
        )
        .await;
    let (_, forever) = server
        .post("/v1/mgmt/accesskey/create", json!({"name": "forever"}))
        .await;
    let ids = |body: &serde_json::Value| -> Vec<String> {
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, found) = server
        .post("/v1/mgmt/accesskey/search", json!({"expiresBefore": soon + 1}))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(ids(&found), [expiring["key"]["id"].as_str().unwrap()]);
    let (_, found) = server
        .post("/v1/mgmt/accesskey/search", json!({"expiresBefore": soon}))
        .await;
    assert!(ids(&found).is_empty());
    let (_, found) = server
        .post(
            "/v1/mgmt/accesskey/search",
            json!({"notUsedSince": 1_000_000_000}),
        )
        .await;
    assert_eq!(ids(&found).len(), 2);
    assert!(
        found["keys"][0].get("lastUsedTime").is_none(),
        "never used: absent"
    );
    assert!(ids(&found).contains(&forever["key"]["id"].as_str().unwrap().to_owned()));
}
