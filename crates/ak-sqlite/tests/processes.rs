//! Several processes: a writer killed with SIGKILL mid-stream, and two processes sharing a file.
//!
//! Child processes are this test binary run again with `--exact <child test>` and an environment
//! variable telling that test to act; without the variable the child tests return at once.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ak_core::{KeyStatus, KeyStore, KeyTenant, SearchQuery};
use ak_sqlite::SqliteKeyStore;
use ak_testkit::cases::search_all;
use ak_testkit::fixtures::record;
use rusqlite::Connection;

const CRASH_CHILD_ENV: &str = "AK_SQLITE_TEST_CRASH_CHILD";
const SHARED_CHILD_ENV: &str = "AK_SQLITE_TEST_SHARED_CHILD";

fn child(test: &str, env: &str, path: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(env, path)
        .stdin(Stdio::null());
    command
}

fn tenant_of(n: u64) -> String {
    format!("t{}", n % 3)
}

/// The child of [`acknowledged_writes_survive_sigkill`]: writes until killed, printing one line
/// per acknowledged write.
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_CHILD_ENV) else {
        return;
    };
    let store = SqliteKeyStore::open(path).expect("child opens the store");
    let mut out = std::io::stdout().lock();
    let mut ack = |line: String| {
        writeln!(out, "ACK {line}").expect("stdout");
        out.flush().expect("stdout");
    };
    for n in 0u64.. {
        let id = format!("key-{n}");
        let mut new = record(&id, "fresh", i64::try_from(n).expect("small"));
        new.key.key_tenants = vec![KeyTenant::new(tenant_of(n), ["role"])];
        store.insert(&new).expect("insert");
        ack(format!("insert {id}"));
        let mut changed = store.get(&id).expect("get").expect("present");
        changed.key.name = "updated".into();
        changed.key.description = "x".repeat(200);
        let version = store.update(&changed).expect("update");
        ack(format!("update {id} {version}"));
        store
            .set_status(std::slice::from_ref(&id), KeyStatus::Inactive)
            .expect("set_status");
        ack(format!("deactivate {id}"));
        if n % 2 == 0 {
            store.delete(std::slice::from_ref(&id)).expect("delete");
            ack(format!("delete {id}"));
        }
    }
}

/// The last acknowledged step of each key: 1 insert, 2 update, 3 deactivate, 4 delete.
fn acknowledged(output: &str) -> BTreeMap<u64, u8> {
    let mut steps = BTreeMap::new();
    for line in output.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("ACK") {
            continue;
        }
        let (Some(op), Some(id)) = (words.next(), words.next()) else {
            continue;
        };
        let n: u64 = id.trim_start_matches("key-").parse().expect("key number");
        let step = match op {
            "insert" => 1,
            "update" => 2,
            "deactivate" => 3,
            "delete" => 4,
            other => panic!("unknown op {other}"),
        };
        steps.insert(n, step);
    }
    steps
}

fn random_delay(round: u64) -> Duration {
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |elapsed| elapsed.as_nanos())
        .to_le_bytes()[..8]
        .iter()
        .fold(round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1, |acc, byte| {
            acc.rotate_left(8) ^ u64::from(*byte)
        });
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    Duration::from_millis(3 + seed % 300)
}

