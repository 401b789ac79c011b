//! `--store` URLs and opening the store they name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ak::crates::core::audit::AuditEventStore;
use ak::crates::core::usage::KeyUsageStore;
use ak::{KeyStore, ManagementKeyStore, SigningKeyStore, SledKeyStore, SqliteKeyStore, StoreError};

/// Both views of one opened store: access keys and management keys.
pub(crate) type Views = (Arc<dyn KeyStore>, Arc<dyn ManagementKeyStore>);

/// Every view of one opened store: access keys, management keys and the signing-key set.
pub(crate) struct AllViews {
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) management: Arc<dyn ManagementKeyStore>,
    pub(crate) signing: Arc<dyn SigningKeyStore>,
    pub(crate) audit: Arc<dyn AuditEventStore>,
    pub(crate) usage: Arc<dyn KeyUsageStore>,
}

/// A store location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreUrl {
    /// `sqlite:<path>`.
    Sqlite(PathBuf),
    /// `sled:<directory>`.
    Sled(PathBuf),
}

impl StoreUrl {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (scheme, path) = text
            .split_once(':')
            .ok_or_else(|| format!("invalid store {text:?}: use sqlite:<path> or sled:<directory>"))?;
        if path.is_empty() {
            return Err(format!("invalid store {text:?}: the path is empty"));
        }
        match scheme {
            "sqlite" => Ok(Self::Sqlite(path.into())),
            "sled" => Ok(Self::Sled(path.into())),
            other => Err(format!(
                "unknown store scheme {other:?}: use sqlite:<path> or sled:<directory>"
            )),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::Sqlite(path) | Self::Sled(path) => path,
        }
    }

    /// Opens the store once and returns its access-key and management-key views (sled allows
    /// one open handle per directory, so both must share it).
    pub(crate) fn open_both(&self) -> Result<Views, StoreError> {
        let views = self.open_all()?;
        Ok((views.keys, views.management))
    }

    /// Opens the store once and returns all its views (sled allows one open handle per
    /// directory, so they must share it).
    pub(crate) fn open_all(&self) -> Result<AllViews, StoreError> {
        fn all<S>(store: S) -> AllViews
        where
            S: KeyStore + ManagementKeyStore + SigningKeyStore + AuditEventStore + KeyUsageStore + 'static,
        {
            let store = Arc::new(store);
            AllViews {
                keys: Arc::clone(&store) as Arc<dyn KeyStore>,
                management: Arc::clone(&store) as Arc<dyn ManagementKeyStore>,
                signing: Arc::clone(&store) as Arc<dyn SigningKeyStore>,
                audit: Arc::clone(&store) as Arc<dyn AuditEventStore>,
                usage: store,
            }
        }
        Ok(match self {
            Self::Sqlite(path) => all(SqliteKeyStore::open(path)?),
            Self::Sled(path) => all(SledKeyStore::open(path)?),
        })
    }

    /// The default master key file: beside the store, named after it (created on first use).
    pub(crate) fn default_master_key_path(&self) -> PathBuf {
        self.beside(".master-key")
    }

    /// The default signing key file: beside the store, named after it.
    pub(crate) fn default_keys_path(&self) -> PathBuf {
        self.beside(".signing-keys.json")
    }

    fn beside(&self, suffix: &str) -> PathBuf {
        let mut name = self
            .path()
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "ak".into());
        name.push(suffix);
        self.path().with_file_name(name)
    }
}
