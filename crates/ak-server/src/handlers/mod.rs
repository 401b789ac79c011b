//! The handlers: each parses the request into the facade's types, calls the facade once, and
//! maps the result to Descope's shapes. No policy lives here.

pub(crate) mod audit;
pub(crate) mod exchange;
pub(crate) mod management;
pub(crate) mod metrics;
pub(crate) mod public;
pub(crate) mod webhook;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// Ids the access log prints for a request: the access key acted on and the management key that
/// called. Never a secret.
#[derive(Debug, Clone, Default)]
pub(crate) struct Logged {
    pub(crate) key_id: Option<String>,
    pub(crate) caller: Option<String>,
}

/// The JSON answer or the error, with the ids to log.
pub(crate) fn reply<T: Serialize>(logged: Logged, result: Result<T, ApiError>) -> Response {
    let mut response = match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    };
    response.extensions_mut().insert(logged);
    response
}

/// A required, non-empty string argument.
pub(crate) fn required(value: Option<String>, field: &str) -> Result<String, ApiError> {
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ApiError::missing(field)),
    }
}
