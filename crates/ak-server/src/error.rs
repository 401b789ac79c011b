//! Descope's error body, and the one place where ak's errors become HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};

use ak::webhook::WebhookError;
use ak::{AuthError, ExchangeError, ManageError};

/// Descope's error body. Every error response has all three fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// A stable code, e.g. `E011003` (see the crate docs for the table).
    pub error_code: String,
    /// What kind of error this is.
    pub error_description: String,
    /// What went wrong, for people; never holds a secret.
    pub error_message: String,
}

/// Every error status an endpoint may answer with, for the OpenAPI document.
#[derive(Debug, IntoResponses)]
#[allow(dead_code)]
pub(crate) enum ErrorResponses {
    /// Malformed or invalid input (`E011001`, `E011002`, `E011003`).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// Missing, malformed or wrong credentials (`E011401`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Read-only management key, or client IP not permitted (`E011403`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Unknown access key or path (`E011404`).
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// Wrong method for the path (`E011405`).
    #[response(status = 405)]
    MethodNotAllowed(ErrorBody),
    /// The request timed out (`E011408`).
    #[response(status = 408)]
    Timeout(ErrorBody),
    /// A concurrent update won (`E011409`); retry.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// Body over the limit (`E011413`).
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Body not JSON (`E011415`).
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// Too many failed authentications from this client (`E130429`).
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds until a retry may succeed")))]
    TooManyRequests(ErrorBody),
    /// The store failed (`E011500`); never for bad input.
    #[response(status = 500)]
    Internal(ErrorBody),
}

/// An error answer: status, Descope code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The Descope-style error code.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Seconds after which a rate-limited client may retry (429 only).
    pub retry_after: Option<u64>,
}

