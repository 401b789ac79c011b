//! Server settings, their defaults and their bounds.

use std::time::Duration;

use ipnet::IpNet;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default largest request body, in bytes (64 KiB); larger bodies get 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default request timeout (30 s): a request not answered by then gets 408, and a client that
/// has not sent its headers by then is disconnected. A store call or key verification that has
/// begun runs to its end first (a revocation is never cut off half way), so a store slower than
/// the timeout answers late with the call's own result, not with 408.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on open connections (1024); further connections wait in the listen backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default largest request head (request line and headers), in bytes (16 KiB); larger heads are
/// refused by the HTTP layer with 431.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// Smallest accepted [`ServerConfig::max_header_bytes`] (hyper's minimum buffer).
pub const MIN_HEADER_BYTES: usize = 8192;
/// Default burst of failed authentications per client IP before 429 (20).
pub const DEFAULT_AUTH_FAILURE_BURST: u32 = 20;
/// Default refill rate of the failed-authentication bucket, per second (1).
pub const DEFAULT_AUTH_FAILURES_PER_SECOND: f64 = 1.0;
/// Most client addresses the rate limiter tracks at once; beyond it, the least useful (full)
/// buckets are dropped first.
pub const MAX_TRACKED_CLIENTS: usize = 100_000;
/// How long graceful shutdown waits for in-flight requests (30 s).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long a TLS handshake may take (10 s).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most keys one search answers with.
pub const MAX_SEARCH_RESULTS: usize = 10_000;
/// A console session ends this long after its last request (15 min).
pub const CONSOLE_SESSION_IDLE: Duration = Duration::from_secs(15 * 60);
/// A console session ends this long after sign-in, however busy (1 h).
pub const CONSOLE_SESSION_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// Most console sessions one server holds; a sign-in past it ends the oldest session (10 000).
pub const MAX_CONSOLE_SESSIONS: usize = 10_000;
/// Keys per page of the console's key table (25).
pub const CONSOLE_PAGE_SIZE: u32 = 25;

/// How the server behaves. Every field has a documented default ([`ServerConfig::default`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Largest request body in bytes ([`DEFAULT_MAX_BODY_BYTES`]).
    pub max_body_bytes: usize,
    /// Request timeout ([`DEFAULT_REQUEST_TIMEOUT`]).
    pub request_timeout: Duration,
    /// Cap on open connections ([`DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: usize,
    /// Largest request head in bytes ([`DEFAULT_MAX_HEADER_BYTES`], at least [`MIN_HEADER_BYTES`]).
    pub max_header_bytes: usize,
    /// Failed authentications a client IP may make at once ([`DEFAULT_AUTH_FAILURE_BURST`]).
    pub auth_failure_burst: u32,
    /// Failed authentications a client IP regains per second ([`DEFAULT_AUTH_FAILURES_PER_SECOND`]).
    pub auth_failures_per_second: f64,
    /// Most secret verifications (argon2id) running at once (default: the number of CPUs).
    pub max_concurrent_hashes: usize,
    /// Peers whose `X-Forwarded-For` is believed (default: none).
    pub trusted_proxies: Vec<IpNet>,
    /// How long graceful shutdown waits for in-flight requests ([`DEFAULT_SHUTDOWN_GRACE`]).
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            auth_failure_burst: DEFAULT_AUTH_FAILURE_BURST,
            auth_failures_per_second: DEFAULT_AUTH_FAILURES_PER_SECOND,
            max_concurrent_hashes: std::thread::available_parallelism().map_or(2, |n| n.get()),
            trusted_proxies: Vec::new(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// A [`ServerConfig`] value out of range.
#[derive(Debug, thiserror::Error)]
#[error("invalid server setting: {0}")]
pub struct ConfigError(pub(crate) String);

impl ServerConfig {
    /// Checks every setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |what: &str| Err(ConfigError(what.to_owned()));
        if self.max_body_bytes == 0 {
            return fail("max body bytes must be at least 1");
        }
        if self.request_timeout.is_zero() {
            return fail("request timeout must be positive");
        }
        if self.max_connections == 0 {
            return fail("max connections must be at least 1");
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(ConfigError(format!(
                "max header bytes must be at least {MIN_HEADER_BYTES}"
            )));
        }
        if self.auth_failure_burst == 0 {
            return fail("auth failure burst must be at least 1");
        }
        if !(self.auth_failures_per_second.is_finite() && self.auth_failures_per_second > 0.0) {
            return fail("auth failures per second must be a positive number");
        }
        if self.max_concurrent_hashes == 0 {
            return fail("max concurrent hashes must be at least 1");
        }
        Ok(())
    }
}
