//! The admin console's security properties, over HTTP: headers, cookie flags, CSRF, read-only
//! refusal, sign-out, and where cleartexts may appear.

mod common;

use ak_server::{ServerConfig, TlsConfig};
use common::{PROJECT, TestServer, start, start_with};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{Value, json};

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// What one console request answered.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers.get(LOCATION).map_or("", |v| v.to_str().unwrap())
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        self.body[start..start + self.body[start..].find('"').unwrap()].to_owned()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// A signed-in browser: its cookie and a CSRF token.
struct Console<'a> {
    server: &'a TestServer,
    client: reqwest::Client,
    origin: String,
    cookie: String,
}

impl Console<'_> {
    async fn get(&self, path: &str) -> Answer {
        answer(
            self.client
                .get(self.server.url(path))
                .header("cookie", &self.cookie)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A form POST with this session's cookie, from `origin` (None: no Origin header).
    async fn post_from(&self, origin: Option<&str>, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut request = self
            .client
            .post(self.server.url(path))
            .header("cookie", &self.cookie)
            .form(form);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        answer(request.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_from(Some(&self.origin.clone()), path, form).await
    }

    async fn csrf(&self) -> String {
        self.get("/console/keys").await.csrf()
    }
}

async fn sign_in_raw(server: &TestServer, key: &str) -> Answer {
    answer(
        browser()
            .post(server.url("/console/sign-in"))
            .header("origin", &server.base)
            .form(&[("key", key)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn sign_in<'a>(server: &'a TestServer, key: &str) -> Console<'a> {
    let signed = sign_in_raw(server, key).await;
    assert_eq!(
        (signed.status, signed.location()),
        (303, "/console/keys"),
        "{}",
        signed.body
    );
    let cookie = signed.header("set-cookie").split(';').next().unwrap().to_owned();
    Console {
        server,
        client: browser(),
        origin: server.base.clone(),
        cookie,
    }
}

async fn key_count(server: &TestServer) -> usize {
    let (status, found) = server.post("/v1/mgmt/accesskey/search", json!({})).await;
    assert_eq!(status, 200);
    found["keys"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_has_a_strict_csp_and_no_store() {
    let server = start(ServerConfig::default()).await;
    let console = sign_in(&server, &server.admin).await;
    let (id, _) = server.create(json!({"name": "shown"})).await;
    let pages = [
        "/console/sign-in".to_owned(),
        "/console/keys".to_owned(),
        "/console/keys/new".to_owned(),
        format!("/console/keys/{id}"),
        format!("/console/keys/{id}/delete"),
        "/console/management-keys".to_owned(),
        "/console/signing-keys".to_owned(),
        "/console/assets/console.js".to_owned(),
    ];
    let missing = console.get("/console/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("no console page"), "{}", missing.body);
    assert!(
        missing
            .header("content-security-policy")
            .contains("default-src 'none'")
    );
    for page in pages {
        let got = console.get(&page).await;
        assert_eq!(got.status, 200, "{page}: {}", got.body);
        let csp = got.header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{page}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{page}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"));
        assert_eq!(got.header("cache-control"), "no-store", "{page}");
        assert_eq!(got.header("x-content-type-options"), "nosniff", "{page}");
        if !page.ends_with(".js") {
            // No inline script or style, no other origin.
            assert!(
                !got.body.contains("<script>") && !got.body.contains("style="),
                "{page}"
            );
            assert!(
                !got.body.contains("http://") && !got.body.contains("https://"),
                "{page}"
            );
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_httponly_strict_and_holds_no_key() {
    let server = start(ServerConfig::default()).await;
    let signed = sign_in_raw(&server, &server.admin).await;
    let cookie = signed.header("set-cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=3600"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(!cookie.contains(&server.admin));
    // `<projectId>:<key>` is accepted too.
    let prefixed = sign_in_raw(&server, &format!("{PROJECT}:{}", server.admin)).await;
    assert_eq!(prefixed.status, 303);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_secure_under_tls() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let tls =
        TlsConfig::from_pem(cert_pem.as_bytes(), certified.key_pair.serialize_pem().as_bytes()).unwrap();
    let server = start_with(ServerConfig::default(), Some(tls)).await;
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", server.addr)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", server.addr.port());
    let signed = client
        .post(format!("{base}/console/sign-in"))
        .header("origin", &base)
        .form(&[("key", server.admin.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 303);
    let cookie = signed.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_get_a_clear_error_and_share_the_api_rate_limit() {
    let mut config = ServerConfig::default();
    config.auth_failure_burst = 2;
    config.auth_failures_per_second = 0.01;
    let server = start(config).await;
    let wrong = sign_in_raw(&server, "K2not-a-key").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("was not accepted"), "{}", wrong.body);
    assert!(wrong.header("set-cookie").is_empty());
    assert_eq!(sign_in_raw(&server, "").await.status, 401);
    // The burst is spent: the console and the API both answer 429, before any verification.
    let limited = sign_in_raw(&server, &server.admin).await;
    assert_eq!(limited.status, 429);
    assert!(
        limited.body.contains("Too many failed sign-ins"),
        "{}",
        limited.body
    );
    let (status, _) = server.post("/v1/mgmt/accesskey/search", json!({})).await;
    assert_eq!(status, 429);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_need_this_origin_and_the_session_token() {
    let server = start(ServerConfig::default()).await;
    let console = sign_in(&server, &server.admin).await;
    let csrf = console.csrf().await;
    let form = [("csrf", csrf.as_str()), ("name", "csrf test")];
    // Another site's form, a missing Origin and Referer, a missing or wrong token: refused.
    let refused = [
        console
            .post_from(Some("http://evil.example"), "/console/keys", &form)
            .await,
        console.post_from(None, "/console/keys", &form).await,
        console.post("/console/keys", &[("name", "no token")]).await,
        console
            .post("/console/keys", &[("csrf", "forged"), ("name", "forged")])
            .await,
    ];
    for got in &refused {
        assert_eq!(got.status, 403, "{}", got.body);
    }
    assert!(refused[0].body.contains("did not come from this console"));
    assert!(refused[2].body.contains("security token does not match"));
    assert_eq!(key_count(&server).await, 0, "a refused form changed nothing");
    // A Referer from this origin stands in for a missing Origin.
    let with_referer = console
        .client
        .post(server.url("/console/keys"))
        .header("cookie", &console.cookie)
        .header("referer", server.url("/console/keys/new"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(with_referer.status().as_u16(), 200);
    assert_eq!(key_count(&server).await, 1);
    // Sign-in from another site is refused too.
    let login = browser()
        .post(server.url("/console/sign-in"))
        .header("origin", "http://evil.example")
        .form(&[("key", server.admin.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 403);
    assert!(login.headers().get(SET_COOKIE).is_none());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_key_sees_everything_and_changes_nothing() {
    let server = start(ServerConfig::default()).await;
    let (id, _) = server
        .create(json!({"name": "visible", "keyTenants": [{"tenantId": "t1"}]}))
        .await;
    let reader = sign_in(&server, &server.reader).await;
    let table = reader.get("/console/keys").await;
    assert!(table.body.contains("visible") && table.body.contains("(read-only)"));
    assert!(!table.body.contains("Create a key") && !table.body.contains("name=\"action\""));
    let page = reader.get(&format!("/console/keys/{id}")).await;
    assert!(page.body.contains("visible"));
    for absent in [
        "Deactivate",
        "Rotate the secret",
        "Save changes",
        "Delete this key",
    ] {
        assert!(!page.body.contains(absent), "{absent}");
    }
    assert_eq!(reader.get("/console/keys/new").await.status, 403);
    // The server refuses anyway, with a valid token from this origin.
    let csrf = reader.get("/console/keys").await.csrf(); // the sign-out form carries it
    let id_field = id.as_str();
    let attempts = [
        (
            "/console/keys".to_owned(),
            vec![("csrf", csrf.as_str()), ("name", "sneaky")],
        ),
        (
            format!("/console/keys/{id}/deactivate"),
            vec![("csrf", csrf.as_str())],
        ),
        (
            format!("/console/keys/{id}/delete"),
            vec![("csrf", csrf.as_str())],
        ),
        (
            format!("/console/keys/{id}/rotate"),
            vec![("csrf", csrf.as_str()), ("grace", "0")],
        ),
        (
            format!("/console/keys/{id}/edit"),
            vec![("csrf", csrf.as_str()), ("name", "renamed")],
        ),
        (
            "/console/keys/batch".to_owned(),
            vec![
                ("csrf", csrf.as_str()),
                ("id", id_field),
                ("action", "delete"),
                ("confirmed", "1"),
            ],
        ),
        (
            "/console/management-keys".to_owned(),
            vec![("csrf", csrf.as_str()), ("name", "escalate")],
        ),
        (
            "/console/signing-keys/rotate".to_owned(),
            vec![("csrf", csrf.as_str())],
        ),
    ];
    for (path, form) in &attempts {
        let got = reader.post(path, form).await;
        assert_eq!(got.status, 403, "{path}: {}", got.body);
        assert!(got.body.contains("read-only"), "{path}");
    }
    let (_, loaded) = server
        .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={id}"))
        .await;
    assert_eq!(
        (loaded["key"]["name"].as_str(), loaded["key"]["status"].as_str()),
        (Some("visible"), Some("active"))
    );
    assert_eq!(key_count(&server).await, 1);
    assert_eq!(server.management.list().unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_and_revocation_end_the_session_at_once() {
    let server = start(ServerConfig::default()).await;
    let console = sign_in(&server, &server.admin).await;
    assert_eq!(console.get("/console/keys").await.status, 200);
    let csrf = console.csrf().await;
    // Sign-out needs the token too (no one else can sign you out).
    assert_eq!(console.post("/console/sign-out", &[]).await.status, 403);
    let out = console.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/console/sign-in"));
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    // The old cookie is refused for reading and for changing.
    let after = console.get("/console/keys").await;
    assert_eq!((after.status, after.location()), (303, "/console/sign-in"));
    let change = console
        .post("/console/keys", &[("csrf", &csrf), ("name", "after sign-out")])
        .await;
    assert_eq!((change.status, change.location()), (303, "/console/sign-in"));
    assert_eq!(key_count(&server).await, 0);

    // Deleting the management key ends its sessions on the next request.
    let temporary = server.management.create("temporary", false, "").unwrap();
    let other = sign_in(&server, temporary.cleartext.expose_secret()).await;
    assert_eq!(other.get("/console/keys").await.status, 200);
    server.management.delete(&temporary.key.id).unwrap();
    assert_eq!(other.get("/console/keys").await.location(), "/console/sign-in");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleartexts_appear_only_in_the_create_and_rotate_answers() {
    let server = start(ServerConfig::default()).await;
    let console = sign_in(&server, &server.admin).await;
    let csrf = console.csrf().await;
    let created = console
        .post(
            "/console/keys",
            &[
                ("csrf", &csrf),
                ("name", "shown once"),
                ("expires", "30d"),
                ("tenants", "t1: admin\nt2"),
                ("ips", "127.0.0.1/32, 10.0.0.0/8"),
                ("claims", "{\"team\": \"billing\"}"),
            ],
        )
        .await;
    // Shown in the answer itself: no redirect, no URL, not cached.
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.location().is_empty());
    assert_eq!(created.header("cache-control"), "no-store");
    let marker = "id=\"cleartext\" type=\"text\" readonly value=\"";
    let start = created.body.find(marker).expect("the cleartext field") + marker.len();
    let cleartext = created.body[start..start + created.body[start..].find('"').unwrap()].to_owned();
    let (status, _) = server.exchange(&cleartext, json!({})).await;
    assert_eq!(status, 200, "the shown cleartext exchanges");
    let (_, found) = server.post("/v1/mgmt/accesskey/search", json!({})).await;
    let key = &found["keys"][0];
    let id = key["id"].as_str().unwrap().to_owned();
    assert_eq!(key["keyTenants"][0]["roleNames"], json!(["admin"]));
    assert_eq!(key["permittedIps"], json!(["127.0.0.1/32", "10.0.0.0/8"]));
    assert_eq!(key["customClaims"]["team"], "billing");
    // The key's page and the table never show it again.
    for page in ["/console/keys".to_owned(), format!("/console/keys/{id}")] {
        assert!(!console.get(&page).await.body.contains(&cleartext), "{page}");
    }
    // Rotation shows the new one the same way; later redirects carry neither.
    let rotated = console
        .post(
            &format!("/console/keys/{id}/rotate"),
            &[("csrf", &csrf), ("grace", "0")],
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert!(rotated.location().is_empty() && !rotated.body.contains(&cleartext));
    let deactivated = console
        .post(&format!("/console/keys/{id}/deactivate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(deactivated.status, 303);
    assert!(!deactivated.location().contains(&cleartext));
    let flashed = console.get(deactivated.location()).await;
    assert!(flashed.body.contains("Key deactivated"));
    assert!(!flashed.body.contains(&cleartext));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_shown_next_to_its_field_and_changes_nothing() {
    let server = start(ServerConfig::default()).await;
    let console = sign_in(&server, &server.admin).await;
    let csrf = console.csrf().await;
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case<'_>; 5] = [
        (&[("name", "")], "name-error", "needs a name"),
        (
            &[("name", "x"), ("claims", "{oops")],
            "claims-error",
            "is not valid JSON",
        ),
        (
            &[("name", "x"), ("attributes", "[1]")],
            "attributes-error",
            "must be a JSON object",
        ),
        (
            &[("name", "x"), ("ips", "not-an-ip")],
            "ips-error",
            "not an IP address",
        ),
        (
            &[("name", "x"), ("roles", "a"), ("tenants", "t1")],
            "tenants-error",
            "mutually exclusive",
        ),
    ];
    for (fields, error_id, words) in cases {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let got = console.post("/console/keys", &form).await;
        assert_eq!(got.status, 400, "{words}: {}", got.body);
        let at = got
            .body
            .find(&format!("id=\"{error_id}\""))
            .unwrap_or_else(|| panic!("{error_id} in {}", got.body));
        let rest = &got.body[at..];
        let end = rest.find("</p>").unwrap();
        assert!(rest[..end].contains(words), "{error_id}: {}", &rest[..end]);
    }
    assert_eq!(key_count(&server).await, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_keeps_unticked_fields_and_batch_confirms_the_count() {
    let server = start(ServerConfig::default()).await;
    let console = sign_in(&server, &server.admin).await;
    let csrf = console.csrf().await;
    let (id, _) = server
        .create(json!({"name": "before", "description": "kept", "roleNames": ["r1"], "permittedIps": ["10.0.0.1"]}))
        .await;
    let edited = console
        .post(
            &format!("/console/keys/{id}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "after"),
                ("description", "ignored: not ticked"),
                ("set_roles", "1"),
                ("roles", "r2, r3"),
                ("ips", "ignored"),
            ],
        )
        .await;
    assert_eq!(edited.status, 303, "{}", edited.body);
    let (_, loaded) = server
        .get_as(&server.admin, &format!("/v1/mgmt/accesskey?id={id}"))
        .await;
    let key = &loaded["key"];
    assert_eq!(key["name"], "after");
    assert_eq!(key["description"], "kept");
    assert_eq!(key["roleNames"], json!(["r2", "r3"]));
    assert_eq!(key["permittedIps"], json!(["10.0.0.1"]));

    let mut ids = vec![id];
    for n in 0..2 {
        ids.push(server.create(json!({"name": format!("batch {n}")})).await.0);
    }
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("id", id.as_str())).collect();
    form.push(("csrf", &csrf));
    form.push(("action", "delete"));
    let confirm = console.post("/console/keys/batch", &form).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete 3 keys"), "{}", confirm.body);
    assert_eq!(key_count(&server).await, 3, "asking to confirm changes nothing");
    form.push(("confirmed", "1"));
    let deleted = console.post("/console/keys/batch", &form).await;
    assert_eq!(deleted.status, 303);
    assert_eq!(key_count(&server).await, 0);
    assert!(console.get("/console/keys").await.body.contains("3 keys deleted"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_key_changes_in_the_console_are_in_the_audit_trail() {
    let server = start(ServerConfig::default()).await;
    let console = sign_in(&server, &server.admin).await;
    let csrf = console.csrf().await;
    let created = console
        .post(
            "/console/management-keys",
            &[("csrf", &csrf), ("name", "made in the console")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let made = server
        .management
        .list()
        .unwrap()
        .into_iter()
        .find(|key| key.name == "made in the console")
        .expect("the new management key");
    let revoked = console
        .post(
            &format!("/console/management-keys/{}/revoke", made.id),
            &[("csrf", &csrf), ("confirmed", "1")],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert!(
        server
            .management
            .list()
            .unwrap()
            .iter()
            .all(|key| key.id != made.id)
    );

    let (status, found) = server
        .post(
            "/v1/mgmt/audit/search",
            json!({"actions": ["managementkey.create", "managementkey.delete"]}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    let audits = found["audits"].as_array().unwrap();
    let seen: Vec<(&str, &str, &Value)> = audits
        .iter()
        .map(|event| {
            (
                event["action"].as_str().unwrap(),
                event["userId"].as_str().unwrap(),
                &event["externalIds"],
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "managementkey.delete",
                server.admin_id.as_str(),
                &json!([made.id])
            ),
            (
                "managementkey.create",
                server.admin_id.as_str(),
                &json!([made.id])
            ),
        ],
        "newest first, the signed-in key as the actor"
    );
    server.stop().await;
}
