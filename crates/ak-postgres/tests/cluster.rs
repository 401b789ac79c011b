//! A private PostgreSQL cluster this test starts itself (initdb + pg_ctl in a temporary
//! directory, as the `postgres` OS user, on a free port): restarted, and crashed, under a stream
//! of writes; a wrong password; a server with `fsync = off`.
//!
//! Skipped, with a message, where there is no `initdb` or no way to run it as `postgres`
//! (unless `AK_REQUIRE_POSTGRES=1`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ak_core::{BackendErrorKind, KeyRecord, KeyStore};
use ak_postgres::{PgConfig, PgStore};
use ak_testkit::fixtures::record;

const PASSWORD: &str = "cluster-pw-5f1e";

/// The PostgreSQL binaries: the newest version under /usr/lib/postgresql.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A running private cluster; stopped and removed on drop (also when the test panics).
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

fn as_postgres(program: &Path, args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .expect("run as postgres")
}

impl Cluster {
    /// A new cluster with password (scram) authentication over TCP, or `None` after saying why
    /// not.
    fn start() -> Option<Self> {
        let Some(bin) = bin_dir() else {
            common::skip("no initdb under /usr/lib/postgresql");
            return None;
        };
        let runuser_works = Command::new("runuser")
            .args(["-u", "postgres", "--", "true"])
            .status()
            .is_ok_and(|status| status.success());
        if !runuser_works {
            common::skip("cannot run commands as the postgres OS user (runuser)");
            return None;
        }
        let dir = std::env::temp_dir().join(common::unique("akt_cluster"));
        std::fs::create_dir(&dir).unwrap();
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        let chown = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(chown.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self { dir, bin, port };
        let data = cluster.data();
        let init = as_postgres(
            &cluster.bin.join("initdb"),
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "--no-instructions",
            ],
        );
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        cluster.pg_ctl(&["start"], "");
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs `pg_ctl ACTION` with the cluster's options (plus `extra`) and waits for it.
    fn pg_ctl(&self, action: &[&str], extra: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 {extra}",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        let data = self.data();
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options];
        args.extend_from_slice(action);
        let out = as_postgres(&self.bin.join("pg_ctl"), &args);
        assert!(
            out.status.success(),
            "pg_ctl {action:?}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    fn url(&self, password: &str) -> String {
        format!("postgres://postgres:{password}@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn restarts_and_crashes_under_writes_lose_no_acknowledged_write() {
    let Some(cluster) = Cluster::start() else { return };
    let config = PgConfig::from_url(&cluster.url(PASSWORD)).unwrap().pool_size(4);
    let store = PgStore::open(&config).unwrap();

    let acked = Arc::new(Mutex::new(Vec::<KeyRecord>::new()));
    let failures = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let server = store.label().to_owned();
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let (store, acked, failures, stop) = (
                store.clone(),
                Arc::clone(&acked),
                Arc::clone(&failures),
                Arc::clone(&stop),
            );
            let server = server.clone();
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = record(&format!("w{writer}-{i:05}"), "n", i);
                    match store.insert(&key) {
                        Ok(()) => acked.lock().unwrap().push(key),
                        Err(err) => {
                            assert_eq!(err.backend_kind(), Some(BackendErrorKind::Unavailable), "{err}");
                            assert!(err.to_string().contains(&server), "{err}");
                            assert!(!format!("{err:?}").contains(PASSWORD), "{err:?}");
                            failures.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    let wait_for_more = |at_least: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        let start = acked.lock().unwrap().len();
        while acked.lock().unwrap().len() < start + at_least {
            assert!(Instant::now() < deadline, "the store did not recover");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for_more(30);
    // A crash (no shutdown checkpoint; recovery replays the WAL), then a clean restart.
    cluster.pg_ctl(&["-m", "immediate", "restart"], "");
    wait_for_more(30);
    cluster.pg_ctl(&["-m", "fast", "restart"], "");
    wait_for_more(30);
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    println!(
        "{} writes acknowledged, {} failed during the restarts",
        acked.lock().unwrap().len(),
        failures.load(Ordering::Relaxed)
    );
    // The same store, never reopened, and a new one, see every acknowledged write.
    let reopened = PgStore::open(&config).unwrap();
    for key in acked.lock().unwrap().iter() {
        assert_eq!(store.get(key.id()).unwrap().as_ref(), Some(key));
        assert_eq!(reopened.get(key.id()).unwrap().as_ref(), Some(key));
    }
}

#[test]
fn a_wrong_password_is_denied_and_fsync_off_is_refused() {
    let Some(cluster) = Cluster::start() else { return };
    let config = PgConfig::from_url(&cluster.url("not-the-password")).unwrap();
    let err = PgStore::open(&config).unwrap_err();
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Denied), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{}", cluster.port)),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains("not-the-password"), "{err:?}");

    let config = PgConfig::from_url(&cluster.url(PASSWORD)).unwrap();
    drop(PgStore::open(&config).unwrap());

    // The same ak schema on a server that does not fsync: refused, not used.
    cluster.pg_ctl(&["-m", "fast", "restart"], "-c fsync=off");
    let err = PgStore::open(&config).unwrap_err();
    assert_eq!(err.backend_kind(), Some(BackendErrorKind::Incompatible), "{err}");
    assert!(err.to_string().contains("fsync"), "{err}");
}
