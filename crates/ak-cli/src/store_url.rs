//! `--store` URLs and opening the store they name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ak::crates::core::audit::AuditEventStore;
use ak::crates::core::usage::KeyUsageStore;
use ak::webhook::WebhookStore;
use ak::{
    KeyStore, ManagementKeyStore, PgConfig, PgStore, SigningKeyStore, SledKeyStore, SqliteKeyStore,
    StoreError,
};

/// Every view of one opened store: access keys, management keys and the signing-key set.
pub(crate) struct AllViews {
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) management: Arc<dyn ManagementKeyStore>,
    pub(crate) signing: Arc<dyn SigningKeyStore>,
    pub(crate) webhooks: Arc<dyn WebhookStore>,
    pub(crate) audit: Arc<dyn AuditEventStore>,
    pub(crate) usage: Arc<dyn KeyUsageStore>,
}

/// What `--store` accepts, for error messages.
const FORMS: &str = "use sqlite:<path>, sled:<directory> or postgres://user@host/database";

/// A store location.
///
/// `Debug` never shows a PostgreSQL password ([`PgConfig`]'s `Debug` redacts it).
#[derive(Debug, Clone)]
pub(crate) enum StoreUrl {
    /// `sqlite:<path>`.
    Sqlite(PathBuf),
    /// `sled:<directory>`.
    Sled(PathBuf),
    /// `postgres://…` or `postgresql://…`: a remote store shared by many nodes.
    Postgres(Box<PgConfig>),
}

/// Whether `text` starts with a PostgreSQL URL scheme (ASCII case ignored).
fn is_postgres_url(text: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        text.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
}

impl StoreUrl {
    /// Parses a `--store` value. An error never repeats a PostgreSQL URL (it may hold a
    /// password).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if is_postgres_url(text) {
            let (url, schema) = take_schema(text);
            let config =
                PgConfig::from_url(&url).map_err(|error| format!("invalid PostgreSQL store URL: {error}"))?;
            return Ok(Self::Postgres(Box::new(match schema {
                Some(schema) => config.schema(schema),
                None => config,
            })));
        }
        let Some((scheme, path)) = text.split_once(':') else {
            return Err(format!("invalid store {:?}: {FORMS}", redact_password(text)));
        };
        if path.is_empty() {
            return Err(format!("invalid store {text:?}: the path is empty"));
        }
        match scheme {
            "sqlite" => Ok(Self::Sqlite(path.into())),
            "sled" => Ok(Self::Sled(path.into())),
            other => Err(format!("unknown store scheme {other:?}: {FORMS}")),
        }
    }

    /// The store's file or directory, for a local store; `None` for a remote one.
    pub(crate) fn local_path(&self) -> Option<&Path> {
        match self {
            Self::Sqlite(path) | Self::Sled(path) => Some(path),
            Self::Postgres(_) => None,
        }
    }

    /// Opens the store once and returns all its views (sled allows one open handle per
    /// directory, so they must share it).
    pub(crate) fn open_all(&self) -> Result<AllViews, StoreError> {
        fn all<S>(store: S) -> AllViews
        where
            S: KeyStore
                + ManagementKeyStore
                + SigningKeyStore
                + WebhookStore
                + AuditEventStore
                + KeyUsageStore
                + 'static,
        {
            let store = Arc::new(store);
            AllViews {
                keys: Arc::clone(&store) as Arc<dyn KeyStore>,
                management: Arc::clone(&store) as Arc<dyn ManagementKeyStore>,
                signing: Arc::clone(&store) as Arc<dyn SigningKeyStore>,
                webhooks: Arc::clone(&store) as Arc<dyn WebhookStore>,
                audit: Arc::clone(&store) as Arc<dyn AuditEventStore>,
                usage: store,
            }
        }
        Ok(match self {
            Self::Sqlite(path) => all(SqliteKeyStore::open(path)?),
            Self::Sled(path) => all(SledKeyStore::open(path)?),
            Self::Postgres(config) => all(PgStore::open(config)?),
        })
    }

    /// The default master key file: beside a local store, named after it (created on first
    /// use). A remote store has none: its nodes must all be given the same key.
    pub(crate) fn default_master_key_path(&self) -> Option<PathBuf> {
        self.beside(".master-key")
    }

    /// The default signing key file: beside a local store, named after it; none for a remote
    /// store.
    pub(crate) fn default_keys_path(&self) -> Option<PathBuf> {
        self.beside(".signing-keys.json")
    }

    fn beside(&self, suffix: &str) -> Option<PathBuf> {
        let path = self.local_path()?;
        let mut name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "ak".into());
        name.push(suffix);
        Some(path.with_file_name(name))
    }
}

