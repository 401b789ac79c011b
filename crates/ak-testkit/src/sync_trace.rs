//! Proof by syscall trace that an acknowledged write reached the disk before it returned.
//!
//! A test re-runs its own binary as a child under `strace -ff -y`, on one test that opens a store,
//! prints [`BEFORE`], performs the write, and prints [`AFTER`] (each one `write` to standard
//! error). [`traced_syncs`] returns the `fsync`, `fdatasync` and `sync_file_range` calls that the
//! child's writing thread made between the two markers, with the path of each file, so a test can
//! assert that the store's data file was synced before the call returned. Syncs of other threads
//! (such as sled's background flusher) are left out: they may come at any moment and prove
//! nothing about this call.
//!
//! [`sync_trace_conformance!`](crate::sync_trace_conformance) turns the three writes of
//! [`TracedWrite`] into parent and child tests for a backend in one line.
//!
//! Where `strace` is not installed, [`traced_syncs`] prints a notice and returns `None`.

use std::path::Path;
use std::process::{Command, Stdio};

use ak_core::management::ManagementKeyStore;
use ak_core::{KeyStatus, KeyStore, SigningKeyStore};

use crate::fixtures::record;
use crate::management::management_record;

/// Printed by the child just before the traced write.
pub const BEFORE: &str = "AK-SYNC-TRACE-BEFORE";
/// Printed by the child just after the traced write returned.
pub const AFTER: &str = "AK-SYNC-TRACE-AFTER";

/// One sync syscall of the writing thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCall {
    /// `fsync`, `fdatasync` or `sync_file_range`.
    pub syscall: String,
    /// The path of the file it synced, as `strace -y` shows it.
    pub path: String,
    /// Whether it returned 0.
    pub succeeded: bool,
}

impl SyncCall {
    /// Whether this is an `fsync` or `fdatasync` (a real flush to the disk) that succeeded.
    pub fn is_durable_sync(&self) -> bool {
        self.succeeded && (self.syscall == "fsync" || self.syscall == "fdatasync")
    }
}

/// Runs test `child_test` of the current test binary under strace, with `var` set to `dir`, and
/// returns the sync calls its writing thread made between [`BEFORE`] and [`AFTER`].
///
/// `None` (with a notice on standard error) where strace is missing. Panics if the child fails
/// or does not print both markers.
pub fn traced_syncs(child_test: &str, var: &str, dir: &Path) -> Option<Vec<SyncCall>> {
    let available = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !available {
        eprintln!("skipped: strace is not installed, so the sync trace of {child_test} cannot be checked");
        return None;
    }
    // `-ff`: one file per thread, so another thread's calls never split a line of this one.
    let log = dir.join("strace.log");
    let status = Command::new("strace")
        .args([
            "-ff",
            "-y",
            "-s",
            "64",
            "-e",
            "trace=fsync,fdatasync,sync_file_range,write",
            "-o",
        ])
        .arg(&log)
        .arg(std::env::current_exe().expect("the test binary"))
        .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
        .env(var, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("run the child under strace");
    assert!(status.success(), "the traced child {child_test} failed: {status}");
    let mut traces = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list the strace logs") {
        let path = entry.expect("a strace log").path();
        let is_log = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("strace.log."));
        if is_log {
            traces.push(std::fs::read_to_string(&path).expect("read a strace log"));
        }
    }
    let writer = traces
        .iter()
        .find(|trace| trace.contains(BEFORE))
        .unwrap_or_else(|| panic!("the child never printed {BEFORE}"));
    Some(syncs_between_markers(writer))
}

/// Runs `child_test` under strace as [`traced_syncs`] does and asserts that its writing thread
/// `fsync`ed or `fdatasync`ed `file` between the markers. `false` (with the notice, and
/// nothing run) where strace is missing.
pub fn assert_synced_before_return(child_test: &str, var: &str, dir: &Path, file: &Path) -> bool {
    let Some(calls) = traced_syncs(child_test, var, dir) else {
        return false;
    };
    assert!(
        calls
            .iter()
            .any(|call| call.is_durable_sync() && Path::new(&call.path) == file),
        "no fsync of {} before the write returned: {calls:?}",
        file.display()
    );
    true
}

