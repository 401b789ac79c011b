//! `/v1/mgmt/accesskey/...` and `/v1/mgmt/license`.

use std::sync::Arc;
use std::time::Duration;

use ak::{Acting, CreateKey, ManageError, SearchQuery, SortField, UpdateKey};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Logged, reply, required};
use crate::auth::Manager;
use crate::body::JsonBody;
use crate::config::MAX_SEARCH_RESULTS;
use crate::error::{ApiError, ErrorResponses};
use crate::state::AppState;
use crate::wire::{
    AccessKeyResponse, CreateRequest, CreatedResponse, EmptyResponse, IdRequest, IdsRequest, KeyResponse,
    KeysResponse, LicenseResponse, SearchRequest, UpdateRequest,
};

fn logged(manager: &Manager, key_id: Option<&str>) -> Logged {
    Logged {
        key_id: key_id.map(str::to_owned),
        caller: Some(manager.0.id.clone()),
    }
}

/// Runs a management call as blocking work, recorded in the audit trail with the management key's
/// id as the actor and the client's address.
async fn as_manager<T: Send + 'static>(
    state: &AppState,
    manager: &Manager,
    work: impl FnOnce(&Acting<'_>) -> Result<T, ManageError> + Send + 'static,
) -> Result<T, ApiError> {
    let keys = Arc::clone(state.keys.inner());
    let manager = manager.clone();
    Ok(ak::run_blocking(move || work(&manager.acting(&keys))).await?)
}

fn created(created: ak::CreatedKey) -> CreatedResponse {
    CreatedResponse {
        cleartext: created.cleartext.expose_secret().to_owned(),
        key: created.key.into(),
    }
}

fn create_request(body: CreateRequest, created_by: String) -> Result<CreateKey, ApiError> {
    let name = required(body.name, "name")?;
    let expire_time = match &body.expire_time {
        Some(time) => Some(time.seconds()?).filter(|&seconds| seconds != 0),
        None => None,
    };
    Ok(CreateKey {
        name,
        description: body.description.filter(|d| !d.is_empty()),
        expire_time,
        role_names: body.role_names.unwrap_or_default(),
        key_tenants: body
            .key_tenants
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
        user_id: body.user_id.filter(|u| !u.is_empty()),
        custom_claims: body.custom_claims.unwrap_or_default(),
        custom_attributes: body.custom_attributes.unwrap_or_default(),
        permitted_ips: body.permitted_ips.unwrap_or_default(),
        created_by: Some(created_by),
    })
}

/// Create an access key.
#[utoipa::path(post, path = "/v1/mgmt/accesskey/create", tag = "management",
    request_body(content = CreateRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The key and its cleartext, shown once", body = CreatedResponse), ErrorResponses))]
pub(crate) async fn create(
    State(state): State<AppState>,
    manager: Manager,
    JsonBody(body): JsonBody<CreateRequest>,
) -> Response {
    let result = async {
        manager.require_write()?;
        let request = create_request(body, manager.0.id.clone())?;
        as_manager(&state, &manager, move |acting| acting.create(request)).await
    }
    .await;
    let key_id = result
        .as_ref()
        .ok()
        .map(|created: &ak::CreatedKey| created.key.id.clone());
    reply(logged(&manager, key_id.as_deref()), result.map(created))
}

/// The `?id=` of a load.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct IdQuery {
    /// The key id.
    #[param(value_type = String, required = true, min_length = 1, max_length = 128)]
    id: Option<String>,
}

/// Load an access key.
#[utoipa::path(get, path = "/v1/mgmt/accesskey", tag = "management", params(IdQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The key", body = KeyResponse), ErrorResponses))]
pub(crate) async fn load(
    State(state): State<AppState>,
    manager: Manager,
    query: Result<Query<IdQuery>, QueryRejection>,
) -> Response {
    let id = query.ok().and_then(|Query(query)| query.id);
    let result = async {
        let id = required(id.clone(), "id")?;
        Ok(KeyResponse {
            key: state.keys.load(id).await?.into(),
        })
    }
    .await;
    reply(logged(&manager, id.as_deref()), result)
}

fn search_query(body: SearchRequest) -> Result<SearchQuery, ApiError> {
    let mut query = SearchQuery {
        tenant_ids: body.tenant_ids.unwrap_or_default(),
        bound_user_id: body.bound_user_id.filter(|u| !u.is_empty()),
        created_by: body.creating_user.filter(|u| !u.is_empty()),
        custom_attributes: body.custom_attributes.unwrap_or_default(),
        text: body.text.filter(|t| !t.is_empty()),
        not_used_since: body.not_used_since,
        expires_before: body.expires_before,
        limit: ak::limits::MAX_PAGE_SIZE,
        ..SearchQuery::default()
    };
    if let Some(sort) = body.sort.unwrap_or_default().into_iter().next() {
        query.sort = match sort.field.as_str() {
            "createdTime" => SortField::CreatedTime,
            "name" => SortField::Name,
            other => {
                return Err(ApiError::invalid(format!(
                    "cannot sort by {other:?}: use \"createdTime\" or \"name\""
                )));
            }
        };
        query.descending = sort.desc.unwrap_or(false);
    }
    Ok(query)
}

/// Search access keys (every match, at most 10 000).
#[utoipa::path(post, path = "/v1/mgmt/accesskey/search", tag = "management",
    request_body(content = Option<SearchRequest>, content_type = "application/json", description = "May be empty: every key"),
    security(("bearer" = [])),
    responses((status = 200, description = "The matching keys", body = KeysResponse), ErrorResponses))]
