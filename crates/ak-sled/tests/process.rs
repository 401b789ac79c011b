//! Tests across processes: a writer killed with SIGKILL loses no acknowledged write, and a second
//! opener of a directory is told the store is in use.
//!
//! The child processes re-run this test binary on one test (`--exact <name>`); those tests return
//! at once unless their environment variable is set, so they pass trivially in a normal run.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ak_core::{BackendErrorKind, KeyRecord, KeyStatus, KeyStore, SearchQuery, StoreError};
use ak_sled::SledKeyStore;
use ak_testkit::cases::search_all;
use ak_testkit::model::variant_record;

/// Tells `crash_child` where the store is (and to run at all).
const CRASH_DIR: &str = "AK_SLED_CRASH_CHILD_DIR";
/// Tells `in_use_child` where the store is (and to run at all).
const IN_USE_DIR: &str = "AK_SLED_IN_USE_CHILD_DIR";
/// How many times the writer is killed.
const CRASH_ROUNDS: usize = 5;
/// The latest moment of the kill after the first acknowledged write.
const MAX_KILL_DELAY_MS: u64 = 300;

/// Runs this test binary again as a child on one test, with `var` set to `dir`.
fn spawn_child(test: &str, var: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(var, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child test process")
}

/// One write of the crash workload.
#[derive(Debug)]
enum Step {
    Insert(KeyRecord),
    Update(KeyRecord),
    Deactivate(Vec<String>),
    Delete(Vec<String>),
}

type Model = BTreeMap<String, KeyRecord>;

fn id(slot: usize) -> String {
    variant_record(slot, 0).key.id
}

fn variant(n: usize) -> u8 {
    u8::try_from(n % 251).expect("below 251")
}

/// Step `n` of a deterministic workload, given the state after steps `0..n`. Every step is valid
/// (no conflicts, no unknown ids), and every kind of write, batches included, recurs.
fn step(n: usize, model: &Model) -> Step {
    let slot = n / 4;
    match n % 4 {
        0 => Step::Insert(variant_record(slot, variant(slot))),
        1 => {
            let mut record = variant_record(slot, variant(slot + 1));
            record.version = model[&id(slot)].version;
            Step::Update(record)
        }
        2 if slot > 0 => Step::Deactivate(vec![id(slot), id(slot - 1)]),
        2 => Step::Deactivate(vec![id(slot)]),
        _ if slot > 0 => Step::Delete(vec![id(slot - 1)]),
        _ => Step::Deactivate(vec![id(slot)]),
    }
}

fn run(store: &SledKeyStore, step: &Step) -> Result<(), StoreError> {
    match step {
        Step::Insert(record) => store.insert(record),
        Step::Update(record) => store.update(record).map(drop),
        Step::Deactivate(ids) => store.set_status(ids, KeyStatus::Inactive),
        Step::Delete(ids) => store.delete(ids),
    }
}

fn apply(model: &mut Model, step: &Step) {
    match step {
        Step::Insert(record) => {
            model.insert(record.key.id.clone(), record.clone());
        }
        Step::Update(record) => {
            let mut stored = record.clone();
            stored.version += 1;
            model.insert(record.key.id.clone(), stored);
        }
        Step::Deactivate(ids) => {
            for id in ids {
                let record = model.get_mut(id).expect("deactivated id exists");
                record.key.status = KeyStatus::Inactive;
                record.version += 1;
            }
        }
        Step::Delete(ids) => {
            for id in ids {
                model.remove(id);
            }
        }
    }
}

/// The child: writes the workload forever (until killed), printing `ack N` after step N returned.
///
/// (libtest prints `test crash_child ... ` without a newline first, so the parent looks for the
/// marker anywhere in a line.)
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let store = SledKeyStore::open(dir).expect("child opens the store");
    let mut model = Model::new();
    let mut out = std::io::stdout().lock();
    let deadline = Instant::now() + Duration::from_secs(30);
    for n in 0.. {
        let step = step(n, &model);
        run(&store, &step).expect("child write");
        apply(&mut model, &step);
        writeln!(out, "ack {n}").expect("print ack");
        out.flush().expect("flush ack");
        if Instant::now() > deadline {
            break;
        }
    }
}