/// Checks that every acknowledged write is in force, nothing beyond the one write in flight
/// happened, and the file is consistent.
fn verify_after_crash(path: &Path, steps: &BTreeMap<u64, u8>) {
    let store = SqliteKeyStore::open(path).expect("reopen after the crash");
    let in_flight = steps.keys().next_back().map_or(0, |last| last + 1);
    for (&n, &step) in steps {
        let id = format!("key-{n}");
        let stored = store.get(&id).expect("get");
        let context = format!("{id} acknowledged step {step}: {stored:?}");
        match (step, stored) {
            (4, stored) => assert!(stored.is_none(), "{context}"),
            // The delete after a deactivate may have committed without its acknowledgement.
            (3, None) => assert!(n % 2 == 0, "{context}"),
            (_, None) => panic!("acknowledged record lost: {context}"),
            (step, Some(stored)) => {
                assert_eq!(stored.key.key_tenants[0].tenant_id, tenant_of(n), "{context}");
                // Exactly the acknowledged state, or the next one (committed, unacknowledged).
                match stored.version {
                    1 => assert!(step == 1 && stored.key.name == "fresh", "{context}"),
                    2 => assert!(
                        step <= 2 && stored.key.name == "updated" && stored.key.status == KeyStatus::Active,
                        "{context}"
                    ),
                    3 => assert!(
                        step >= 2 && stored.key.name == "updated" && stored.key.status == KeyStatus::Inactive,
                        "{context}"
                    ),
                    other => panic!("unexpected version {other}: {context}"),
                }
                assert!(
                    stored.version >= u64::from(step.min(3)),
                    "acknowledged write lost: {context}"
                );
            }
        }
    }
    // Nothing exists that was neither acknowledged nor in flight.
    for found in search_all(&store, SearchQuery::default()) {
        let n: u64 = found
            .key
            .id
            .trim_start_matches("key-")
            .parse()
            .expect("key number");
        assert!(
            steps.contains_key(&n) || n == in_flight,
            "unexpected {}",
            found.key.id
        );
        // And the tenant index finds it.
        let by_tenant = SearchQuery {
            tenant_ids: vec![tenant_of(n)],
            limit: 1000,
            ..SearchQuery::default()
        };
        assert!(
            search_all(&store, by_tenant)
                .iter()
                .any(|r| r.key.id == found.key.id),
            "{} missing from its tenant",
            found.key.id
        );
    }
    drop(store);
    let conn = Connection::open(path).expect("open with rusqlite");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok");
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM key_tenants WHERE key_id NOT IN (SELECT id FROM keys)",
            [],
            |row| row.get(0),
        )
        .expect("orphan count");
    assert_eq!(orphans, 0, "orphaned tenant rows");
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    for round in 0..5 {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.db");
        drop(SqliteKeyStore::open(&path).expect("create the store"));
        let mut child = child("crash_child", CRASH_CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the writer");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let reader = std::thread::spawn(move || {
            let mut output = String::new();
            stdout
                .read_to_string(&mut output)
                .expect("read the child's output");
            output
        });
        let delay = random_delay(round);
        std::thread::sleep(delay);
        // `Child::kill` sends SIGKILL on Unix: no destructor, no flush, no checkpoint.
        child.kill().expect("kill the writer");
        let status = child.wait().expect("reap the writer");
        let output = reader.join().expect("reader thread");
        let steps = acknowledged(&output);
        eprintln!(
            "round {round}: killed after {delay:?} ({status}), {} keys acknowledged",
            steps.len()
        );
        verify_after_crash(&path, &steps);
    }
}

/// The child of [`two_processes_share_one_file`]: sees the parent's key, writes its own.
#[test]
fn shared_child() {
    let Some(path) = std::env::var_os(SHARED_CHILD_ENV) else {
        return;
    };
    let store = SqliteKeyStore::open(path).expect("child opens the store");
    assert!(
        store.get("parent-0").expect("get").is_some(),
        "the parent's write is visible"
    );
    for n in 0..20 {
        store
            .insert(&record(&format!("child-{n}"), "child", n))
            .expect("child insert");
    }
    store
        .set_status(&["parent-0".to_owned()], KeyStatus::Inactive)
        .expect("child deactivates");
}

#[test]
fn two_processes_share_one_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.db");
    let store = SqliteKeyStore::open(&path).expect("open");
    store.insert(&record("parent-0", "parent", 0)).expect("insert");
    let mut child = child("shared_child", SHARED_CHILD_ENV, &path)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the second process");
    // Write at the same time as the child.
    for n in 1..20 {
        store
            .insert(&record(&format!("parent-{n}"), "parent", n))
            .expect("parent insert while the child writes");
    }
    let status = child.wait().expect("wait for the child");
    assert!(status.success(), "second process failed: {status}");
    // The store kept open all along sees everything the other process wrote.
    assert_eq!(
        store.get("parent-0").expect("get").expect("present").key.status,
        KeyStatus::Inactive
    );
    for n in 0..20 {
        assert!(store.get(&format!("child-{n}")).expect("get").is_some());
    }
    assert_eq!(search_all(&store, SearchQuery::default()).len(), 40);
}
