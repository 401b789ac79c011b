//! Drives the real `ak` binary: every command, its `--json` shape, exit codes and bad input.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "stderr: {}\nstdout: {}", self.stderr, self.stdout);
        self
    }
}

/// Runs `ak` in `dir` with a clean environment plus `env`, feeding `stdin`.
fn ak_with(dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ak"));
    command
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "AK_STORE",
        "AK_SIGNING_KEYS",
        "AK_ISSUER",
        "AK_ACCESS_KEY",
        "AK_SESSION_TOKEN",
        "AK_MASTER_KEY",
        "AK_MASTER_KEY_FILE",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("ak runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn ak(dir: &Path, args: &[&str]) -> Run {
    ak_with(dir, args, None, &[])
}

fn create(dir: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["--json", "create"];
    all.extend_from_slice(args);
    let created = ak(dir, &all).ok().json();
    (
        created["key"]["id"].as_str().unwrap().to_owned(),
        created["cleartext"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn create_exchange_verify_on_the_default_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let created = ak(
        dir.path(),
        &[
            "--json",
            "create",
            "--name",
            "ci",
            "--description",
            "runner",
            "--expires-in",
            "30d",
            "--role",
            "deployer",
            "--claim",
            r#"plan="gold""#,
            "--attr",
            "team=\"infra\"",
            "--ip",
            "10.0.0.0/8",
            "--ip",
            "::1",
        ],
    )
    .ok()
    .json();
    let key = &created["key"];
    assert_eq!(key["name"], "ci");
    assert_eq!(key["description"], "runner");
    assert_eq!(key["roleNames"], serde_json::json!(["deployer"]));
    assert_eq!(key["customClaims"]["plan"], "gold");
    assert_eq!(key["customAttributes"]["team"], "infra");
    assert_eq!(key["permittedIps"], serde_json::json!(["10.0.0.0/8", "::1"]));
    assert_eq!(key["status"], "active");
    let expires = key["expireTime"].as_i64().unwrap() - key["createdTime"].as_i64().unwrap();
    assert_eq!(expires, 30 * 86_400);
    assert!(
        dir.path().join("ak.db").exists(),
        "the default store is sqlite:ak.db"
    );
    let cleartext = created["cleartext"].as_str().unwrap();
    let id = key["id"].as_str().unwrap();

    let exchanged = ak_with(
        dir.path(),
        &["--json", "exchange", "--ip", "10.1.1.1", "--claim", "run=42"],
        Some(cleartext),
        &[],
    )
    .ok()
    .json();
    assert_eq!(exchanged["keyId"], id);
    let jwt = exchanged["sessionJwt"].as_str().unwrap();
    assert!(exchanged["expiration"].as_i64().unwrap() > 0);
    let master_key_file = dir.path().join("ak.db.master-key");
    assert_eq!(
        std::fs::metadata(&master_key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let claims = ak_with(dir.path(), &["verify"], Some(jwt), &[]).ok().json();
    assert_eq!(claims["sub"], id);
    assert_eq!(claims["iss"], "ak");
    assert_eq!(claims["roles"], serde_json::json!(["deployer"]));
    assert_eq!(claims["plan"], "gold");
    assert_eq!(claims["nsec"]["run"], 42);
    // Standard input works for verify too, and plain exchange prints only the JWT.
    let plain = ak_with(
        dir.path(),
        &["exchange", "--ip", "10.1.1.1"],
        None,
        &[("AK_ACCESS_KEY", cleartext)],
    )
    .ok();
    let jwt2 = plain.stdout.trim();
    assert_eq!(jwt2.split('.').count(), 3);
    ak_with(dir.path(), &["verify"], Some(jwt2), &[]).ok();

    let jwks = ak(dir.path(), &["jwks"]).ok().json();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "the JWKS holds no private key"
    );
}

#[test]
fn load_search_update_and_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = create(
        dir.path(),
        &["--name", "alpha", "--tenant", "acme:admin,viewer", "--user", "u1"],
    );
    let (b, _) = create(
        dir.path(),
        &["--name", "beta", "--tenant", "acme", "--attr", "team=\"pay\""],
    );
    let (c, _) = create(dir.path(), &["--name", "gamma", "--role", "r"]);

    let loaded = ak(dir.path(), &["--json", "load", &a]).ok().json();
    assert_eq!(
        loaded["key"]["keyTenants"],
        serde_json::json!([{"tenantId": "acme", "roleNames": ["admin", "viewer"]}])
    );
    assert_eq!(loaded["key"]["boundUserId"], "u1");
    assert!(loaded["key"]["createdBy"].as_str().unwrap().starts_with("cli"));
    let human = ak(dir.path(), &["load", &a]).ok().stdout;
    assert!(
        human.contains("alpha") && human.contains("acme (admin, viewer)"),
        "{human}"
    );

    let ids = |run: Run| -> Vec<String> {
        run.ok().json()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--tenant", "acme"])).len(),
        2
    );
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--user", "u1"])),
        [a.as_str()]
    );
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--attr", "team=\"pay\""])),
        [b.as_str()]
    );
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--text", "GAM"])),
        [c.as_str()]
    );
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--limit", "2"])).len(),
        2
    );
    assert_eq!(ids(ak(dir.path(), &["--json", "search"])).len(), 3);
    let table = ak(dir.path(), &["search"]).ok().stdout;
    assert!(table.contains("ID") && table.contains("3 key(s)"), "{table}");

    let updated = ak(
        dir.path(),
        &["--json", "update", &c, "--name", "gamma2", "--description", "d"],
    )
    .ok()
    .json();
    assert_eq!(updated["key"]["name"], "gamma2");
    assert_eq!(
        updated["key"]["roleNames"],
        serde_json::json!(["r"]),
        "absent options keep their value"
    );

    assert_eq!(
        ak(dir.path(), &["--json", "deactivate", &a, &b]).ok().json(),
        serde_json::json!({})
    );
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--status", "inactive"])).len(),
        2
    );
    ak(dir.path(), &["activate", &a]).ok();
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--status", "inactive"])),
        [b.as_str()]
    );
    // A batch with an unknown id changes nothing and fails with exit code 1.
    let failed = ak(dir.path(), &["delete", &a, "nosuchkey"]);
    assert_eq!(failed.code, 1);
    assert!(failed.stderr.contains("nosuchkey"), "{}", failed.stderr);
    assert_eq!(ids(ak(dir.path(), &["--json", "search"])).len(), 3);
    ak(dir.path(), &["delete", &a, &b]).ok();
    assert_eq!(ids(ak(dir.path(), &["--json", "search"])), [c]);
}

