//! Descope's access-key REST API over [`ak`], so the official Descope SDKs (Python, Node, Go, ...)
//! work against a self-hosted server unchanged.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ak::{AccessKeys, KeySet, ManagementKeys, MemoryKeyStore, SigningKey};
//! use ak_server::{ServerConfig, router, serve};
//!
//! let store = Arc::new(MemoryKeyStore::new());
//! let keys = AccessKeys::builder()
//!     .shared_store(store.clone())
//!     .signing_keys(KeySet::new(SigningKey::generate()))
//!     .issuer("my-project") // the project id clients put in `Bearer my-project:<key>`
//!     .build()?;
//! let management = ManagementKeys::new(store)?;
//! let admin = management.create("admin", false, "")?; // its cleartext authenticates management calls
//!
//! let config = ServerConfig::default();
//! let app = router(keys, management, config.clone())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // `serve` runs until the shutdown future completes (e.g. `ak_server::shutdown_signal()`).
//! serve(listener, app, &config, None, async {}).await?;
//! # let _ = admin;
//! # Ok(()) }
//! ```
//!
//! # Endpoints
//!
//! The paths, bodies and answers of Descope's API (see `GET /openapi.json` for the full schema):
//! `POST /v1/mgmt/accesskey/{create,search,update,activate,deactivate,delete,rotate}`,
//! `GET /v1/mgmt/accesskey?id=`, `POST /v1/mgmt/accesskey/{activate,deactivate,delete}/batch`,
//! `GET /v1/mgmt/license`, `POST /v1/mgmt/audit/search`, `POST /v1/mgmt/audit/event`,
//! `POST /v1/auth/accesskey/exchange`, `GET /v2/keys/<projectId>`, `GET /healthz`,
//! `GET /openapi.json`; and ak's own `POST /v1/mgmt/webhook/{create,delete}`,
//! `GET /v1/mgmt/webhook/list` and `GET /metrics` (the Prometheus text format, for any management
//! key: `ak_audit_events_dropped_total` and `ak_key_uses_dropped_total`).
//!
//! Audit search answers Descope's `{"audits": [...]}`, newest first, at most 10 000: `userId` is
//! who acted (the management key's id for a management call made over HTTP, the key itself for an
//! exchange), `externalIds` the keys the event concerns, `data` the event's details plus its
//! `outcome` (and `reason` for a failure); `device`, `method` and `geo` are always `""`. The
//! `userIds` filter matches the keys concerned, as `externalIds`/`loginIds` do. Events recorded
//! before the search are written first, so they are visible.
//!
//! ak's own: `POST /v1/mgmt/webhook/create` (`{"url", "actions"}`; answers the webhook and its
//! signing secret, shown once), `GET /v1/mgmt/webhook/list`, `POST /v1/mgmt/webhook/delete`
//! (`{"id"}`), when the [`AccessKeys`](ak::AccessKeys) was built with
//! [`webhooks`](ak::AccessKeysBuilder::webhooks) (404 otherwise). All three need a management key
//! that may write, `list` included, since a webhook URL may embed a credential. See
//! [`ak::webhook`].
//!
//! Management calls take `Authorization: Bearer <projectId>:<managementKey>` (a read-only key may
//! only load, search, search the audit trail and read the license; 403 otherwise); the exchange takes
//! `Bearer <projectId>:<accessKey>`. The project id must be the configured issuer.
//!
//! # Console
//!
//! `GET /console` is the admin console: HTML pages to sign in with a management key and manage
//! access keys, management keys and signing keys. Its sessions last at most
//! [`CONSOLE_SESSION_IDLE`] after the last request and [`CONSOLE_SESSION_LIFETIME`] after sign-in,
//! at most [`MAX_CONSOLE_SESSIONS`] at once, in this process's memory; its table shows
//! [`CONSOLE_PAGE_SIZE`] keys a page. Its answers are HTML, not the JSON errors below.
//!
//! # Errors
//!
//! Every error is `{"errorCode", "errorDescription", "errorMessage"}`:
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `E011001` | body not JSON, wrong types, bad query |
//! | 400 | `E011002` | a required field (`name`, `id`, `ids`) missing or empty |
//! | 400 | `E011003` | validation failed (limits, past expiry, not rotatable, ...) |
//! | 401 | `E011401` | missing, malformed or wrong credentials (one answer), inactive or expired key |
//! | 403 | `E011403` | read-only management key on a write; client IP not permitted for the key |
//! | 404 | `E011404` | unknown access key or path |
//! | 405 | `E011405` | wrong method |
//! | 408 | `E011408` | request timeout |
//! | 409 | `E011409` | a concurrent update won; retry |
//! | 413 | `E011413` | body over [`ServerConfig::max_body_bytes`] |
//! | 415 | `E011415` | non-empty body that is not `application/json` |
//! | 429 | `E130429` | too many failed authentications from the client IP; `Retry-After` |
//! | 500 | `E011500` | the store failed (never for bad input) |
//!
//! No 503 or 52x: the SDKs retry those for about ten seconds.
//!
//! # Abuse limits
//!
//! Every limit is a [`ServerConfig`] field with a documented default: body size (64 KiB),
//! request timeout (30 s), open connections (1024), request head size (16 KiB), failed
//! authentications per client IP (a token bucket of 20, refilled at 1 per second; checked before
//! any secret is verified), and concurrent secret verifications (one per CPU), so a flood of
//! wrong keys queues behind the same bound as valid exchanges instead of taking the blocking
//! pool. The client IP is the socket peer, or `X-Forwarded-For` when the peer is in
//! [`ServerConfig::trusted_proxies`].
//!
//! # Logging
//!
//! One `tracing` event per request (target `ak_server::access`): method, path without the query,
//! status, latency, the access key id and the calling management key id where known. Never a
//! header, a body, a secret or a token.

#![forbid(unsafe_code)]

mod auth;
mod body;
mod client_ip;
mod config;
mod console;
mod error;
mod handlers;
mod openapi;
mod rate_limit;
mod router;
mod serve;
mod state;
mod tls;
pub mod wire;

pub use config::{
    CONSOLE_PAGE_SIZE, CONSOLE_SESSION_IDLE, CONSOLE_SESSION_LIFETIME, ConfigError,
    DEFAULT_AUTH_FAILURE_BURST, DEFAULT_AUTH_FAILURES_PER_SECOND, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SHUTDOWN_GRACE,
    MAX_CONSOLE_SESSIONS, MAX_SEARCH_RESULTS, MAX_TRACKED_CLIENTS, MIN_HEADER_BYTES, ServerConfig,
    TLS_HANDSHAKE_TIMEOUT,
};
pub use error::{ApiError, ErrorBody};
pub use openapi::ApiDoc;
pub use router::router;
pub use serve::{serve, shutdown_signal};
pub use tls::{TlsConfig, TlsError};
