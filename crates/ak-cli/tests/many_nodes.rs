//! Two `ak serve` processes on one PostgreSQL database, started as the README's "Many nodes"
//! section says (the same `AK_STORE` and `AK_MASTER_KEY` on every node): they behave as one.
//!
//! A key created on A exchanges on B; deactivated or deleted on A, B refuses it at once; a
//! signing-key rotation made with the CLI on the store reaches both nodes' JWKS within their
//! refresh interval, and a service verifying against B's JWKS accepts A's new tokens; a
//! management key revoked in A's console stops working on B at once; console sessions stay per
//! node. The database password never shows in any output.
//!
//! Each test runs in its own schema on `AK_TEST_POSTGRES_URL` (default the machine's server),
//! dropped afterwards; without a server it prints "skipped: no PostgreSQL at ..." and passes,
//! unless `AK_REQUIRE_POSTGRES=1`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ak::crates::token::{VerificationOptions, Verifier};
use ak::{Jwks, VerifyError};
use ak_testkit::postgres::TempSchema;
use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const PROJECT: &str = "proj";
/// The nodes' signing-key refresh interval.
const REFRESH: &str = "1s";
/// How long a change may take to reach a node: the refresh interval, with room for a busy machine.
const PATIENCE: Duration = Duration::from_secs(15);

/// The master key every node of these tests is given.
fn master_key() -> String {
    "5e".repeat(32)
}

/// A password put into the store URL (the test server trusts local connections and never asks
/// for it), to check that it appears nowhere.
const PASSWORD: &str = "n0tInAnyLog7q";

/// The schema's store URL, with [`PASSWORD`] as the user's password when the URL names a user
/// without one.
fn store_url(schema: &TempSchema) -> String {
    let url = schema.store_url();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    match rest.split_once('@') {
        Some((user, host)) if !user.contains(':') => format!("{scheme}://{user}:{PASSWORD}@{host}"),
        _ => url,
    }
}

/// The environment of every node and CLI call, as in the README.
struct Deployment {
    dir: tempfile::TempDir,
    store: String,
    master: String,
    /// Everything any process printed, to check for the password at the end.
    output: std::sync::Mutex<String>,
}