/// One acknowledged write whose sync a backend proves with [`sync_trace_conformance!`]: each is a
/// revocation or a key-set change that must survive a power loss once it returned.
///
/// [`sync_trace_conformance!`]: crate::sync_trace_conformance
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracedWrite {
    /// Deactivating an access key.
    Deactivate,
    /// Replacing the stored signing-key set.
    ReplaceSigningKeys,
    /// Deleting a management key.
    DeleteManagementKey,
}

/// The store traits a [`TracedWrite`] needs.
pub trait TracedStore: KeyStore + SigningKeyStore + ManagementKeyStore {}
impl<S: KeyStore + SigningKeyStore + ManagementKeyStore> TracedStore for S {}

impl TracedWrite {
    /// Writes, with a first handle, what the traced write then changes.
    pub fn prepare(self, store: &dyn TracedStore) {
        match self {
            Self::Deactivate => store.insert(&record("k", "kay", 1)).expect("insert"),
            Self::ReplaceSigningKeys => {
                store
                    .replace_signing_keys(None, b"old")
                    .expect("first signing-key set");
            }
            Self::DeleteManagementKey => store
                .insert_management_key(&management_record("m", "m", 1, false))
                .expect("insert a management key"),
        }
    }

    /// The traced write itself (in the child, between the markers).
    pub fn perform(self, store: &dyn TracedStore) {
        match self {
            Self::Deactivate => store
                .set_status(&["k".into()], KeyStatus::Inactive)
                .expect("deactivate"),
            Self::ReplaceSigningKeys => {
                store.replace_signing_keys(Some(1), b"rotated").expect("replace");
            }
            Self::DeleteManagementKey => {
                assert!(store.delete_management_key("m").expect("delete"));
            }
        }
    }

    /// Asserts, with a fresh handle after the child exited, that the write is there.
    pub fn assert_done(self, store: &dyn TracedStore) {
        match self {
            Self::Deactivate => {
                let stored = store.get("k").expect("get").expect("the key");
                assert_eq!(stored.key.status, KeyStatus::Inactive);
            }
            Self::ReplaceSigningKeys => {
                let stored = store.load_signing_keys().expect("load").expect("a set");
                assert_eq!((stored.version, stored.sealed.as_slice()), (2, &b"rotated"[..]));
            }
            Self::DeleteManagementKey => {
                assert!(store.get_management_key("m").expect("get").is_none());
            }
        }
    }
}

/// The parent side of one [`TracedWrite`]: prepares the store in `dir`, runs `child_test` under
/// strace and asserts that it synced `synced_file` before the write returned, then that a
/// re-opened store holds the write. Does nothing more (after the notice) where strace is
/// missing.
pub fn check_traced_write<S: TracedStore>(
    write: TracedWrite,
    child_test: &str,
    var: &str,
    dir: &Path,
    open: impl Fn(&Path) -> S,
    synced_file: &Path,
) {
    write.prepare(&open(dir));
    if !assert_synced_before_return(child_test, var, dir, synced_file) {
        return;
    }
    write.assert_done(&open(dir));
}

/// The child side of one [`TracedWrite`]: when `var` names a directory (the parent set it), opens
/// the store there and performs the write between [`BEFORE`] and [`AFTER`].
pub fn run_traced_child<S: TracedStore>(write: TracedWrite, var: &str, open: impl Fn(&Path) -> S) {
    let Some(dir) = std::env::var_os(var) else {
        return;
    };
    let store = open(Path::new(&dir));
    eprintln!("{BEFORE}");
    write.perform(&store);
    eprintln!("{AFTER}");
}