pub(crate) async fn search(
    State(state): State<AppState>,
    manager: Manager,
    JsonBody(body): JsonBody<SearchRequest>,
) -> Response {
    let result = async {
        let mut query = search_query(body)?;
        let mut keys: Vec<AccessKeyResponse> = Vec::new();
        loop {
            let page = state.keys.search(query.clone()).await?;
            keys.extend(page.items.into_iter().map(Into::into));
            match page.next_cursor {
                Some(cursor) if keys.len() < MAX_SEARCH_RESULTS => query.cursor = Some(cursor),
                _ => break,
            }
        }
        keys.truncate(MAX_SEARCH_RESULTS);
        Ok(KeysResponse { keys })
    }
    .await;
    reply(logged(&manager, None), result)
}

/// Update an access key.
#[utoipa::path(post, path = "/v1/mgmt/accesskey/update", tag = "management",
    request_body(content = UpdateRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The updated key", body = KeyResponse), ErrorResponses))]
pub(crate) async fn update(
    State(state): State<AppState>,
    manager: Manager,
    JsonBody(body): JsonBody<UpdateRequest>,
) -> Response {
    let id = body.id.clone();
    let result = async {
        manager.require_write()?;
        let request = UpdateKey {
            id: required(body.id, "id")?,
            name: required(body.name, "name")?,
            description: body.description,
            role_names: body.role_names,
            key_tenants: body
                .key_tenants
                .map(|tenants| tenants.into_iter().map(Into::into).collect()),
            custom_claims: body.custom_claims,
            custom_attributes: body.custom_attributes,
            permitted_ips: body.permitted_ips,
        };
        Ok(KeyResponse {
            key: as_manager(&state, &manager, move |acting| acting.update(request))
                .await?
                .into(),
        })
    }
    .await;
    reply(logged(&manager, id.as_deref()), result)
}

/// Which single-key status operation.
#[derive(Debug, Clone, Copy)]
enum Single {
    Activate,
    Deactivate,
    Delete,
}

async fn single(state: AppState, manager: Manager, body: IdRequest, op: Single) -> Response {
    let id = body.id.clone();
    let result = async {
        manager.require_write()?;
        let id = required(body.id, "id")?;
        as_manager(&state, &manager, move |acting| match op {
            Single::Activate => acting.activate(&id),
            Single::Deactivate => acting.deactivate(&id),
            Single::Delete => acting.delete(&id),
        })
        .await?;
        Ok(EmptyResponse {})
    }
    .await;
    reply(logged(&manager, id.as_deref()), result)
}

async fn batch(state: AppState, manager: Manager, body: IdsRequest, op: Single) -> Response {
    let result = async {
        manager.require_write()?;
        let ids = body
            .ids
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| ApiError::missing("ids"))?;
        as_manager(&state, &manager, move |acting| match op {
            Single::Activate => acting.activate_batch(&ids),
            Single::Deactivate => acting.deactivate_batch(&ids),
            Single::Delete => acting.delete_batch(&ids),
        })
        .await?;
        Ok(EmptyResponse {})
    }
    .await;
    reply(logged(&manager, None), result)
}

macro_rules! single_endpoints {
    ($($name:ident, $batch:ident, $op:ident, $path:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "management",
            request_body(content = IdRequest, content_type = "application/json"),
            security(("bearer" = [])),
            responses((status = 200, description = "Done", body = EmptyResponse), ErrorResponses))]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            manager: Manager,
            JsonBody(body): JsonBody<IdRequest>,
        ) -> Response {
            single(state, manager, body, Single::$op).await
        }

        #[doc = concat!($doc, " (a batch, atomically: an unknown id fails them all).")]
        #[utoipa::path(post, path = concat!($path, "/batch"), tag = "management",
            request_body(content = IdsRequest, content_type = "application/json"),
            security(("bearer" = [])),
            responses((status = 200, description = "Done", body = EmptyResponse), ErrorResponses))]
        pub(crate) async fn $batch(
            State(state): State<AppState>,
            manager: Manager,
            JsonBody(body): JsonBody<IdsRequest>,
        ) -> Response {
            batch(state, manager, body, Single::$op).await
        }
    )*};
}

single_endpoints! {
    activate, activate_batch, Activate, "/v1/mgmt/accesskey/activate", "Activate access keys.";
    deactivate, deactivate_batch, Deactivate, "/v1/mgmt/accesskey/deactivate", "Deactivate access keys.";
    delete, delete_batch, Delete, "/v1/mgmt/accesskey/delete", "Delete access keys.";
}

/// Rotate an access key's secret; the old one stops working when this returns.
#[utoipa::path(post, path = "/v1/mgmt/accesskey/rotate", tag = "management",
    request_body(content = IdRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The key and its new cleartext", body = CreatedResponse), ErrorResponses))]
pub(crate) async fn rotate(
    State(state): State<AppState>,
    manager: Manager,
    JsonBody(body): JsonBody<IdRequest>,
) -> Response {
    let id = body.id.clone();
    let result = async {
        manager.require_write()?;
        let id = required(body.id, "id")?;
        let rotated = as_manager(&state, &manager, move |acting| acting.rotate(&id, Duration::ZERO)).await?;
        Ok(created(rotated))
    }
    .await;
    reply(logged(&manager, id.as_deref()), result)
}

/// The license handshake the SDKs make at start-up.
#[utoipa::path(get, path = "/v1/mgmt/license", tag = "management",
    security(("bearer" = [])),
    responses((status = 200, description = "The rate-limit tier", body = LicenseResponse), ErrorResponses))]
pub(crate) async fn license(manager: Manager) -> Response {
    reply(
        logged(&manager, None),
        Ok(LicenseResponse {
            rate_limit_tier: "ak".to_owned(),
        }),
    )
}