impl Deployment {
    fn new(schema: &TempSchema) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            store: store_url(schema),
            master: master_key(),
            output: std::sync::Mutex::new(String::new()),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ak"));
        command.current_dir(self.dir.path());
        for var in [
            "AK_LISTEN",
            "AK_SIGNING_KEYS",
            "AK_MASTER_KEY_FILE",
            "AK_SIGNING_KEY_REFRESH",
        ] {
            command.env_remove(var);
        }
        command
            .env("AK_STORE", &self.store)
            .env("AK_MASTER_KEY", &self.master)
            .env("AK_ISSUER", PROJECT);
        command
    }

    fn record(&self, text: &str) {
        self.output.lock().unwrap().push_str(text);
    }

    /// Runs `ak args...` to completion; its exit code and standard output.
    fn ak(&self, args: &[&str]) -> (i32, String) {
        let output = self.command().args(args).output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        self.record(&stdout);
        self.record(&stderr);
        assert!(
            !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
            "the password leaked: {stdout}{stderr}"
        );
        (output.status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
    }

    fn ak_json(&self, args: &[&str]) -> Value {
        let (code, out) = self.ak(args);
        assert_eq!(code, 0, "ak {args:?}: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ak {args:?}: not JSON ({e}): {out}"))
    }

    /// `ak management-key create --name <name>`: the cleartext and the id.
    fn management_key(&self, name: &str) -> (String, String) {
        let created = self.ak_json(&["--json", "management-key", "create", "--name", name]);
        (
            created["cleartext"].as_str().unwrap().to_owned(),
            created["key"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// `ak serve` on a free port.
    fn serve(&self) -> Node {
        let mut child = self
            .command()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--signing-key-refresh",
                REFRESH,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().strip_prefix("listening on ").map(str::to_owned);
        let mut node = Node {
            child,
            base: base.unwrap_or_default(),
            client: Client::builder().redirect(Policy::none()).build().unwrap(),
        };
        if !node.base.starts_with("http://127.0.0.1:") {
            let (_, log) = node.terminate();
            panic!("ak serve did not start: {line:?} {log}");
        }
        node
    }
}

/// An `ak serve` process, killed (and reaped) on drop even when the test panics.
struct Node {
    child: Child,
    base: String,
    client: Client,
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A management API call with `Authorization: Bearer proj:<key>`.
    fn call(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(format!("{PROJECT}:{key}"))
            .json(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Exchanges an access key: the status and, on success, the session token.
    fn exchange(&self, cleartext: &str) -> (u16, Option<String>) {
        let (status, body) = self.call(cleartext, "/v1/auth/accesskey/exchange", &json!({}));
        (status, body["sessionJwt"].as_str().map(str::to_owned))
    }

    fn jwks(&self) -> Jwks {
        let text = self
            .client
            .get(self.url(&format!("/v2/keys/{PROJECT}")))
            .send()
            .unwrap()
            .text()
            .unwrap();
        Jwks::from_json(&text).unwrap()
    }

    fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.jwks().keys.into_iter().filter_map(|key| key.kid).collect();
        kids.sort();
        kids
    }

    /// Verifies `token` as a service that fetched this node's JWKS would: its kid.
    fn verify(&self, token: &str) -> Result<String, VerifyError> {
        let verifier = Verifier::new(&self.jwks(), VerificationOptions::new().with_issuer(PROJECT)).unwrap();
        verifier
            .verify(token, now())
            .map(|verified| verified.kid().to_owned())
    }

    /// Waits until this node's JWKS lists `kid`.
    fn await_kid(&self, kid: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.kids().iter().any(|k| k == kid) {
            assert!(Instant::now() < deadline, "{} never published {kid}", self.base);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Signs in to the console with a management key: the session cookie.
    fn console_sign_in(&self, key: &str) -> String {
        let response = self
            .client
            .post(self.url("/console/sign-in"))
            .header("origin", &self.base)
            .form(&[("key", key)])
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "sign-in on {}", self.base);
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }

    fn console_get(&self, cookie: &str, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    }

    /// Revokes a management key through this node's console.
    fn console_revoke(&self, cookie: &str, id: &str) {
        let path = format!("/console/management-keys/{id}/revoke");
        let (status, page) = self.console_get(cookie, &path);
        assert_eq!(status, 200, "{page}");
        let marker = "name=\"csrf\" value=\"";
        let start = page.find(marker).expect("a form with a CSRF token") + marker.len();
        let csrf = &page[start..start + page[start..].find('"').unwrap()];
        let response = self
            .client
            .post(self.url(&path))
            .header("cookie", cookie)
            .header("origin", &self.base)
            .form(&[("csrf", csrf)])
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "revoke on {}", self.base);
    }

    /// Stops the server (SIGTERM, as a load balancer's drain would), checks that it exited
    /// cleanly, and returns its log.
    fn stop(&mut self) -> String {
        let (code, log) = self.terminate();
        assert_eq!(code, Some(0), "{} did not stop cleanly: {log}", self.base);
        log
    }

    /// SIGTERM, then SIGKILL after 10 s: the exit code and the log.
    fn terminate(&mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
        (status.code(), log)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}

fn kid_of(node: &Node, token: &str) -> String {
    node.verify(token).unwrap()
}

#[test]
fn two_servers_on_one_postgres_behave_as_one() {
    let Some(schema) = TempSchema::new() else {
        return;
    };
    let deployment = Deployment::new(&schema);
    assert!(Path::new(&env!("CARGO_BIN_EXE_ak")).exists());
    // Set up once, from any machine with the same AK_STORE and AK_MASTER_KEY.
    let (admin, _) = deployment.management_key("admin");
    let mut a = deployment.serve();
    let mut b = deployment.serve();
    for node in [&a, &b] {
        let health: Value = node
            .client
            .get(node.url("/healthz"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(health["status"], "ok");
    }
    let first_kids = a.kids();
    assert_eq!(first_kids.len(), 1);
    assert_eq!(b.kids(), first_kids, "both serve the one set in the store");

    // Create on A, exchange on B (and on A).
    let (status, created) = a.call(&admin, "/v1/mgmt/accesskey/create", &json!({"name": "ci"}));
    assert_eq!(status, 200, "{created}");
    let cleartext = created["cleartext"].as_str().unwrap().to_owned();
    let id = created["key"]["id"].as_str().unwrap().to_owned();
    let (status, token) = b.exchange(&cleartext);
    assert_eq!(status, 200);
    assert_eq!(
        kid_of(&a, &token.unwrap()),
        first_kids[0],
        "A's JWKS verifies B's token"
    );
    assert_eq!(a.exchange(&cleartext).0, 200);

    // Deactivate on A: B refuses at once, no sleep. Activate on B: A accepts at once.
    let (status, body) = a.call(&admin, "/v1/mgmt/accesskey/deactivate", &json!({"id": id}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(b.exchange(&cleartext).0, 401, "B's very next exchange is refused");
    assert_eq!(
        b.call(&admin, "/v1/mgmt/accesskey/activate", &json!({"id": id}))
            .0,
        200
    );
    assert_eq!(a.exchange(&cleartext).0, 200);

    // Rotate on B: A refuses the old secret at once and takes the new one.
    let (status, rotated) = b.call(&admin, "/v1/mgmt/accesskey/rotate", &json!({"id": id}));
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["cleartext"].as_str().unwrap().to_owned();
    assert_eq!(a.exchange(&cleartext).0, 401);
    assert_eq!(a.exchange(&new_secret).0, 200);

    // Signing-key rotation with the CLI, on the same store: both nodes publish the new key within
    // their refresh interval and sign with it; a service verifying with B's JWKS accepts A's tokens.
    let rotated = deployment.ak_json(&["--json", "signing-key", "rotate"]);
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    a.await_kid(&new_kid);
    b.await_kid(&new_kid);
    let (status, token) = a.exchange(&new_secret);
    assert_eq!(status, 200);
    let token = token.unwrap();
    assert_eq!(kid_of(&b, &token), new_kid, "B's JWKS verifies A's new token");
    let (_, from_b) = b.exchange(&new_secret);
    assert_eq!(kid_of(&a, &from_b.unwrap()), new_kid, "B signs with it too");

    // A staged rotation: published on both nodes first, signing only after the delay.
    let staged = deployment.ak_json(&["--json", "signing-key", "rotate", "--activate-after", "10m"]);
    let staged_kid = staged["kid"].as_str().unwrap().to_owned();
    a.await_kid(&staged_kid);
    b.await_kid(&staged_kid);
    assert_eq!(b.kids().len(), 3);
    let (_, token) = a.exchange(&new_secret);
    assert_eq!(
        kid_of(&b, &token.unwrap()),
        new_kid,
        "the staged key does not sign yet"
    );

    // Delete on A: B refuses at once.
    assert_eq!(
        a.call(&admin, "/v1/mgmt/accesskey/delete", &json!({"id": id})).0,
        200
    );
    assert_eq!(b.exchange(&new_secret).0, 401);
    let (status, _) = b.call(&admin, "/v1/mgmt/accesskey/search", &json!({}));
    assert_eq!(status, 200);

    let logs = format!("{}{}", a.stop(), b.stop());
    deployment.record(&logs);
    assert!(logs.contains("/v1/auth/accesskey/exchange"), "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
    for secret in [admin.as_str(), cleartext.as_str(), new_secret.as_str()] {
        assert!(!logs.contains(secret), "a secret reached a server's log");
    }
    // The database password: in no output of any command or server.
    assert!(!deployment.output.lock().unwrap().contains(PASSWORD));
}

#[test]
fn a_management_key_revoked_on_one_node_fails_on_the_other_and_consoles_are_per_node() {
    let Some(schema) = TempSchema::new() else {
        return;
    };
    let deployment = Deployment::new(&schema);
    let (admin, _) = deployment.management_key("admin");
    let (ops, ops_id) = deployment.management_key("ops");
    let a = deployment.serve();
    let b = deployment.serve();
    let search = json!({});
    assert_eq!(b.call(&ops, "/v1/mgmt/accesskey/search", &search).0, 200);

    // A console session lives on the node that made it: B does not know A's cookie.
    let cookie = a.console_sign_in(&admin);
    assert_eq!(a.console_get(&cookie, "/console/keys").0, 200);
    let (status, _) = b.console_get(&cookie, "/console/keys");
    assert_eq!(status, 303, "B sends the browser to its own sign-in");

    // Revoked in A's console: refused by B's very next call, and by A's.
    a.console_revoke(&cookie, &ops_id);
    assert_eq!(b.call(&ops, "/v1/mgmt/accesskey/search", &search).0, 401);
    assert_eq!(a.call(&ops, "/v1/mgmt/accesskey/search", &search).0, 401);
    assert_eq!(b.call(&admin, "/v1/mgmt/accesskey/search", &search).0, 200);

    // A management key deleted with the CLI (from any machine) likewise.
    let (code, out) = deployment.ak(&["management-key", "delete", &ops_id]);
    assert_eq!(code, 1, "already revoked: {out}");
    let (second, second_id) = deployment.management_key("second");
    assert_eq!(a.call(&second, "/v1/mgmt/accesskey/search", &search).0, 200);
    let (code, out) = deployment.ak(&["management-key", "delete", &second_id]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(a.call(&second, "/v1/mgmt/accesskey/search", &search).0, 401);
    assert_eq!(b.call(&second, "/v1/mgmt/accesskey/search", &search).0, 401);
}

#[test]
fn a_node_without_the_master_key_or_with_another_is_refused() {
    let Some(schema) = TempSchema::new() else {
        return;
    };
    let deployment = Deployment::new(&schema);
    // The first node creates the signing keys in the store, sealed under the master key.
    let (code, out) = deployment.ak(&["signing-key", "list"]);
    assert_eq!(code, 0, "{out}");
    let mut without = deployment.command();
    without.env_remove("AK_MASTER_KEY");
    let output = without
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs a master key"), "{stderr}");
    let mut other = deployment.command();
    other.env("AK_MASTER_KEY", "77".repeat(32));
    let output = other.args(["serve", "--listen", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("different master key"), "{stderr}");
    for text in [stderr.as_ref(), &String::from_utf8_lossy(&output.stdout)] {
        assert!(!text.contains(PASSWORD), "{text}");
    }
    assert_eq!(
        std::fs::read_dir(deployment.dir.path()).unwrap().count(),
        0,
        "no file is created beside a remote store"
    );
}
