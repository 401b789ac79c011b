//! Access keys: the table (search, sort, page, batch), create, and a key's page (edit,
//! activate, deactivate, rotate, delete).

mod create;
mod key;
mod table;

use ak::{AccessKey, KeyStatus, ManageError, ValidationError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use std::time::{SystemTime, UNIX_EPOCH};

use super::form::Problems;
use super::guard::Signed;
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) use create::{create, new_form};
pub(crate) use key::{activate, deactivate, delete, delete_confirm, edit, rotate, show};
pub(crate) use table::{batch, list};

/// The field of the form a facade error is about (`""`: the whole form).
pub(super) fn field_of(error: &ManageError) -> &'static str {
    let ManageError::Invalid(invalid) = error else {
        return "";
    };
    let by_name = |field: &str| match field {
        "name" => "name",
        "description" => "description",
        "roleNames" => "roles",
        "keyTenants" | "tenantId" => "tenants",
        "customClaims" => "claims",
        "customAttributes" => "attributes",
        "permittedIps" => "ips",
        _ => "",
    };
    match invalid {
        ValidationError::Empty { field }
        | ValidationError::TooLong { field, .. }
        | ValidationError::TooDeep { field, .. }
        | ValidationError::TooMany { field, .. }
        | ValidationError::ControlCharacter { field }
        | ValidationError::Duplicate { field, .. } => by_name(field),
        ValidationError::RolesAndTenants => "tenants",
        ValidationError::BadExpireTime { .. } => "expires",
        ValidationError::ReservedClaim { .. } | ValidationError::EmptyClaimName => "claims",
        ValidationError::InvalidIp { .. } => "ips",
        ValidationError::UnknownRole { .. } => "roles",
        ValidationError::UnknownUser { .. } => "user",
        _ => "",
    }
}

/// Problems holding the words of `error`, next to its field.
pub(super) fn problems_of(error: ManageError) -> (StatusCode, Problems) {
    let field = field_of(&error);
    let api = ApiError::from(error);
    let mut problems = Problems::default();
    problems.add(field, api.message);
    (api.status, problems)
}

pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

pub(super) fn status_label(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "active",
        _ => "inactive",
    }
}

pub(super) fn access_summary(key: &AccessKey) -> Markup {
    html! {
        @if !key.key_tenants.is_empty() {
            @for tenant in &key.key_tenants {
                span.tag { (tenant.tenant_id) @if !tenant.role_names.is_empty() { ": " (tenant.role_names.join(", ")) } }
                " "
            }
        } @else if !key.role_names.is_empty() {
            (key.role_names.join(", "))
        } @else {
            span.muted { "none" }
        }
    }
}

pub(super) fn key_url(id: &str) -> String {
    format!(
        "/console/keys/{}",
        form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    )
}

pub(super) fn done(state: &AppState, signed: &Signed, message: String, to: &str) -> Response {
    signed.flash(state, message);
    Redirect::to(to).into_response()
}