/// Expands to a parent and a child `#[test]` for every [`TracedWrite`], proving by syscall trace
/// that each acknowledged write synced the backend's file. `open` opens the store kept in a
/// directory (`Fn(&Path) -> S`), `synced_file` names the file that must be synced
/// (`Fn(&Path) -> PathBuf`), and `var` is the environment variable that hands the child its
/// directory. Use it once per test file.
#[macro_export]
macro_rules! sync_trace_conformance {
    (var: $var:expr, open: $open:expr, synced_file: $file:expr $(,)?) => {
        $crate::__sync_trace_pair!(
            $var,
            $open,
            $file,
            Deactivate,
            acknowledged_deactivate_is_synced,
            deactivate_child
        );
        $crate::__sync_trace_pair!(
            $var,
            $open,
            $file,
            ReplaceSigningKeys,
            acknowledged_signing_key_replace_is_synced,
            replace_signing_keys_child
        );
        $crate::__sync_trace_pair!(
            $var,
            $open,
            $file,
            DeleteManagementKey,
            acknowledged_management_key_delete_is_synced,
            delete_management_key_child
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sync_trace_pair {
    ($var:expr, $open:expr, $file:expr, $write:ident, $parent:ident, $child:ident) => {
        #[test]
        fn $parent() {
            let dir = tempfile::tempdir().expect("temporary directory");
            let synced: std::path::PathBuf = ($file)(dir.path());
            $crate::sync_trace::check_traced_write(
                $crate::sync_trace::TracedWrite::$write,
                stringify!($child),
                $var,
                dir.path(),
                $open,
                &synced,
            );
        }

        /// The traced child (does nothing unless its parent runs it).
        #[test]
        fn $child() {
            $crate::sync_trace::run_traced_child($crate::sync_trace::TracedWrite::$write, $var, $open);
        }
    };
}

/// The sync calls in one thread's trace between [`BEFORE`] and [`AFTER`].
fn syncs_between_markers(trace: &str) -> Vec<SyncCall> {
    let marker_line = |marker: &str| {
        trace
            .lines()
            .position(|line| line.starts_with("write(") && line.contains(marker))
            .unwrap_or_else(|| panic!("the thread never printed {marker}; trace:\n{trace}"))
    };
    let (start, end) = (marker_line(BEFORE), marker_line(AFTER));
    trace
        .lines()
        .skip(start + 1)
        .take(end.saturating_sub(start + 1))
        .filter_map(parse_sync)
        .collect()
}

/// `fsync(7</tmp/x/db>) = 0` → a [`SyncCall`]; `None` for other lines.
fn parse_sync(line: &str) -> Option<SyncCall> {
    let (syscall, rest) = line.split_once('(')?;
    if !matches!(syscall, "fsync" | "fdatasync" | "sync_file_range") {
        return None;
    }
    let path = rest.split_once('<')?.1.split_once('>')?.0.to_owned();
    let succeeded = rest.rsplit_once("= ")?.1.trim().starts_with('0');
    Some(SyncCall {
        syscall: syscall.to_owned(),
        path,
        succeeded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_calls_between_the_markers() {
        let trace = "\
fsync(3</d/early>) = 0
write(2</dev/pts/0>, \"AK-SYNC-TRACE-BEFORE\\n\", 21) = 21
sync_file_range(4</d/db>, 0, 10, 7) = 0
fdatasync(5</d/keys.db-wal>) = 0
fsync(6</d/fails>) = -1 EIO (Input/output error)
write(2</dev/pts/0>, \"AK-SYNC-TRACE-AFTER\\n\", 20) = 20
fsync(3</d/late>) = 0
";
        let calls = syncs_between_markers(trace);
        let summary: Vec<_> = calls
            .iter()
            .map(|call| (call.syscall.as_str(), call.path.as_str(), call.is_durable_sync()))
            .collect();
        assert_eq!(
            summary,
            [
                ("sync_file_range", "/d/db", false),
                ("fdatasync", "/d/keys.db-wal", true),
                ("fsync", "/d/fails", false),
            ]
        );
    }
}
