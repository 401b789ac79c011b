//! The signing key set file, the import/export format of the signing keys (which live in the
//! store): refused when others can read it, written with mode 0600 and replaced atomically (write
//! a temporary file, fsync, rename, fsync the directory).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ak::KeySet;

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyFileError {
    #[error("signing key file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "signing key file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}` or make a new one"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("signing key file {path} is not a valid ak key set: {source}")]
    Invalid { path: PathBuf, source: ak::KeyError },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The largest signing-key file read (a key set of hundreds of keys is a few tens of KiB).
const MAX_KEY_FILE_BYTES: usize = 1 << 20;

/// Loads an existing key set.
pub(crate) fn load(path: &Path) -> Result<KeySet, KeyFileError> {
    read(path, File::open(path).map_err(io_error(path))?)
}

fn read(path: &Path, mut file: File) -> Result<KeySet, KeyFileError> {
    let mode = file.metadata().map_err(io_error(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    // Key sets are small; refuse to read anything absurdly large. Read into one buffer sized up
    // front, so no reallocation leaves a copy of the private keys behind.
    let text =
        crate::secret_io::read_secret(&mut file, MAX_KEY_FILE_BYTES, "the file").map_err(io_error(path))?;
    KeySet::from_json(&text).map_err(|source| KeyFileError::Invalid {
        path: path.to_owned(),
        source,
    })
}

/// Writes a new file that must not exist yet, mode 0600 from the start.
fn write_new(path: &Path, keys: &KeySet) -> Result<(), KeyFileError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(keys.to_json().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(path))?;
    sync_parent(path)
}

/// Replaces the key set at `path` atomically.
pub(crate) fn replace(path: &Path, keys: &KeySet) -> Result<(), KeyFileError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let _ = fs::remove_file(&temporary);
    write_new(&temporary, keys)?;
    fs::rename(&temporary, path).map_err(io_error(path))?;
    sync_parent(path)
}

fn sync_parent(path: &Path) -> Result<(), KeyFileError> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error(parent))
}
