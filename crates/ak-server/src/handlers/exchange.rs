//! `POST /v1/auth/accesskey/exchange`.

use std::sync::Arc;

use ak::ExchangeOptions;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::{Logged, reply};
use crate::auth::{ClientIp, bearer_secret, verified};
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorResponses};
use crate::state::AppState;
use crate::wire::{ExchangeRequest, ExchangeResponseBody};

/// Exchange an access key (`Authorization: Bearer <projectId>:<accessKey>`) for a session token.
#[utoipa::path(post, path = "/v1/auth/accesskey/exchange", tag = "auth",
    request_body(content = Option<ExchangeRequest>, content_type = "application/json", description = "May be empty"),
    security(("bearer" = [])),
    responses((status = 200, description = "A session token", body = ExchangeResponseBody), ErrorResponses))]
pub(crate) async fn exchange(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ExchangeRequest>,
) -> Response {
    let secret = bearer_secret(&headers, &state.project_id);
    if let Err(seconds) = state.limiter.check(client.bucket()) {
        state
            .keys
            .inner()
            .record_rate_limited_exchange(secret.as_ref().map(|secret| secret.as_str()), client.0);
        return reply(
            Logged::default(),
            Err::<ExchangeResponseBody, _>(ApiError::rate_limited(seconds)),
        );
    }
    let login = body.login_options.unwrap_or_default();
    let options = ExchangeOptions {
        custom_claims: login.custom_claims.unwrap_or_default(),
        selected_tenant: login.selected_tenant.filter(|tenant| !tenant.is_empty()),
        client_ip: client.0,
    };
    let keys = Arc::clone(state.keys.inner());
    let result = verified(&state, client, secret, move |secret| {
        keys.exchange(secret, &options).map(ExchangeResponseBody::from)
    })
    .await;
    let logged = Logged {
        key_id: result.as_ref().ok().map(|body| body.key_id.clone()),
        caller: None,
    };
    reply(logged, result)
}
