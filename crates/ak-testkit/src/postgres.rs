//! The test PostgreSQL server, for tests outside `ak-postgres` (the facade's many-node tests,
//! `ak serve` on PostgreSQL, the benchmark report): a clear skip when no server answers, and a
//! fresh schema per test, dropped afterwards (also when the test panics).
//!
//! The server is `AK_TEST_POSTGRES_URL` (default [`DEFAULT_URL`]). When none answers,
//! [`TempSchema::new`] prints `skipped: no PostgreSQL at <host:port/database> (<why>)` and
//! returns `None`; with `AK_REQUIRE_POSTGRES=1` (as in CI) it panics instead.
//!
//! ```no_run
//! let Some(schema) = ak_testkit::postgres::TempSchema::new() else {
//!     return; // skipped
//! };
//! // e.g. ak_postgres::PgConfig::from_url(schema.url())?.schema(schema.name())
//! # let _ = schema.store_url();
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postgres::config::Host;
use postgres::{Client, NoTls};

/// The server used unless `AK_TEST_POSTGRES_URL` names another: the machine's PostgreSQL, user
/// `postgres` with trust authentication, database `test`.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The variable naming the test server.
pub const URL_VAR: &str = "AK_TEST_POSTGRES_URL";

/// The variable that, set to `1`, turns a missing server into a failure.
pub const REQUIRE_VAR: &str = "AK_REQUIRE_POSTGRES";

/// `AK_TEST_POSTGRES_URL`, or [`DEFAULT_URL`].
pub fn url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Whether a missing server fails instead of skipping (`AK_REQUIRE_POSTGRES=1`).
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|value| value == "1")
}

/// `host:port/database` of a URL: how a skip names the server (never with its password).
pub fn label(url: &str) -> String {
    let Ok(config) = url.parse::<postgres::Config>() else {
        return "an unparsable AK_TEST_POSTGRES_URL".to_owned();
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    format!(
        "{host}:{port}/{}",
        config.get_dbname().or(config.get_user()).unwrap_or("postgres")
    )
}

/// A plain client to the test server.
///
/// # Errors
/// The client's error when the URL does not parse or no server answers within 3 s.
pub fn connect() -> Result<Client, postgres::Error> {
    let mut config: postgres::Config = url().parse()?;
    config.connect_timeout(Duration::from_secs(3));
    config.connect(NoTls)
}

/// Whether the test server answers; prints the skip line (or panics, when required) if not.
pub fn available() -> bool {
    match connect() {
        Ok(_) => true,
        Err(error) => {
            let why = format!("no PostgreSQL at {} ({error})", label(&url()));
            assert!(!required(), "{REQUIRE_VAR}=1 but {why}");
            println!("skipped: {why}");
            false
        }
    }
}

/// A schema name no other test of any process uses: `prefix_<pid>_<counter>_<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A schema reserved for one test on the test server; dropped, with everything in it, when this
/// is dropped.
#[derive(Debug)]
pub struct TempSchema {
    name: String,
    url: String,
}

impl TempSchema {
    /// A fresh schema name on the test server, or `None` after printing the skip line when no
    /// server answers (a panic when [`required`]). Nothing is created yet: the store creates
    /// the schema when it first opens it.
    pub fn new() -> Option<Self> {
        available().then(|| Self {
            name: unique_name("aknodes"),
            url: url(),
        })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL (without the schema).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's URL with `schema=<name>` added to its query, as `ak --store` takes it.
    pub fn store_url(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}schema={}", self.url, self.name)
    }
}

impl Drop for TempSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = connect() {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}