#[test]
fn rotate_deactivate_and_exchange_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (id, old) = create(dir.path(), &["--name", "k"]);
    let rotated = ak(dir.path(), &["--json", "rotate", &id, "--grace", "10m"])
        .ok()
        .json();
    let new = rotated["cleartext"].as_str().unwrap().to_owned();
    assert_eq!(rotated["key"]["id"], id.as_str());
    ak_with(dir.path(), &["exchange"], Some(&old), &[]).ok();
    ak_with(dir.path(), &["exchange"], Some(&new), &[]).ok();
    ak(dir.path(), &["rotate", &id]).ok();
    let refused = ak_with(dir.path(), &["exchange"], Some(&new), &[]);
    assert_eq!(refused.code, 1);
    assert_eq!(refused.stderr.trim(), "ak: error: invalid access key");
    assert!(!refused.stderr.contains(&new), "errors never echo the key");

    let (id2, key2) = create(dir.path(), &["--name", "k2"]);
    ak(dir.path(), &["deactivate", &id2]).ok();
    let inactive = ak_with(dir.path(), &["exchange"], Some(&key2), &[]);
    assert_eq!(
        (inactive.code, inactive.stderr.trim()),
        (1, "ak: error: access key is inactive")
    );
    let empty = ak_with(dir.path(), &["exchange"], Some(""), &[]);
    assert_eq!(empty.code, 1);
    assert!(empty.stderr.contains("standard input"), "{}", empty.stderr);
    let bad_token = ak_with(dir.path(), &["verify"], Some("not.a.token"), &[]);
    assert_eq!(bad_token.code, 1);
}