/// Removes a `schema=<name>` parameter (ak's, not the PostgreSQL client's) from the query of
/// `url`: the URL without it, and the name.
fn take_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some(("schema", name)) => {
                schema = Some(name.to_owned());
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), schema)
    } else {
        (format!("{base}?{}", kept.join("&")), schema)
    }
}

/// `text` with the password of a URL in it (`scheme://user:password@host/...`, or a
/// `password=` query parameter) replaced by `[redacted]`; `text` unchanged if it has none.
pub(crate) fn redact_password(text: &str) -> String {
    let mut out = text.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |end| authority_start + end);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = authority_start + colon + 1;
                let end = authority_start + at;
                out.replace_range(start..end, "[redacted]");
            }
        }
    }
    if let Some(query_start) = out.find('?') {
        let (base, query) = out.split_at(query_start + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=[redacted]"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme() {
        assert!(matches!(StoreUrl::parse("sqlite:ak.db"), Ok(StoreUrl::Sqlite(_))));
        assert!(matches!(StoreUrl::parse("sled:dir"), Ok(StoreUrl::Sled(_))));
        for url in [
            "postgres://ak@db.internal/keys",
            "postgresql://ak:pw@db.internal:6543/keys?sslmode=require",
            "POSTGRES://ak@127.0.0.1/test",
        ] {
            let store = StoreUrl::parse(url).unwrap();
            assert!(matches!(store, StoreUrl::Postgres(_)), "{url}");
            assert!(store.local_path().is_none());
            assert!(
                store.default_master_key_path().is_none(),
                "no key file beside a remote store"
            );
            assert!(store.default_keys_path().is_none());
        }
        for bad in ["postgres:db", "mysql://u@h/d", "sqlite:", "nothing"] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_schema_parameter_picks_the_schema() {
        let schema = |url: &str| match StoreUrl::parse(url) {
            Ok(StoreUrl::Postgres(config)) => config.schema_name().to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(schema("postgres://ak@db/keys"), "ak");
        assert_eq!(schema("postgres://ak@db/keys?schema=tenant_a"), "tenant_a");
        assert_eq!(
            schema("postgres://ak@db/keys?sslmode=disable&schema=b&connect_timeout=3"),
            "b"
        );
    }

    #[test]
    fn a_password_never_shows() {
        let url = "postgres://ak:hunter2secret@db.internal:5432/keys";
        let store = StoreUrl::parse(url).unwrap();
        let debug = format!("{store:?}");
        assert!(!debug.contains("hunter2secret"), "{debug}");
        assert!(debug.contains("db.internal:5432/keys"), "{debug}");
        // A URL the client refuses is not repeated.
        let error = StoreUrl::parse("postgres://ak:hunter2secret@db/keys?sslmode=sometimes").unwrap_err();
        assert!(!error.contains("hunter2secret"), "{error}");
        let error = StoreUrl::parse("mysql://ak:hunter2secret@db/keys").unwrap_err();
        assert!(!error.contains("hunter2secret"), "{error}");
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_password("postgres://ak:s3cr:et@db/keys?x=1"),
            "postgres://ak:[redacted]@db/keys?x=1"
        );
        assert_eq!(
            redact_password("postgresql://ak@db/keys?password=s3cret&sslmode=require"),
            "postgresql://ak@db/keys?password=[redacted]&sslmode=require"
        );
        assert_eq!(redact_password("postgres://ak@db/keys"), "postgres://ak@db/keys");
        assert_eq!(redact_password("sqlite:ak.db"), "sqlite:ak.db");
        // An '@' in the path is not userinfo.
        assert_eq!(redact_password("postgres://h/d@x:y"), "postgres://h/d@x:y");
    }
}
