//! The axum [`Router`]: routes, fallbacks, the request timeout and the access log.

use std::sync::Arc;
use std::time::Instant;

use ak::{AccessKeys, AsyncAccessKeys, ManagementKeys};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Semaphore;

use crate::config::{ConfigError, ServerConfig};
use crate::console::session::Sessions;
use crate::error::ApiError;
use crate::handlers::{Logged, audit, exchange, management, metrics, public, webhook};
use crate::rate_limit::RateLimiter;
use crate::state::{AppState, Shared};

/// Longest path written to the access log, in bytes.
const MAX_LOGGED_PATH: usize = 256;

/// The router of every endpoint over `keys` (whose issuer is the project id) and `management`.
///
/// Serve it with [`serve`](crate::serve), which also supplies the client address; without
/// connection info (e.g. plain `axum::serve`), permitted-IP checks fail closed and all clients
/// share one rate-limit bucket.
pub fn router(
    keys: AccessKeys,
    management: ManagementKeys,
    config: ServerConfig,
) -> Result<Router, ConfigError> {
    config.validate()?;
    let state = AppState(Arc::new(Shared {
        project_id: keys.issuer().to_owned(),
        keys: AsyncAccessKeys::new(keys),
        management: Arc::new(management),
        limiter: RateLimiter::new(config.auth_failure_burst, config.auth_failures_per_second),
        hashing: Arc::new(Semaphore::new(config.max_concurrent_hashes)),
        config,
        console: Sessions::default(),
    }));
    Ok(Router::new()
        .route("/v1/mgmt/accesskey/create", post(management::create))
        .route("/v1/mgmt/accesskey", get(management::load))
        .route("/v1/mgmt/accesskey/search", post(management::search))
        .route("/v1/mgmt/accesskey/update", post(management::update))
        .route("/v1/mgmt/accesskey/activate", post(management::activate))
        .route(
            "/v1/mgmt/accesskey/activate/batch",
            post(management::activate_batch),
        )
        .route("/v1/mgmt/accesskey/deactivate", post(management::deactivate))
        .route(
            "/v1/mgmt/accesskey/deactivate/batch",
            post(management::deactivate_batch),
        )
        .route("/v1/mgmt/accesskey/delete", post(management::delete))
        .route("/v1/mgmt/accesskey/delete/batch", post(management::delete_batch))
        .route("/v1/mgmt/accesskey/rotate", post(management::rotate))
        .route("/v1/mgmt/license", get(management::license))
        .route("/v1/mgmt/audit/search", post(audit::search))
        .route("/v1/mgmt/audit/event", post(audit::event))
        .route("/v1/mgmt/webhook/create", post(webhook::create))
        .route("/v1/mgmt/webhook/list", get(webhook::list))
        .route("/v1/mgmt/webhook/delete", post(webhook::delete))
        .route("/v1/auth/accesskey/exchange", post(exchange::exchange))
        .route("/v2/keys/{project_id}", get(public::jwks))
        .route("/healthz", get(public::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(public::openapi))
        .merge(crate::console::routes())
        .fallback(public::not_found)
        .method_not_allowed_fallback(public::method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state))
}

/// The request with its whole body read (at most `limit` bytes), so that every answer, even an
/// early 401, leaves the connection reusable; 413 past the limit.
async fn buffered(request: Request, limit: usize) -> Result<Request, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = crate::body::read_limited(&parts.headers, body, limit).await?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The request timeout, then one access-log line per request: method, path (no query), status,
/// latency, and the key ids involved. Never a header, a body, a secret or a token.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let mut path = request.uri().path().to_owned();
    if path.len() > MAX_LOGGED_PATH {
        let mut end = MAX_LOGGED_PATH;
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        path.truncate(end);
        path.push('…');
    }
    let limit = state.config.max_body_bytes;
    let handled = async move {
        match buffered(request, limit).await {
            Ok(request) => next.run(request).await,
            Err(error) => error.into_response(),
        }
    };
    let response = match tokio::time::timeout(state.config.request_timeout, handled).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout().into_response(),
    };
    let logged = response.extensions().get::<Logged>().cloned().unwrap_or_default();
    tracing::info!(
        target: "ak_server::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        key_id = logged.key_id.as_deref().unwrap_or("-"),
        caller = logged.caller.as_deref().unwrap_or("-"),
        "request"
    );
    response
}
