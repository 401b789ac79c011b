//! [`PgConfig`]: where the server is, which schema, how many connections.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ak_core::{BackendErrorKind, StoreError};
use postgres::config::{Host, SslMode};

use crate::error::backend;

/// The schema every table lives in unless [`PgConfig::schema`] says otherwise.
pub const DEFAULT_SCHEMA: &str = "ak";

/// The default [`PgConfig::pool_size`].
pub const DEFAULT_POOL_SIZE: usize = 8;

/// The default [`PgConfig::checkout_timeout`].
pub const DEFAULT_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// The connect timeout used when the URL sets none (`connect_timeout=` seconds).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How [`PgStore::open`](crate::PgStore::open) reaches the server.
///
/// Made from a `postgres://` or `postgresql://` URL with the parameters of libpq's URLs
/// (`sslmode`, `connect_timeout`, `application_name`, `options`, ...) plus `sslrootcert=<PEM
/// file>`. `Debug` never shows the password.
///
/// ```
/// use ak_postgres::PgConfig;
/// let config = PgConfig::from_url("postgres://app:secret@db.internal:5432/keys?sslmode=require")?
///     .schema("tenant_a")
///     .pool_size(16);
/// assert_eq!(config.label(), "db.internal:5432/keys");
/// assert!(!format!("{config:?}").contains("secret"));
/// # Ok::<(), ak_core::StoreError>(())
/// ```
///
/// # TLS
///
/// `sslmode=require` connects through rustls and **verifies** the server's certificate and host
/// name, against the certificates of `sslrootcert` when given, else the Mozilla roots: stricter
/// than libpq's `require`, which encrypts without checking who answers. `sslmode=disable` and
/// `prefer` (libpq's default) connect without TLS; use `require` whenever the network between the
/// nodes and the server is not private.
#[derive(Clone)]
pub struct PgConfig {
    pub(crate) pg: postgres::Config,
    pub(crate) root_cert: Option<PathBuf>,
    pub(crate) schema: String,
    pub(crate) pool_size: usize,
    pub(crate) checkout_timeout: Duration,
    label: String,
}

impl PgConfig {
    /// Parses a `postgres://user[:password]@host[:port]/database[?param=value&...]` URL
    /// (`postgresql://` too).
    ///
    /// Anything else, or a URL the PostgreSQL client cannot parse, is
    /// [`StoreError::Backend`] with kind [`BackendErrorKind::Incompatible`]; the error never
    /// repeats the URL (it may hold a password).
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let rest = ["postgres://", "postgresql://"].iter().find_map(|scheme| {
            url.get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &url[scheme.len()..])
        });
        let Some(rest) = rest else {
            return Err(invalid(
                "not a PostgreSQL URL (expected postgres://user@host/database)",
                None,
            ));
        };
        let (url, root_cert) = take_param(&format!("postgresql://{rest}"), "sslrootcert");
        let mut pg = postgres::Config::from_str(&url)
            .map_err(|err| invalid("the PostgreSQL URL does not parse", Some(Box::new(err))))?;
        if pg.get_hosts().is_empty() {
            return Err(invalid("the PostgreSQL URL names no host", None));
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        // Every session commits synchronously: a write is acknowledged only once it is flushed to
        // the server's WAL, whatever the server's, role's or database's default says.
        let options = match pg.get_options() {
            Some(given) if !given.trim().is_empty() => format!("{given} -c synchronous_commit=on"),
            _ => "-c synchronous_commit=on".to_owned(),
        };
        pg.options(&options);
        let label = label_of(&pg);
        Ok(Self {
            pg,
            root_cert: root_cert.map(PathBuf::from),
            schema: DEFAULT_SCHEMA.to_owned(),
            pool_size: DEFAULT_POOL_SIZE,
            checkout_timeout: DEFAULT_CHECKOUT_TIMEOUT,
            label,
        })
    }

    /// Keeps every table in this schema (default [`DEFAULT_SCHEMA`]). The name must match
    /// `^[a-z_][a-z0-9_]{0,62}$`; [`PgStore::open`](crate::PgStore::open) refuses any other.
    #[must_use]
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.schema = name.into();
        self
    }

    /// The most connections the store keeps open (at least 1; default [`DEFAULT_POOL_SIZE`]).
    #[must_use]
    pub fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// How long a call waits for a free connection when all are in use before failing with
    /// [`BackendErrorKind::PoolExhausted`] (default [`DEFAULT_CHECKOUT_TIMEOUT`]).
    #[must_use]
    pub fn checkout_timeout(mut self, timeout: Duration) -> Self {
        self.checkout_timeout = timeout;
        self
    }

    /// How long opening one connection may take (default: the URL's `connect_timeout`, else
    /// [`DEFAULT_CONNECT_TIMEOUT`]).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.pg.connect_timeout(timeout);
        self
    }

    /// The schema name as configured.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// `host:port/database`, as every error of the store names the server (never the user's
    /// password).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether connections use TLS (`sslmode=require`).
    pub fn tls(&self) -> bool {
        self.pg.get_ssl_mode() == SslMode::Require
    }
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("server", &self.label)
            .field("user", &self.pg.get_user())
            .field("password", &self.pg.get_password().map(|_| "[redacted]"))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("tls", &self.tls())
            .finish()
    }
}

