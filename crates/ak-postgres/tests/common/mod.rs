//! What every PostgreSQL test shares: the server (or a clear skip), and a fresh schema per test
//! that is dropped afterwards, also when the test panics.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ak_postgres::{PgConfig, PgStore};
use postgres::{Client, NoTls};

/// The server the tests use unless `AK_TEST_POSTGRES_URL` names another.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `AK_TEST_POSTGRES_URL`, or the default.
pub fn url() -> String {
    std::env::var("AK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Whether a missing server fails the tests (`AK_REQUIRE_POSTGRES=1`, as in CI).
pub fn required() -> bool {
    std::env::var("AK_REQUIRE_POSTGRES").is_ok_and(|value| value == "1")
}

/// Skips (returns `None` after saying so) or, when required, fails.
pub fn skip(why: &str) -> Option<std::convert::Infallible> {
    assert!(!required(), "AK_REQUIRE_POSTGRES=1 but {why}");
    println!("skipped: {why}");
    None
}

/// A plain client to the test server, or `None` (after printing why) when no server answers.
pub fn admin() -> Option<Client> {
    let url = url();
    let mut config: postgres::Config = url.parse().expect("AK_TEST_POSTGRES_URL parses");
    config.connect_timeout(Duration::from_secs(3));
    match config.connect(NoTls) {
        Ok(client) => Some(client),
        Err(err) => {
            let label = PgConfig::from_url(&url).map_or_else(|_| url.clone(), |c| c.label().to_owned());
            skip(&format!("no PostgreSQL at {label} ({err})"));
            None
        }
    }
}

/// A name no other test (of this process or another) uses.
pub fn unique(prefix: &str) -> String {
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

/// A schema name reserved for one test; the schema (if anything created it) is dropped with
/// everything in it when this is dropped.
pub struct TempSchema {
    pub name: String,
}

impl TempSchema {
    pub fn new() -> Self {
        Self { name: unique("akt") }
    }

    /// The store's configuration for this schema.
    pub fn config(&self) -> PgConfig {
        PgConfig::from_url(&url())
            .expect("the test URL")
            .schema(&self.name)
    }

    /// Opens the store on this schema.
    pub fn open(&self) -> PgStore {
        PgStore::open(&self.config()).expect("open the store")
    }
}

impl Drop for TempSchema {
    fn drop(&mut self) {
        let Ok(mut config) = url().parse::<postgres::Config>() else {
            return;
        };
        config.connect_timeout(Duration::from_secs(3));
        if let Ok(mut client) = config.connect(NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

/// A fresh schema on the test server, or `None` (after printing why) when there is no server.
pub fn schema() -> Option<TempSchema> {
    admin().map(|_| TempSchema::new())
}