/// Codes, one per kind of failure (listed in the crate docs).
pub(crate) mod code {
    pub(crate) const BAD_REQUEST: &str = "E011001";
    pub(crate) const MISSING_ARGUMENT: &str = "E011002";
    pub(crate) const INVALID: &str = "E011003";
    pub(crate) const UNAUTHORIZED: &str = "E011401";
    pub(crate) const FORBIDDEN: &str = "E011403";
    pub(crate) const NOT_FOUND: &str = "E011404";
    pub(crate) const METHOD_NOT_ALLOWED: &str = "E011405";
    pub(crate) const TIMEOUT: &str = "E011408";
    pub(crate) const CONFLICT: &str = "E011409";
    pub(crate) const TOO_LARGE: &str = "E011413";
    pub(crate) const UNSUPPORTED_MEDIA_TYPE: &str = "E011415";
    pub(crate) const RATE_LIMITED: &str = "E130429";
    pub(crate) const INTERNAL: &str = "E011500";
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the body or query is not what the endpoint takes.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::BAD_REQUEST, message)
    }

    /// 400: a required argument is missing or empty.
    pub fn missing(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::MISSING_ARGUMENT,
            format!("{field} is required"),
        )
    }

    /// 400: the input failed validation.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::INVALID, message)
    }

    /// 401, with one message for every credential that does not authenticate.
    pub fn unauthorized() -> Self {
        Self::unauthorized_because("invalid or missing credentials")
    }

    /// 401 with a specific message (only for facts known after the secret was proven, or about
    /// the header's shape, never about whether a key exists).
    pub fn unauthorized_because(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code::FORBIDDEN, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, message)
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            code::METHOD_NOT_ALLOWED,
            "method not allowed on this path",
        )
    }

    /// 408.
    pub fn timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            code::TIMEOUT,
            "the request took longer than the server's request timeout",
        )
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::TOO_LARGE,
            format!("request body larger than {limit} bytes"),
        )
    }

    /// 415.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::UNSUPPORTED_MEDIA_TYPE,
            "request body must be application/json",
        )
    }

    /// 429 with Descope's exact body and a `Retry-After` of `seconds`.
    pub fn rate_limited(seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                "API rate limit exceeded.",
            )
        }
    }

    /// 500: the store or another internal part failed. Never used for bad input.
    pub fn internal(error: &dyn std::error::Error) -> Self {
        tracing::error!(error = %error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "internal error; see the server log",
        )
    }

    /// Whether this answer means an authentication failed (it counts against the rate limit).
    pub(crate) fn is_auth_failure(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }

    /// The body.
    pub fn body(&self) -> ErrorBody {
        let description = if self.code == code::RATE_LIMITED {
            "https://docs.descope.com/rate-limit".to_owned()
        } else {
            self.status.canonical_reason().unwrap_or("error").to_owned()
        };
        ErrorBody {
            error_code: self.code.to_owned(),
            error_description: description,
            error_message: self.message.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if matches!(
            self.status,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
        ) {
            // The rest of the request was not read: the connection cannot carry another one.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ManageError> for ApiError {
    fn from(error: ManageError) -> Self {
        match error {
            ManageError::Invalid(invalid) => Self::invalid(invalid.to_string()),
            ManageError::NotFound { .. } => Self::not_found(error.to_string()),
            ManageError::NotRotatable { .. } => Self::invalid(error.to_string()),
            ManageError::Conflict { .. } => {
                Self::new(StatusCode::CONFLICT, code::CONFLICT, error.to_string())
            }
            other => Self::internal(&other),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Invalid(_) | WebhookError::TooMany => Self::invalid(error.to_string()),
            WebhookError::NotFound { .. } => Self::not_found(error.to_string()),
            other => Self::internal(&other),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            // One answer for malformed, unknown and wrong keys.
            AuthError::InvalidKey => Self::unauthorized(),
            // Known only after the secret was proven: saying so leaks nothing to a guesser.
            AuthError::Inactive | AuthError::Expired | AuthError::BoundUserInactive => {
                Self::unauthorized_because(error.to_string())
            }
            AuthError::IpNotPermitted => Self::forbidden(error.to_string()),
            other => Self::internal(&other),
        }
    }
}

impl From<ExchangeError> for ApiError {
    fn from(error: ExchangeError) -> Self {
        match error {
            ExchangeError::Auth(auth) => auth.into(),
            ExchangeError::Invalid(invalid) => Self::invalid(invalid.to_string()),
            ExchangeError::TenantNotPermitted | ExchangeError::TokenTooLarge => {
                Self::invalid(error.to_string())
            }
            other => Self::internal(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use ak::{StoreError, ValidationError};

    use super::*;

    fn store_error() -> StoreError {
        StoreError::corrupt(None, "test")
    }

    /// Every error variant with the status and code it maps to.
    #[test]
    fn every_error_maps_to_its_status() {
        let table: Vec<(ApiError, StatusCode, &str)> = vec![
            (
                ManageError::Invalid(ValidationError::BadPrefix).into(),
                StatusCode::BAD_REQUEST,
                code::INVALID,
            ),
            (
                ManageError::NotFound {
                    ids: vec!["x".into()],
                }
                .into(),
                StatusCode::NOT_FOUND,
                code::NOT_FOUND,
            ),
            (
                ManageError::NotRotatable {
                    id: "x".into(),
                    reason: "inactive",
                }
                .into(),
                StatusCode::BAD_REQUEST,
                code::INVALID,
            ),
            (
                ManageError::Conflict { id: "x".into() }.into(),
                StatusCode::CONFLICT,
                code::CONFLICT,
            ),
            (
                ManageError::Store(store_error()).into(),
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL,
            ),
            (
                AuthError::InvalidKey.into(),
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
            ),
            (
                AuthError::Inactive.into(),
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
            ),
            (
                AuthError::Expired.into(),
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
            ),
            (
                AuthError::BoundUserInactive.into(),
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
            ),
            (
                AuthError::IpNotPermitted.into(),
                StatusCode::FORBIDDEN,
                code::FORBIDDEN,
            ),
            (
                AuthError::Store(store_error()).into(),
                StatusCode::INTERNAL_SERVER_ERROR,
                code::INTERNAL,
            ),
            (
                ExchangeError::TenantNotPermitted.into(),
                StatusCode::BAD_REQUEST,
                code::INVALID,
            ),
            (
                ExchangeError::TokenTooLarge.into(),
                StatusCode::BAD_REQUEST,
                code::INVALID,
            ),
            (
                ExchangeError::Auth(AuthError::InvalidKey).into(),
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
            ),
            (
                ApiError::rate_limited(3),
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
            ),
        ];
        for (error, status, code) in table {
            assert_eq!((error.status, error.code), (status, code), "{error:?}");
            assert!(!error.body().error_code.is_empty());
        }
    }

    #[test]
    fn rate_limit_body_is_descopes() {
        let body = ApiError::rate_limited(0).body();
        assert_eq!(body.error_code, "E130429");
        assert_eq!(body.error_description, "https://docs.descope.com/rate-limit");
        assert_eq!(body.error_message, "API rate limit exceeded.");
        assert_eq!(ApiError::rate_limited(0).retry_after, Some(1));
    }
}
