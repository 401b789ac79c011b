//! What makes an acknowledged sled write survive power loss.
//!
//! sled 0.34.7's [`flush`](sled::Tree::flush) on Linux writes its log with `pwrite` and then
//! `sync_file_range`, never `fsync`: that starts and waits for writeback of the written range, but
//! persists neither the file's metadata (its size, when the log grew) nor the drive's volatile
//! cache. Values too large for the log go to files under `blobs/`, which sled never syncs at all.
//! Its background thread calls `fsync` about every 500 ms, so without more an acknowledged
//! revocation could be lost to a machine crash.
//!
//! After every flush, `DiskSync::sync` therefore calls `fsync` ([`File::sync_all`]) on sled's
//! data file, which persists the inode and every dirty page whichever descriptor wrote them, and
//! on every blob file and the blob directory. The directory's own entries (the data file, the
//! marker) are synced once when the store is opened.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Open handles on the files of one on-disk sled database.
#[derive(Debug)]
pub(crate) struct DiskSync {
    data: File,
    blobs: PathBuf,
}

impl DiskSync {
    /// Opens the data file of the sled database in `dir` and syncs the directory once.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        let data = File::open(dir.join("db"))?;
        File::open(dir)?.sync_all()?;
        Ok(Self {
            data,
            blobs: dir.join("blobs"),
        })
    }

    /// `fsync`s the data file, then every blob file and the blob directory.
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.data.sync_all()?;
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let mut any = false;
        for entry in entries {
            any = true;
            match File::open(entry?.path()) {
                Ok(blob) => blob.sync_all()?,
                // sled removed a blob it no longer needs while we listed them.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        if any {
            File::open(&self.blobs)?.sync_all()?;
        }
        Ok(())
    }
}
