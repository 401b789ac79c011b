//! `/v1/mgmt/webhook/{create,list,delete}` over real HTTP.

mod common;

use ak::webhook::WebhookStore;
use ak_server::ServerConfig;
use common::{assert_error, start};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_delete() {
    let server = start(ServerConfig::default()).await;
    let (status, created) = server
        .post(
            "/v1/mgmt/webhook/create",
            json!({"url": "https://hooks.example.com/ak", "actions": ["accesskey.*"]}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(secret.len(), "whsec_".len() + 44);
    let webhook = &created["webhook"];
    let id = webhook["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wh"));
    assert_eq!(webhook["url"], "https://hooks.example.com/ak");
    assert_eq!(webhook["actions"], json!(["accesskey.*"]));
    assert!(webhook["createdTime"].is_i64());
    let admin_id = server
        .management
        .list()
        .unwrap()
        .into_iter()
        .find(|key| !key.read_only)
        .unwrap()
        .id;
    assert_eq!(webhook["createdBy"], admin_id.as_str());
    // The store holds the secret only sealed.
    let record = server.store.get_webhook(&id).unwrap().unwrap();
    let key = secret.strip_prefix("whsec_").unwrap();
    let stored = serde_json::to_string(&record).unwrap();
    assert!(!stored.contains(key));

    let (status, listed) = server.get_as(&server.admin, "/v1/mgmt/webhook/list").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(listed["webhooks"][0]["id"], id.as_str());
    assert!(!listed.to_string().contains(key), "list never shows the secret");
    assert!(listed["webhooks"][0].get("secret").is_none());

    let (status, body) = server.post("/v1/mgmt/webhook/delete", json!({"id": id})).await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = server.get_as(&server.admin, "/v1/mgmt/webhook/list").await;
    assert_eq!(listed["webhooks"], json!([]));
    let again = server.post("/v1/mgmt/webhook/delete", json!({"id": id})).await;
    assert_error(&again, 404, "E011404");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_read_only_keys_are_refused() {
    let server = start(ServerConfig::default()).await;
    let secret_url = "https://token:s3cr3t@hooks.example.com/";
    for (body, status, code) in [
        (json!({}), 400, "E011002"),
        (json!({"url": ""}), 400, "E011002"),
        (json!({"url": "ftp://hooks.example.com/"}), 400, "E011003"),
        (json!({"url": secret_url}), 400, "E011003"),
        (json!({"url": "https://e.co/", "actions": ["*"]}), 400, "E011003"),
        (json!({"url": 5}), 400, "E011001"),
    ] {
        let got = server.post("/v1/mgmt/webhook/create", body.clone()).await;
        assert_error(&got, status, code);
        assert!(!got.1.to_string().contains("s3cr3t"), "{body}");
    }
    assert!(server.store.list_webhooks().unwrap().is_empty());

    let reader = server.reader.clone();
    let got = server
        .post_as(
            &reader,
            "/v1/mgmt/webhook/create",
            json!({"url": "https://e.co/"}),
        )
        .await;
    assert_error(&got, 403, "E011403");
    let got = server.get_as(&reader, "/v1/mgmt/webhook/list").await;
    assert_error(&got, 403, "E011403");
    let got = server
        .post_as(&reader, "/v1/mgmt/webhook/delete", json!({"id": "wh1"}))
        .await;
    assert_error(&got, 403, "E011403");
    let got = server.get_as("akmgmt-wrong", "/v1/mgmt/webhook/list").await;
    assert_error(&got, 401, "E011401");
    assert!(server.store.list_webhooks().unwrap().is_empty());
    server.stop().await;
}
