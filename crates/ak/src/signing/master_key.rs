//! The key-encryption key that seals the signing-key set at rest.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ak_core::{OsRandom, RandomSource};
use zeroize::Zeroizing;

/// The environment variable holding a master key (64 hex digits).
pub const MASTER_KEY_VAR: &str = "AK_MASTER_KEY";
/// The environment variable naming a file that holds the master key.
pub const MASTER_KEY_FILE_VAR: &str = "AK_MASTER_KEY_FILE";

/// The 32-byte key-encryption key that seals the signing-key set in the store.
///
/// Every node sharing a store is given the same master key; the store holds the set only sealed
/// under it, so a copy of the database alone cannot mint tokens. Written as 64 hex digits (e.g.
/// `openssl rand -hex 32`), in [`MASTER_KEY_VAR`] or in a file. Zeroized on drop; `Debug` shows
/// nothing of it, and no error message ever contains it.
///
/// ```
/// use ak::signing::MasterKey;
/// let key = MasterKey::parse(&"ab".repeat(32))?;
/// assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
/// assert!(MasterKey::parse("not hex").is_err());
/// # Ok::<(), ak::signing::MasterKeyError>(())
/// ```
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Why a master key could not be read or created. Never contains the key or any part of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// The text is not 64 hex digits.
    #[error("{origin}: a master key is 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`")]
    Malformed {
        /// Where the text came from (a variable name or a path).
        origin: String,
    },
    /// The master key file could not be read or written.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The master key file is readable or writable by others.
    #[error("master key file {path} is accessible by others (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The random source failed while generating a new key.
    #[error(transparent)]
    Random(#[from] ak_core::RandomError),
}

/// The largest master key file read: 64 hex digits plus whitespace.
const MAX_FILE_BYTES: u64 = 256;

impl MasterKey {
    /// A master key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A new random master key from the OS CSPRNG.
    pub fn generate() -> Result<Self, MasterKeyError> {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRandom.fill_bytes(key.as_mut())?;
        Ok(Self(key))
    }

    /// Parses 64 hex digits (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, MasterKeyError> {
        Self::parse_from(text, "master key")
    }

    fn parse_from(text: &str, origin: &str) -> Result<Self, MasterKeyError> {
        let malformed = || MasterKeyError::Malformed {
            origin: origin.to_owned(),
        };
        let text = text.trim().as_bytes();
        if text.len() != 64 {
            return Err(malformed());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        for (byte, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
            let high = hex_digit(pair[0]).ok_or_else(malformed)?;
            let low = hex_digit(pair[1]).ok_or_else(malformed)?;
            *byte = (high << 4) | low;
        }
        Ok(Self(key))
    }

    /// The key from [`MASTER_KEY_VAR`], else from the file named by [`MASTER_KEY_FILE_VAR`];
    /// `Ok(None)` when neither is set.
    pub fn from_env() -> Result<Option<Self>, MasterKeyError> {
        if let Some(text) = std::env::var_os(MASTER_KEY_VAR) {
            let text = Zeroizing::new(text.into_string().map_err(|_| MasterKeyError::Malformed {
                origin: MASTER_KEY_VAR.to_owned(),
            })?);
            return Self::parse_from(&text, MASTER_KEY_VAR).map(Some);
        }
        match std::env::var_os(MASTER_KEY_FILE_VAR) {
            Some(path) => Self::from_file(Path::new(&path)).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the key from a file, refusing one that others may read or write.
    pub fn from_file(path: &Path) -> Result<Self, MasterKeyError> {
        let file = File::open(path).map_err(io_error(path))?;
        read(path, file)
    }

    /// Reads the key at `path`, or, if no file is there, creates one with a new random key, mode
    /// 0600 from the start, synced with its directory. Two processes racing to create it end up
    /// with the same key (the loser reads the winner's file).
    pub fn load_or_create(path: &Path) -> Result<Self, MasterKeyError> {
        match File::open(path) {
            Ok(file) => read(path, file),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                match write_new(path, &key) {
                    Ok(()) => Ok(key),
                    Err(MasterKeyError::Io { source, .. })
                        if source.kind() == io::ErrorKind::AlreadyExists =>
                    {
                        Self::from_file(path)
                    }
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(io_error(path)(error)),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> MasterKeyError + '_ {
    move |source| MasterKeyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read(path: &Path, file: File) -> Result<MasterKey, MasterKeyError> {
    let mode = file.metadata().map_err(io_error(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(MasterKeyError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = Zeroizing::new(Vec::with_capacity(
        usize::try_from(MAX_FILE_BYTES).unwrap_or(256) + 1,
    ));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(io_error(path))?;
    let malformed = || MasterKeyError::Malformed {
        origin: path.display().to_string(),
    };
    let text = std::str::from_utf8(&text).map_err(|_| malformed())?;
    MasterKey::parse_from(text, &path.display().to_string())
}

fn write_new(path: &Path, key: &MasterKey) -> Result<(), MasterKeyError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    let mut text = Zeroizing::new(String::with_capacity(65));
    for byte in key.bytes() {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(path))?;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error(parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_64_hex_digits_only() {
        let key = MasterKey::parse(&format!("  {}\n", "0aF9".repeat(16))).unwrap();
        assert_eq!(key.bytes()[..2], [0x0a, 0xf9]);
        for bad in [
            "",
            &"a".repeat(63),
            &"a".repeat(65),
            &format!("{}g", "a".repeat(63)),
        ] {
            let error = MasterKey::parse(bad).unwrap_err();
            assert!(matches!(error, MasterKeyError::Malformed { .. }), "{bad:?}");
        }
        // The error never echoes what was given.
        let secretish = format!("{}zz", "c".repeat(62));
        assert!(
            !MasterKey::parse(&secretish)
                .unwrap_err()
                .to_string()
                .contains("ccc")
        );
    }

    #[test]
    fn created_file_is_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.master-key");
        let created = MasterKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(created.bytes(), again.bytes());
        assert_eq!(MasterKey::from_file(&path).unwrap().bytes(), created.bytes());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            MasterKey::from_file(&path),
            Err(MasterKeyError::TooOpen { mode: 0o644, .. })
        ));
    }
}
