//! `ak management-key ...` and `ak serve` as the compat suites use them: the real binary on a
//! free port over the default SQLite store.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn ak(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ak"))
        .current_dir(dir)
        .args(args)
        .env_remove("AK_STORE")
        .env_remove("AK_ISSUER")
        .env_remove("AK_LISTEN")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn management_keys_create_list_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = ak(
        dir.path(),
        &["management-key", "create", "--name", "admin", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let cleartext = created["cleartext"].as_str().unwrap();
    assert!(cleartext.starts_with("akmgmt-") && !cleartext.contains(':'));
    assert_eq!(created["key"]["name"], "admin");
    assert_eq!(created["key"]["readOnly"], false);
    let id = created["key"]["id"].as_str().unwrap().to_owned();

    let (code, out, _) = ak(
        dir.path(),
        &[
            "--json",
            "management-key",
            "create",
            "--name",
            "ro",
            "--read-only",
        ],
    );
    assert_eq!(code, 0);
    let reader: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(reader["key"]["readOnly"], true);

    let (_, out, _) = ak(dir.path(), &["--json", "management-key", "list"]);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["keys"].as_array().unwrap().len(), 2);
    assert!(!out.contains(cleartext), "list never shows a secret");
    // Management keys are not access keys.
    let (_, out, _) = ak(dir.path(), &["--json", "search"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["keys"], json!([]));

    let (code, out, _) = ak(dir.path(), &["--json", "management-key", "delete", &id]);
    assert_eq!((code, out.trim()), (0, "{}"));
    let (code, _, err) = ak(dir.path(), &["management-key", "delete", &id]);
    assert_eq!(code, 1, "{err}");
    let (_, out, _) = ak(dir.path(), &["management-key", "list"]);
    assert!(out.contains("1 management key(s)"), "{out}");
}

#[test]
fn serve_prints_its_port_serves_the_api_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (_, out, _) = ak(
        dir.path(),
        &["--json", "management-key", "create", "--name", "admin"],
    );
    let admin = serde_json::from_str::<Value>(&out).unwrap()["cleartext"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ak"))
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--issuer", "proj"])
        .env_remove("AK_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"),
        "{base}"
    );

    let client = reqwest::blocking::Client::new();
    let health: Value = client
        .get(format!("{base}/healthz"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "ok");
    let created: Value = client
        .post(format!("{base}/v1/mgmt/accesskey/create"))
        .bearer_auth(format!("proj:{admin}"))
        .json(&json!({"name": "k"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let cleartext = created["cleartext"].as_str().unwrap();
    let exchanged = client
        .post(format!("{base}/v1/auth/accesskey/exchange"))
        .bearer_auth(format!("proj:{cleartext}"))
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(exchanged.status().as_u16(), 200);
    // The wrong project id is refused.
    let wrong = client
        .post(format!("{base}/v1/auth/accesskey/exchange"))
        .bearer_auth(format!("other:{cleartext}"))
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("/v1/auth/accesskey/exchange"), "{log}");
    for secret in [admin.as_str(), cleartext] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

#[test]
fn serve_with_a_role_catalog_puts_permissions_in_tokens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("roles.json"),
        r#"{"project": {"deployer": ["deploy", "read"]}, "tenant": {"viewer": ["read"]}}"#,
    )
    .unwrap();
    let (_, out, _) = ak(
        dir.path(),
        &["--json", "management-key", "create", "--name", "admin"],
    );
    let admin = serde_json::from_str::<Value>(&out).unwrap()["cleartext"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ak"))
        .current_dir(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--issuer",
            "proj",
            "--roles",
            "roles.json",
        ])
        .env_remove("AK_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    let client = reqwest::blocking::Client::new();
    let create = |body: Value| {
        client
            .post(format!("{base}/v1/mgmt/accesskey/create"))
            .bearer_auth(format!("proj:{admin}"))
            .json(&body)
            .send()
            .unwrap()
    };
    assert_eq!(
        create(json!({"name": "x", "roleNames": ["nope"]}))
            .status()
            .as_u16(),
        400
    );
    let created: Value = create(json!({"name": "k", "roleNames": ["deployer"]}))
        .json()
        .unwrap();
    let exchanged: Value = client
        .post(format!("{base}/v1/auth/accesskey/exchange"))
        .bearer_auth(format!("proj:{}", created["cleartext"].as_str().unwrap()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let jwt = exchanged["sessionJwt"].as_str().unwrap();
    let verified = Command::new(env!("CARGO_BIN_EXE_ak"))
        .current_dir(dir.path())
        .args(["--issuer", "proj", "verify"])
        .env("AK_SESSION_TOKEN", jwt)
        .env_remove("AK_STORE")
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let claims: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(claims["permissions"], json!(["deploy", "read"]));
    assert_eq!(claims["roles"], json!(["deployer"]));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));

    std::fs::write(dir.path().join("bad.json"), r#"{"projects": {}}"#).unwrap();
    let (code, _, err) = ak(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0", "--roles", "bad.json"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("role catalog"), "{err}");
}

/// An `ak serve` child, killed (and reaped) on drop even when the test panics.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ak"))
            .current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--issuer", "proj"])
            .args(extra)
            .env_remove("AK_STORE")
            .env_remove("AK_MASTER_KEY")
            .env_remove("AK_MASTER_KEY_FILE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().strip_prefix("listening on ").map(str::to_owned);
        let server = Self {
            child,
            base: base.unwrap_or_default(),
        };
        assert!(server.base.starts_with("http://"), "{line:?}");
        server
    }

    fn jwks_kids(&self) -> Vec<String> {
        let jwks: Value = reqwest::blocking::get(format!("{}/v2/keys/proj", self.base))
            .unwrap()
            .json()
            .unwrap();
        let mut kids: Vec<String> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect();
        kids.sort();
        kids
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_servers_on_one_store_share_signing_keys_and_follow_a_cli_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = ak(dir.path(), &["signing-key", "list"]);
    assert_eq!(code, 0, "{err}");
    let a = Server::start(dir.path(), &["--signing-key-refresh", "1s"]);
    let b = Server::start(dir.path(), &["--signing-key-refresh", "1s"]);
    let before = a.jwks_kids();
    assert_eq!(before.len(), 1);
    assert_eq!(b.jwks_kids(), before, "both serve the one set in the store");

    let (code, out, err) = ak(
        dir.path(),
        &["--json", "signing-key", "rotate", "--activate-after", "10m"],
    );
    assert_eq!(code, 0, "{err}");
    let kid = serde_json::from_str::<Value>(&out).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    // Each server publishes the staged key within its refresh interval (1 s here).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for server in [&a, &b] {
        while !server.jwks_kids().contains(&kid) {
            assert!(std::time::Instant::now() < deadline, "the new key never appeared");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(server.jwks_kids().len(), 2);
    }
}

/// A receiver on 127.0.0.1 that sends each request's headers and body to the channel and
/// answers 200.
/// One request a receiver saw: its headers (names lowercased) and body.
type Delivery = (Vec<(String, String)>, Vec<u8>);

fn webhook_receiver() -> (String, std::sync::mpsc::Receiver<Delivery>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (sender, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end().to_owned();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .map_or(0, |(_, value)| value.parse().unwrap());
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = sender.send((headers, body));
        }
    });
    (url, seen)
}

#[test]
fn serve_delivers_a_signed_expiry_warning_to_a_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = webhook_receiver();
    let (code, out, err) = ak(
        dir.path(),
        &["--json", "webhook", "add", &url, "--action", "accesskey.expiring"],
    );
    assert_eq!(code, 0, "{err}");
    let added: Value = serde_json::from_str(&out).unwrap();
    let secret = added["secret"].as_str().unwrap().to_owned();
    let (code, out, err) = ak(
        dir.path(),
        &["--json", "create", "--name", "soon", "--expires-in", "2d"],
    );
    assert_eq!(code, 0, "{err}");
    let key_id = serde_json::from_str::<Value>(&out).unwrap()["key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The server checks for expiring keys at start; the warning is delivered, signed.
    let server = Server::start(dir.path(), &[]);
    let (headers, body) = seen.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "accesskey.expiring");
    assert_eq!(event["data"]["keyIds"], json!([key_id]));
    let key = data_encoding::BASE64
        .decode(secret.strip_prefix("whsec_").unwrap().as_bytes())
        .unwrap();
    let signed = [
        header("webhook-id").as_bytes(),
        b".",
        header("webhook-timestamp").as_bytes(),
        b".",
        &body,
    ]
    .concat();
    let expected = hmac_sha256(&key, &signed);
    assert_eq!(
        header("webhook-signature"),
        format!("v1,{}", data_encoding::BASE64.encode(&expected))
    );
    drop(server);
}

/// HMAC-SHA256 (RFC 2104), written out so the test checks the signature independently.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}