#[test]
fn signing_key_rotation_and_retirement() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = create(dir.path(), &["--name", "k"]);
    let old_jwt = ak_with(dir.path(), &["exchange"], Some(&key), &[])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let old_kid = ak(dir.path(), &["jwks"]).ok().json()["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = ak(dir.path(), &["--json", "signing-key", "rotate"]).ok().json();
    let new_kid = rotated["kid"].as_str().unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(
        ak(dir.path(), &["jwks"]).ok().json()["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    ak_with(dir.path(), &["verify"], Some(&old_jwt), &[]).ok();
    let new_jwt = ak_with(dir.path(), &["exchange"], Some(&key), &[])
        .ok()
        .stdout
        .trim()
        .to_owned();
    ak(dir.path(), &["signing-key", "retire", &old_kid]).ok();
    assert_eq!(
        ak_with(dir.path(), &["verify"], Some(&old_jwt), &[]).code,
        1,
        "a retired key's tokens stop verifying"
    );
    ak_with(dir.path(), &["verify"], Some(&new_jwt), &[]).ok();
    assert_eq!(
        ak(dir.path(), &["signing-key", "retire", new_kid]).code,
        1,
        "the active key cannot be retired"
    );
    // The keys live in the store, sealed under the master key created beside it.
    assert!(!dir.path().join("ak.db.signing-keys.json").exists());
    let master_key_file = dir.path().join("ak.db.master-key");
    assert_eq!(
        std::fs::metadata(&master_key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn sled_store_and_environment_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("AK_STORE", "sled:keys.sled"),
        ("AK_ISSUER", "P2proj"),
        ("AK_SIGNING_KEYS", "signing.json"),
    ];
    let created = ak_with(dir.path(), &["--json", "create", "--name", "s"], None, &env)
        .ok()
        .json();
    assert!(dir.path().join("keys.sled").is_dir());
    let key = created["cleartext"].as_str().unwrap();
    let jwt = ak_with(dir.path(), &["exchange"], Some(key), &env)
        .ok()
        .stdout
        .trim()
        .to_owned();
    assert!(
        !dir.path().join("signing.json").exists(),
        "no key file is created"
    );
    assert!(dir.path().join("keys.sled.master-key").exists());
    let claims = ak_with(dir.path(), &["verify"], Some(&jwt), &env).ok().json();
    assert_eq!(claims["iss"], "P2proj");
    // The same token fails against another issuer.
    let other = [
        ("AK_STORE", "sled:keys.sled"),
        ("AK_ISSUER", "other"),
        ("AK_SIGNING_KEYS", "signing.json"),
    ];
    assert_eq!(ak_with(dir.path(), &["verify"], Some(&jwt), &other).code, 1);
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["create", "--name", "k", "--expires-in", "30 days"],
        &["create", "--name", "k", "--expires-in", "10x"],
        &["create", "--name", "k", "--ip", "10.0.0.0/33"],
        &["create", "--name", "k", "--ip", "not-an-ip"],
        &["create", "--name", "k", "--claim", "plan=gold"],
        &["create", "--name", "k", "--claim", "noequals"],
        &["create", "--name", "k", "--expires-at", "tomorrow"],
        &["--store", "postgres:db", "search"],
        &["--store", "sqlite:", "search"],
        &["create"],
        &["frobnicate"],
        &["activate"],
        &["search", "--status", "sleeping"],
    ];
    for args in cases {
        let run = ak(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty());
    }
    assert!(!dir.path().join("ak.db").exists(), "usage errors touch no store");
}

#[test]
fn rejected_operations_exit_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["load", "nosuchkey"],
        &["create", "--name", "k", "--claim", "sub=\"x\""],
        &["create", "--name", "k", "--claim", "roles=[]"],
        &["create", "--name", "k", "--role", "r", "--tenant", "t"],
        &["create", "--name", "k", "--expires-at", "1000"],
        &["create", "--name", ""],
        &["rotate", "nosuchkey"],
        &["update", "nosuchkey", "--name", "n"],
    ];
    for args in cases {
        let run = ak(dir.path(), args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("ak: error: "), "{}", run.stderr);
    }
    let reserved = ak(dir.path(), &["create", "--name", "k", "--claim", "sub=\"x\""]);
    assert!(reserved.stderr.contains("reserved"), "{}", reserved.stderr);
    assert!(
        ak(dir.path(), &["--json", "search"]).ok().json()["keys"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn corrupt_store_and_bad_key_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("junk.db"),
        b"this is not a database at all, not even close",
    )
    .unwrap();
    let before = std::fs::read(dir.path().join("junk.db")).unwrap();
    let run = ak(dir.path(), &["--store", "sqlite:junk.db", "search"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("junk.db"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("junk.db")).unwrap(),
        before,
        "a refused file is not modified"
    );

    // A key set file to import is checked like before: mode 0600, a valid set.
    let (_, key) = create(dir.path(), &["--name", "k"]);
    ak(dir.path(), &["signing-key", "export", "exported.json"]).ok();
    let fresh = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("exported.json"),
        fresh.path().join("ak.db.signing-keys.json"),
    )
    .unwrap();
    let keys_file = fresh.path().join("ak.db.signing-keys.json");
    std::fs::set_permissions(&keys_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = ak(fresh.path(), &["jwks"]);
    assert_eq!(open.code, 1);
    assert!(open.stderr.contains("readable by others"), "{}", open.stderr);
    std::fs::write(&keys_file, b"{\"not\": \"a key set\"}").unwrap();
    std::fs::set_permissions(&keys_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let invalid = ak_with(fresh.path(), &["exchange"], Some(&key), &[]);
    assert_eq!(invalid.code, 1);
    assert!(
        invalid.stderr.contains("not a valid ak key set"),
        "{}",
        invalid.stderr
    );
    assert!(!invalid.stdout.contains('.'), "no token printed");
}

#[test]
fn search_warns_about_an_unreadable_record_and_lists_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (bad, _) = create(dir.path(), &["--name", "bad"]);
    let (good, _) = create(dir.path(), &["--name", "good"]);
    rusqlite::Connection::open(dir.path().join("ak.db"))
        .unwrap()
        .execute("UPDATE keys SET body = 'not json' WHERE id = ?1", [&bad])
        .unwrap();
    let run = ak(dir.path(), &["--json", "search"]).ok();
    let ids: Vec<_> = run.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [good]);
    assert!(
        run.stderr
            .contains("warning: skipped an unreadable stored record")
            && run.stderr.contains(&bad),
        "{}",
        run.stderr
    );
    ak(dir.path(), &["delete", &bad]).ok();
    assert!(ak(dir.path(), &["search"]).ok().stderr.is_empty());
}

#[test]
fn usage_errors_never_echo_a_key_or_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = create(dir.path(), &["--name", "k"]);
    let token = ak_with(dir.path(), &["exchange"], Some(&key), &[])
        .ok()
        .stdout
        .trim()
        .to_owned();
    assert!(token.starts_with("eyJ"), "{token}");
    for args in [
        vec!["exchange", key.as_str()],
        vec!["verify", token.as_str()],
        vec!["load", key.as_str(), token.as_str()],
        vec!["create", "--name", "n", &format!("--key={key}")],
    ] {
        let run = ak(dir.path(), &args);
        assert_eq!(run.code, 2, "{args:?} is a usage error: {}", run.stderr);
        for secret in [&key, &token] {
            assert!(
                !run.stderr.contains(secret.as_str()),
                "{args:?} echoed a secret: {}",
                run.stderr
            );
        }
        if args[0] != "create" {
            // clap quotes the unexpected argument; it is blanked out.
            assert!(
                run.stderr.contains("unexpected argument '[redacted]'"),
                "{}",
                run.stderr
            );
        }
    }
    // An ordinary mistake is still shown as it was typed.
    let run = ak(dir.path(), &["serach"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("serach"), "{}", run.stderr);
}

#[test]
fn verify_reads_the_token_from_stdin_or_the_environment_only() {
    let dir = tempfile::tempdir().unwrap();
    let (id, key) = create(dir.path(), &["--name", "k"]);
    let token = ak_with(dir.path(), &["exchange"], Some(&key), &[]).ok().stdout;
    let from_stdin = ak_with(dir.path(), &["verify"], Some(&token), &[]).ok().json();
    assert_eq!(from_stdin["sub"], id.as_str());
    let from_env = ak_with(
        dir.path(),
        &["verify"],
        None,
        &[("AK_SESSION_TOKEN", token.trim())],
    )
    .ok()
    .json();
    assert_eq!(from_env["sub"], id.as_str());
    let nothing = ak(dir.path(), &["verify"]);
    assert_eq!(nothing.code, 1);
    assert!(nothing.stderr.contains("AK_SESSION_TOKEN"), "{}", nothing.stderr);
}

#[test]
fn demo_runs_the_main_job() {
    let dir = tempfile::tempdir().unwrap();
    let run = ak(dir.path(), &["demo"]).ok();
    for step in [
        "1. Created access key",
        "2. Exchanged",
        "3. Verified",
        "4. Deactivated",
        "5. Exchanging it again is refused",
        "Demo complete",
    ] {
        assert!(run.stdout.contains(step), "missing {step:?} in\n{}", run.stdout);
    }
    let json = ak(dir.path(), &["--json", "demo"]).ok().json();
    assert_eq!(json["exchangeAfterDeactivate"], "access key is inactive");
    assert_eq!(json["claims"]["sub"], json["keyId"]);
    assert!(
        !dir.path().join("ak.db").exists(),
        "the demo leaves no store behind"
    );
}

fn list(dir: &Path, env: &[(&str, &str)]) -> Vec<(String, String)> {
    let listed = ak_with(dir, &["--json", "signing-key", "list"], None, env)
        .ok()
        .json();
    listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn staged_rotation_list_and_retire_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = create(dir.path(), &["--name", "k"]);
    let old_jwt = ak_with(dir.path(), &["exchange"], Some(&key), &[])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let first = list(dir.path(), &[]);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, "signing");

    let staged = ak(
        dir.path(),
        &["--json", "signing-key", "rotate", "--activate-after", "10m"],
    )
    .ok()
    .json();
    assert_eq!(staged["status"], "pending");
    let new_kid = staged["kid"].as_str().unwrap().to_owned();
    // Published at once, not yet signing.
    let jwks = ak(dir.path(), &["jwks"]).ok().json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let statuses = list(dir.path(), &[]);
    assert!(
        statuses.contains(&(new_kid.clone(), "pending".to_owned())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(first[0].0.clone(), "signing".to_owned())),
        "{statuses:?}"
    );
    let text = ak(dir.path(), &["signing-key", "list"]).ok().stdout;
    assert!(text.contains(&new_kid) && text.contains("pending"), "{text}");
    // The key signing now is refused; an unknown kid too; a pending key may be retired.
    let refused = ak(dir.path(), &["signing-key", "retire", &first[0].0]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("signing now"), "{}", refused.stderr);
    assert_eq!(ak(dir.path(), &["signing-key", "retire", "nope"]).code, 1);
    ak_with(dir.path(), &["verify"], Some(&old_jwt), &[]).ok();
    ak(dir.path(), &["signing-key", "retire", &new_kid]).ok();
    assert_eq!(list(dir.path(), &[]).len(), 1);
    // Bad delays are usage errors or refused.
    assert_eq!(
        ak(dir.path(), &["signing-key", "rotate", "--activate-after", "soon"]).code,
        2
    );
    assert_eq!(
        ak(dir.path(), &["signing-key", "rotate", "--activate-after", "31d"]).code,
        1
    );
    ak(dir.path(), &["signing-key", "rotate", "--activate-after", "30d"]).ok();
}