fn invalid(why: &str, source: Option<ak_core::BoxError>) -> StoreError {
    backend(BackendErrorKind::Incompatible, why, source)
}

/// `host:port[,host:port...]/database`.
fn label_of(pg: &postgres::Config) -> String {
    let ports = pg.get_ports();
    let hosts: Vec<String> = pg
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(n, host)| {
            let port = ports.get(n).or_else(|| ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    format!(
        "{}/{}",
        hosts.join(","),
        pg.get_dbname().or(pg.get_user()).unwrap_or("postgres")
    )
}

/// Removes `name=value` from the query of `url`, returning the URL without it and the
/// (percent-decoded) value.
fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((key, found)) if key == name => {
                value = Some(percent_decode(found));
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), value)
    } else {
        (format!("{base}?{}", kept.join("&")), value)
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut n = 0;
    while n < bytes.len() {
        let hex = bytes
            .get(n + 1..n + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[n], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                n += 3;
            }
            (byte, _) => {
                out.push(byte);
                n += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_names_the_server_without_the_password() {
        let config = PgConfig::from_url("postgresql://u:hunter2@db.example:6543/keys").unwrap();
        assert_eq!(config.label(), "db.example:6543/keys");
        assert_eq!(config.schema_name(), "ak");
        assert!(!config.tls());
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
        let config =
            PgConfig::from_url("POSTGRES://u@h/d?sslmode=require&sslrootcert=%2Ftmp%2Fca.pem").unwrap();
        assert!(config.tls());
        assert_eq!(config.root_cert, Some(PathBuf::from("/tmp/ca.pem")));
        assert_eq!(config.label(), "h:5432/d");
    }

    #[test]
    fn refuses_what_is_not_a_postgres_url() {
        for url in [
            "mysql://root:pw@localhost/db",
            "sqlite:///tmp/keys.db",
            "/var/lib/ak/keys.db",
            "",
            "postgres://u:pw@h/d?sslmode=sometimes",
            "postgres:///d",
        ] {
            let err = PgConfig::from_url(url).unwrap_err();
            assert_eq!(err.backend_kind(), Some(BackendErrorKind::Incompatible), "{url}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }

    #[test]
    fn every_session_commits_synchronously() {
        let config = PgConfig::from_url("postgres://u@h/d?options=-c%20statement_timeout%3D5s").unwrap();
        assert_eq!(
            config.pg.get_options(),
            Some("-c statement_timeout=5s -c synchronous_commit=on")
        );
    }
}
