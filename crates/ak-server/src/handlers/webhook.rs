//! `/v1/mgmt/webhook/{create,list,delete}`: ak's own endpoints (Descope has none), in the same
//! shapes and with the same errors as the access-key endpoints. Every one of them needs a
//! management key with write access, `list` included: a webhook URL may embed a credential.

use ak::webhook::{Webhook, WebhookError, Webhooks};
use axum::extract::State;
use axum::response::Response;

use super::{Logged, reply, required};
use crate::auth::Manager;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorResponses};
use crate::state::AppState;
use crate::wire::{
    EmptyResponse, IdRequest, WebhookCreateRequest, WebhookCreatedResponse, WebhookResponse, WebhooksResponse,
};

fn logged(manager: &Manager) -> Logged {
    Logged {
        key_id: None,
        caller: Some(manager.0.id.clone()),
    }
}

/// The configured webhooks, after the write check; 404 when this server has none configured.
fn webhooks(state: &AppState, manager: &Manager) -> Result<Webhooks, ApiError> {
    manager.require_write()?;
    state
        .keys
        .inner()
        .webhooks()
        .cloned()
        .ok_or_else(|| ApiError::not_found("webhooks are not configured on this server"))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, WebhookError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(ak::run_blocking(work).await?)
}

fn response(webhook: Webhook) -> WebhookResponse {
    WebhookResponse {
        id: webhook.id,
        url: webhook.url,
        actions: webhook.actions,
        created_time: webhook.created_time,
        created_by: webhook.created_by,
    }
}

/// Register a webhook: matching audit events are POSTed to its URL, signed with the returned
/// secret (shown this once).
#[utoipa::path(post, path = "/v1/mgmt/webhook/create", tag = "webhooks",
    request_body(content = WebhookCreateRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The webhook and its signing secret, shown once", body = WebhookCreatedResponse), ErrorResponses))]
pub(crate) async fn create(
    State(state): State<AppState>,
    manager: Manager,
    JsonBody(body): JsonBody<WebhookCreateRequest>,
) -> Response {
    let result = async {
        let webhooks = webhooks(&state, &manager)?;
        let url = required(body.url, "url")?;
        let actions = body.actions.unwrap_or_default();
        let creator = manager.0.id.clone();
        let created = blocking(move || webhooks.add(&url, &actions, &creator)).await?;
        Ok(WebhookCreatedResponse {
            secret: created.secret.expose_secret().to_owned(),
            webhook: response(created.webhook),
        })
    }
    .await;
    reply(logged(&manager), result)
}

/// List the webhooks (never their secrets).
#[utoipa::path(get, path = "/v1/mgmt/webhook/list", tag = "webhooks",
    security(("bearer" = [])),
    responses((status = 200, description = "Every webhook, by id", body = WebhooksResponse), ErrorResponses))]
pub(crate) async fn list(State(state): State<AppState>, manager: Manager) -> Response {
    let result = async {
        let webhooks = webhooks(&state, &manager)?;
        let list = blocking(move || webhooks.list()).await?;
        Ok(WebhooksResponse {
            webhooks: list.into_iter().map(response).collect(),
        })
    }
    .await;
    reply(logged(&manager), result)
}

/// Delete a webhook; nothing more is delivered to it.
#[utoipa::path(post, path = "/v1/mgmt/webhook/delete", tag = "webhooks",
    request_body(content = IdRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "Done", body = EmptyResponse), ErrorResponses))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    manager: Manager,
    JsonBody(body): JsonBody<IdRequest>,
) -> Response {
    let result = async {
        let webhooks = webhooks(&state, &manager)?;
        let id = required(body.id, "id")?;
        let actor = manager.0.id.clone();
        blocking(move || webhooks.delete_by(&id, &actor)).await?;
        Ok(EmptyResponse {})
    }
    .await;
    reply(logged(&manager), result)
}