#[test]
fn the_store_holds_the_keys_only_sealed_and_a_wrong_master_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = create(dir.path(), &["--name", "k"]);
    ak_with(dir.path(), &["exchange"], Some(&key), &[]).ok();
    ak(dir.path(), &["signing-key", "export", "exported.json"]).ok();
    let exported: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("exported.json")).unwrap()).unwrap();
    assert_eq!(
        std::fs::metadata(dir.path().join("exported.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let d = exported["keys"][0]["d"].as_str().unwrap().to_owned();
    let mut dump = std::fs::read(dir.path().join("ak.db")).unwrap();
    dump.extend(std::fs::read(dir.path().join("ak.db-wal")).unwrap_or_default());
    assert!(
        !dump.windows(d.len()).any(|w| w == d.as_bytes()),
        "private key in the database"
    );

    let before = list(dir.path(), &[]);
    let other_key = "ab".repeat(32);
    let wrong = ak_with(dir.path(), &["jwks"], None, &[("AK_MASTER_KEY", &other_key)]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("different master key"), "{}", wrong.stderr);
    let rotate = ak_with(
        dir.path(),
        &["signing-key", "rotate"],
        None,
        &[("AK_MASTER_KEY", &other_key)],
    );
    assert_eq!(rotate.code, 1);
    assert_eq!(list(dir.path(), &[]), before, "nothing was written over the set");
    // A malformed key is refused without echoing it.
    let malformed = ak_with(
        dir.path(),
        &["jwks"],
        None,
        &[("AK_MASTER_KEY", "secret-but-not-hex")],
    );
    assert_eq!(malformed.code, 1);
    assert!(malformed.stderr.contains("64 hex digits"), "{}", malformed.stderr);
    assert!(!malformed.stderr.contains("secret-but-not-hex"));

    // The same master key given explicitly, by file or environment, opens the set.
    let text = std::fs::read_to_string(dir.path().join("ak.db.master-key")).unwrap();
    let by_env = ak_with(
        dir.path(),
        &["--json", "signing-key", "list"],
        None,
        &[("AK_MASTER_KEY", text.trim())],
    );
    assert_eq!(
        by_env.ok().json()["keys"][0]["kid"].as_str().unwrap(),
        before[0].0
    );
    std::fs::copy(dir.path().join("ak.db.master-key"), dir.path().join("kek")).unwrap();
    std::fs::set_permissions(dir.path().join("kek"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::remove_file(dir.path().join("ak.db.master-key")).unwrap();
    assert_eq!(list(dir.path(), &[("AK_MASTER_KEY_FILE", "kek")]), before);
    ak(dir.path(), &["--master-key-file", "kek", "jwks"]).ok();
    let missing = ak(dir.path(), &["--master-key-file", "missing", "jwks"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("missing"), "{}", missing.stderr);
}

#[test]
fn an_existing_key_file_is_imported_once_and_import_adds_keys() {
    let source = tempfile::tempdir().unwrap();
    ak(source.path(), &["signing-key", "export", "set.json"]).ok();
    let kid = list(source.path(), &[])[0].0.clone();

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        source.path().join("set.json"),
        dir.path().join("ak.db.signing-keys.json"),
    )
    .unwrap();
    std::fs::set_permissions(
        dir.path().join("ak.db.signing-keys.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    assert_eq!(list(dir.path(), &[]), [(kid.clone(), "signing".to_owned())]);
    // Later changes live in the store; the file is not read again.
    ak(dir.path(), &["signing-key", "rotate"]).ok();
    std::fs::remove_file(dir.path().join("ak.db.signing-keys.json")).unwrap();
    assert_eq!(list(dir.path(), &[]).len(), 2);

    // `import` into a store with a set adds the file's keys as verification-only keys.
    let third = tempfile::tempdir().unwrap();
    let own = list(third.path(), &[])[0].0.clone();
    std::fs::copy(source.path().join("set.json"), third.path().join("set.json")).unwrap();
    std::fs::set_permissions(
        third.path().join("set.json"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let imported = ak(third.path(), &["--json", "signing-key", "import", "set.json"])
        .ok()
        .json();
    assert_eq!(imported["added"], 1);
    let listed = list(third.path(), &[]);
    assert!(listed.contains(&(own, "signing".to_owned())), "{listed:?}");
    assert!(listed.contains(&(kid, "verifying".to_owned())), "{listed:?}");
    assert_eq!(
        ak(third.path(), &["--json", "signing-key", "import", "set.json"])
            .ok()
            .json()["added"],
        0
    );
}

/// A PostgreSQL URL with a password, on a port where nothing listens.
const UNREACHABLE_PG: &str = "postgres://ak:hunter2secret@127.0.0.1:1/keys";

#[test]
fn a_postgres_store_needs_a_master_key_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--store", UNREACHABLE_PG, "jwks"][..],
        &["--store", UNREACHABLE_PG, "serve", "--listen", "127.0.0.1:0"],
        &["--store", UNREACHABLE_PG, "signing-key", "list"],
    ] {
        let run = ak(dir.path(), args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("needs a master key"), "{}", run.stderr);
        assert!(run.stderr.contains("AK_MASTER_KEY"), "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    // The same through AK_STORE.
    let run = ak_with(dir.path(), &["jwks"], None, &[("AK_STORE", UNREACHABLE_PG)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("needs a master key"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no key file (nor anything else) is created for a remote store"
    );
}

#[test]
fn a_postgres_password_never_appears_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let master = "ab".repeat(32);
    let with_key = [("AK_MASTER_KEY", master.as_str())];
    let store_flag = format!("--store={UNREACHABLE_PG}");
    let mut runs = vec![
        // The server cannot be reached: the error names it, not the password.
        ak_with(dir.path(), &["--store", UNREACHABLE_PG, "jwks"], None, &with_key),
        ak(dir.path(), &["--store", UNREACHABLE_PG, "search"]),
        ak(dir.path(), &[&store_flag, "load", "someid"]),
        ak_with(dir.path(), &["search"], None, &[("AK_STORE", UNREACHABLE_PG)]),
    ];
    for run in &runs {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("127.0.0.1:1/keys"), "{}", run.stderr);
    }
    let bad = "postgresql://ak:hunter2secret@127.0.0.1:1/keys?sslmode=sometimes";
    let bad_flag = format!("--store={bad}");
    let usage = [
        ak(dir.path(), &["--store", bad, "search"]),
        ak(dir.path(), &[&bad_flag, "search"]),
        ak_with(dir.path(), &["search"], None, &[("AK_STORE", bad)]),
        ak(
            dir.path(),
            &[
                "--store",
                "postgres://ak@h/d?password=hunter2secret&sslmode=x",
                "search",
            ],
        ),
    ];
    for run in &usage {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("[redacted]"), "{}", run.stderr);
    }
    runs.extend(usage);
    // `--help` lists options with their environment variables, never AK_STORE's value.
    runs.push(ak_with(dir.path(), &["--help"], None, &[("AK_STORE", UNREACHABLE_PG)]).ok());
    runs.push(
        ak_with(
            dir.path(),
            &["serve", "--help"],
            None,
            &[("AK_STORE", UNREACHABLE_PG)],
        )
        .ok(),
    );
    for run in &runs {
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains("hunter2secret"), "the password leaked: {text}");
        }
    }
}

#[test]
fn webhooks_add_list_delete() {
    for store in ["sqlite:ak.db", "sled:ak.sled"] {
        let dir = tempfile::tempdir().unwrap();
        let env = [("AK_STORE", store)];
        let added = ak_with(
            dir.path(),
            &[
                "--json",
                "webhook",
                "add",
                "https://hooks.example.com/ak",
                "--action",
                "accesskey.*",
                "--action",
                "webhook.delivery.failed",
            ],
            None,
            &env,
        )
        .ok()
        .json();
        let secret = added["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"), "{added}");
        let id = added["webhook"]["id"].as_str().unwrap().to_owned();
        assert_eq!(
            added["webhook"]["actions"],
            serde_json::json!(["accesskey.*", "webhook.delivery.failed"])
        );

        // The text form shows the secret once too, and the list never does.
        let text = ak_with(
            dir.path(),
            &["webhook", "add", "http://127.0.0.1:9/x"],
            None,
            &env,
        )
        .ok();
        assert!(text.stdout.contains("whsec_"), "{}", text.stdout);
        let listed = ak_with(dir.path(), &["webhook", "list"], None, &env).ok();
        assert!(
            listed.stdout.contains(&id) && listed.stdout.contains("2 webhook(s)"),
            "{}",
            listed.stdout
        );
        assert!(!listed.stdout.contains("whsec_"));
        let listed = ak_with(dir.path(), &["--json", "webhook", "list"], None, &env)
            .ok()
            .json();
        assert_eq!(listed["webhooks"].as_array().unwrap().len(), 2);
        assert!(!listed.to_string().contains(&secret[6..]));

        // The store file holds the secret only sealed.
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            let key = &secret.as_bytes()[6..];
            assert!(!bytes.windows(key.len()).any(|w| w == key), "{}", entry.display());
        }

        // Bad input exits 1 with one line that does not repeat a credential in the URL.
        let bad = ak_with(
            dir.path(),
            &["webhook", "add", "https://user:hunter2@e.co/"],
            None,
            &env,
        );
        assert_eq!(bad.code, 1, "{}", bad.stderr);
        assert!(!bad.stderr.contains("hunter2"));
        assert_eq!(bad.stderr.lines().count(), 1);
        let bad = ak_with(dir.path(), &["webhook", "add", "ftp://e.co/"], None, &env);
        assert_eq!(bad.code, 1);

        ak_with(dir.path(), &["webhook", "delete", &id], None, &env).ok();
        let gone = ak_with(dir.path(), &["webhook", "delete", &id], None, &env);
        assert_eq!(gone.code, 1);
        assert!(gone.stderr.contains("not found"), "{}", gone.stderr);
        let listed = ak_with(dir.path(), &["--json", "webhook", "list"], None, &env)
            .ok()
            .json();
        assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn audit_trail_last_use_and_stale_and_expiring_keys_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (used, used_key) = create(dir.path(), &["--name", "used"]);
    let (idle, _) = create(dir.path(), &["--name", "idle", "--expires-in", "3d"]);
    ak_with(
        dir.path(),
        &["exchange", "--ip", "10.0.0.7"],
        Some(&used_key),
        &[],
    )
    .ok();
    ak(dir.path(), &["deactivate", &used]).ok();
    assert_eq!(ak_with(dir.path(), &["exchange"], Some(&used_key), &[]).code, 1);

    let loaded = ak(dir.path(), &["--json", "load", &used]).ok().json();
    assert!(loaded["key"]["lastUsedTime"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(loaded["key"]["lastUsedIp"], "10.0.0.7");
    let never = ak(dir.path(), &["--json", "load", &idle]).ok().json();
    assert!(never["key"].get("lastUsedTime").is_none(), "{never}");
    let text = ak(dir.path(), &["load", &idle]).ok().stdout;
    assert!(text.contains("last used") && text.contains("never"), "{text}");

    let ids = |run: Run| -> Vec<String> {
        run.json()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--not-used-since", "90d"]).ok()),
        std::slice::from_ref(&idle)
    );
    assert_eq!(
        ids(ak(dir.path(), &["--json", "search", "--expires-within", "7d"]).ok()),
        std::slice::from_ref(&idle)
    );
    assert!(ids(ak(dir.path(), &["--json", "search", "--expires-within", "1d"]).ok()).is_empty());

    let trail = ak(dir.path(), &["--json", "audit", "--key", &used]).ok().json();
    let actions: Vec<&str> = trail["audits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "accesskey.exchange.failed",
            "accesskey.deactivate",
            "accesskey.exchange",
            "accesskey.create"
        ]
    );
    let failed = ak(
        dir.path(),
        &[
            "--json",
            "audit",
            "--action",
            "accesskey.exchange.failed",
            "--since",
            "1h",
        ],
    )
    .ok()
    .json();
    let failed = failed["audits"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["reason"], "inactive");
    assert!(failed[0]["actor"].as_str().unwrap().contains(&used));
    let table = ak(dir.path(), &["audit", "--key", &idle]).ok().stdout;
    assert!(
        table.contains("accesskey.create") && table.contains("1 event(s)"),
        "{table}"
    );
    assert!(
        table.contains("cli"),
        "the CLI records itself as the actor: {table}"
    );
    // No secret in the trail.
    let everything = ak(dir.path(), &["--json", "audit"]).ok().stdout;
    assert!(!everything.contains(&used_key));
    assert!(!everything.contains(used_key.rsplit('_').next().unwrap()));
}

#[test]
fn management_key_changes_are_in_the_audit_trail_on_every_local_store() {
    for store in ["sqlite:keys.db", "sled:keys.sled"] {
        let dir = tempfile::tempdir().unwrap();
        let created = ak(
            dir.path(),
            &[
                "--store",
                store,
                "--json",
                "management-key",
                "create",
                "--name",
                "ops",
            ],
        )
        .ok()
        .json();
        let id = created["key"]["id"].as_str().unwrap().to_owned();
        let cleartext = created["cleartext"].as_str().unwrap().to_owned();
        ak(dir.path(), &["--store", store, "management-key", "delete", &id]).ok();
        // A second delete fails, and is recorded as a failure.
        assert_eq!(
            ak(dir.path(), &["--store", store, "management-key", "delete", &id]).code,
            1
        );

        let trail = ak(dir.path(), &["--store", store, "--json", "audit", "--key", &id]).ok();
        assert!(
            !trail.stdout.contains(&cleartext),
            "{store}: no cleartext in the trail"
        );
        let audits = trail.json()["audits"].as_array().unwrap().clone();
        let seen: Vec<(String, String)> = audits
            .iter()
            .map(|event| {
                (
                    event["action"].as_str().unwrap().to_owned(),
                    event["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let actions: Vec<&str> = seen.iter().map(|(action, _)| action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "managementkey.delete",
                "managementkey.delete",
                "managementkey.create"
            ],
            "{store}: newest first: {seen:?}"
        );
        assert_ne!(seen[0].1, "success", "{store}: the failed delete: {seen:?}");
        assert_eq!(
            (seen[1].1.as_str(), seen[2].1.as_str()),
            ("success", "success"),
            "{store}"
        );
        assert!(
            audits
                .iter()
                .all(|event| event["actor"].as_str().unwrap().starts_with("cli")),
            "{store}: {audits:?}"
        );
    }
}
