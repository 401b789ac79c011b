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