/// Everything the store holds, by id, through a paged search; `get` must agree.
fn contents(store: &SledKeyStore) -> Model {
    let all: Model = search_all(store, SearchQuery::default())
        .into_iter()
        .map(|record| (record.key.id.clone(), record))
        .collect();
    for (id, record) in &all {
        assert_eq!(store.get(id).expect("get").as_ref(), Some(record));
    }
    all
}

fn random_below(bound: u64, salt: usize) -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(salt) % bound
}

/// SIGKILL a writer at a random moment; after re-opening, every acknowledged write is there (the
/// one write in flight may or may not be), and every index matches the records.
#[test]
fn acknowledged_writes_survive_sigkill() {
    for round in 0..CRASH_ROUNDS {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("store");
        let mut child = spawn_child("crash_child", CRASH_DIR, &path);
        let stdout = child.stdout.take().expect("child stdout");
        let (lines_tx, lines_rx) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        // Kill at a random moment after the first acknowledged write.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !lines.iter().any(|line: &String| line.contains("ack ")) {
            let line = lines_rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the child acknowledges a first write");
            lines.push(line);
        }
        let delay = random_below(MAX_KILL_DELAY_MS, round);
        thread::sleep(Duration::from_millis(delay));
        child.kill().expect("SIGKILL the child");
        let status = child.wait().expect("reap the child");
        assert!(!status.success(), "the child was killed, not finished");
        reader.join().expect("reader thread");
        lines.extend(lines_rx.try_iter());

        // `lines()` drops a final partial line only if it has no newline; a complete "ack N"
        // line was printed after step N returned Ok.
        let acked: Vec<usize> = lines
            .iter()
            .filter_map(|line| line.split_once("ack ").map(|(_, n)| n))
            .filter_map(|n| n.parse().ok())
            .collect();
        assert!(
            acked.iter().copied().eq(0..acked.len()),
            "acks in order: {acked:?}"
        );

        let store = SledKeyStore::open(&path).expect("re-open after the crash");
        store
            .check_consistency()
            .expect("indexes match records after the crash");
        let mut model = Model::new();
        for n in 0..acked.len() {
            let step = step(n, &model);
            apply(&mut model, &step);
        }
        let actual = contents(&store);
        if actual != model {
            let step = step(acked.len(), &model);
            apply(&mut model, &step);
            assert_eq!(
                actual,
                model,
                "round {round}: after {} acknowledged writes the store holds neither their \
                 result nor that plus the write in flight",
                acked.len()
            );
        }
        eprintln!(
            "crash round {round}: killed {delay} ms after the first ack, {} writes acknowledged, \
             all present",
            acked.len()
        );
    }
}

/// The child of `second_process_gets_in_use`: tries to open the store and prints what happened.
#[test]
fn in_use_child() {
    let Some(dir) = std::env::var_os(IN_USE_DIR) else {
        return;
    };
    match SledKeyStore::open(&dir) {
        Ok(_) => println!("result opened"),
        Err(err) => println!("result {:?} {err}", err.backend_kind()),
    }
}

#[test]
fn second_process_gets_in_use() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("store");
    let store = SledKeyStore::open(&path).expect("first open");
    let child = spawn_child("in_use_child", IN_USE_DIR, &path);
    let output = child.wait_with_output().expect("child output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        .find_map(|line| line.split_once("result ").map(|(_, result)| result))
        .unwrap_or_else(|| panic!("child printed no result: {stdout}"));
    assert!(result.starts_with("Some(InUse)"), "second process: {result}");
    assert!(result.contains("store in use by another process"), "{result}");
    assert!(result.contains(&path.display().to_string()), "{result}");
    drop(store);

    // Once the first process lets go, the directory opens again.
    let child = spawn_child("in_use_child", IN_USE_DIR, &path);
    let output = child.wait_with_output().expect("child output");
    assert!(String::from_utf8_lossy(&output.stdout).contains("result opened"));
}

#[test]
fn second_open_in_one_process_gets_in_use() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("store");
    let store = SledKeyStore::open(&path).expect("first open");
    let err = SledKeyStore::open(&path).expect_err("second open of a held directory");
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::InUse), "{err}");
    let StoreError::Backend {
        backend,
        detail,
        source,
        ..
    } = &err
    else {
        panic!("not a backend error: {err:?}");
    };
    assert_eq!(*backend, "sled");
    assert!(detail.contains(&path.display().to_string()), "{detail}");
    assert!(source.is_some(), "sled's error is kept as the source");
    drop(store);
    SledKeyStore::open(&path).expect("opens again once the first handle is dropped");
}
