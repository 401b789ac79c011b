//! Unauthenticated endpoints: the JWKS, the health check and the OpenAPI document.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use super::{Logged, reply};
use crate::error::{ApiError, ErrorResponses};
use crate::openapi::ApiDoc;
use crate::state::AppState;
use crate::wire::{HealthResponse, JwkResponse, JwksResponse};

/// The public keys that verify session tokens: Ed25519 only, each with `alg` and `kid`.
#[utoipa::path(get, path = "/v2/keys/{projectId}", tag = "auth",
    params(("projectId" = String, Path, description = "The project id (the configured issuer)")),
    responses((status = 200, description = "The JWKS", body = JwksResponse), ErrorResponses))]
pub(crate) async fn jwks(State(state): State<AppState>, Path(project): Path<String>) -> Response {
    if project != state.project_id {
        return reply(
            Logged::default(),
            Err::<JwksResponse, _>(ApiError::not_found("no such project")),
        );
    }
    // On the blocking pool: a due refresh reloads the signing keys from the store.
    let keys = state
        .keys
        .jwks()
        .await
        .keys
        .into_iter()
        // Publish only keys every SDK can import: one it cannot breaks Node's whole key set.
        .filter(|jwk| jwk.kty == "OKP" && jwk.crv == "Ed25519")
        .filter_map(|jwk| {
            Some(JwkResponse {
                kid: jwk.kid?,
                kty: jwk.kty,
                crv: jwk.crv,
                x: jwk.x,
                alg: "EdDSA".to_owned(),
                use_: "sig".to_owned(),
            })
        })
        .collect();
    reply(Logged::default(), Ok(JwksResponse { keys }))
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "Up", body = HealthResponse), ErrorResponses))]
pub(crate) async fn healthz() -> Response {
    reply(
        Logged::default(),
        Ok(HealthResponse {
            status: "ok".to_owned(),
        }),
    )
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object), ErrorResponses))]
pub(crate) async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

/// Any unknown path: 404 with Descope's body.
pub(crate) async fn not_found() -> Response {
    ApiError::not_found("no such endpoint").into_response()
}

/// A known path with the wrong method: 405 with Descope's body.
pub(crate) async fn method_not_allowed() -> Response {
    ApiError::method_not_allowed().into_response()
}
