//! Signing keys and the JWKS.
//!
//! Every signing-key operation of the console goes through this module, over the facade:
//! [`ak::AccessKeys::signing_keys`], [`ak::AccessKeys::rotate_signing_key`],
//! [`ak::AccessKeys::retire_signing_key`] and [`ak::AccessKeys::jwks`]. With store-backed
//! signing keys (what `ak serve` uses) a change is written to the store and every node follows
//! at its next refresh; with an in-memory set it changes this process only, and the page says so.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::guard::{Change, Signed, refusal};
use super::layout::{Confirm, Page, confirm_page, csrf, html_page};
use crate::state::AppState;

/// Whether a rotation outlives the process and reaches other nodes: the set is in the store.
fn persisted(state: &AppState) -> bool {
    state.keys.inner().shared_signing_keys().is_some()
}

/// One verification key as the page lists it.
struct Listed {
    kid: String,
    active: bool,
}

fn listed(state: &AppState) -> Vec<Listed> {
    let set = state.keys.inner().signing_keys();
    let active = set.active().kid().to_owned();
    set.kids()
        .into_iter()
        .map(|kid| Listed {
            active: kid == active,
            kid,
        })
        .collect()
}

fn retire_url(kid: &str) -> String {
    format!(
        "/console/signing-keys/{}/retire",
        form_urlencoded::byte_serialize(kid.as_bytes()).collect::<String>()
    )
}

/// `GET /console/signing-keys`.
pub(crate) async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    // First, on the blocking pool: a due refresh reloads the set from the store.
    let jwks = serde_json::from_str::<serde_json::Value>(&state.keys.jwks().await.to_json())
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_default();
    let keys = listed(&state);
    let body = html! {
        h1 { "Signing keys" }
        p { "Tokens are signed with the active key; every key listed here verifies them. Services fetch the public keys from "
            a href=(format!("/v2/keys/{}", state.project_id)) { code { "/v2/keys/" (state.project_id) } } "." }
        @if !persisted(&state) {
            p.warning { "A rotation or retirement made here changes this running server only: the signing keys are not in the store, so it is undone when the server restarts, and other nodes do not see it." }
        }
        div.table-wrap {
            table {
                caption.visually-hidden { "Signing keys" }
                thead { tr { th scope="col" { "Key id (kid)" } th scope="col" { "Role" } @if signed.writable() { th scope="col" { span.visually-hidden { "Actions" } } } } }
                tbody {
                    @for key in &keys {
                        tr {
                            td { code { (key.kid) } }
                            td { @if key.active { "active: signs new tokens" } @else { "verifies older tokens" } }
                            @if signed.writable() {
                                td { @if !key.active { a href=(retire_url(&key.kid)) { "Retire " span.visually-hidden { (key.kid) } } } }
                            }
                        }
                    }
                }
            }
        }
        @if signed.writable() {
            form.card method="post" action="/console/signing-keys/rotate" {
                (csrf(&signed))
                p { "Rotating makes a new key the active one; tokens signed by the old key keep verifying until you retire it." }
                button type="submit" { "Rotate the signing key" }
            }
        }
        h2 { "JWKS" }
        pre.jwks { (jwks) }
    };
    html_page(&Page::of("Signing keys", &signed, "signing"), body)
}

/// `POST /console/signing-keys/rotate`.
pub(crate) async fn rotate(State(state): State<AppState>, change: Change) -> Response {
    let new_key = ak::SigningKey::generate();
    let kid = new_key.kid().to_owned();
    let keys = Arc::clone(state.keys.inner());
    match ak::run_blocking(move || keys.rotate_signing_key(new_key)).await {
        Ok(()) => {
            change.signed.flash(
                &state,
                format!("Signing key rotated: {kid} now signs new tokens."),
            );
            Redirect::to("/console/signing-keys").into_response()
        }
        Err(error) => refusal(
            StatusCode::BAD_REQUEST,
            &format!("The signing key was not rotated: {error}"),
        ),
    }
}

/// `GET /console/signing-keys/{kid}/retire`: the confirmation.
pub(crate) async fn retire_confirm(
    State(state): State<AppState>,
    signed: Signed,
    Path(kid): Path<String>,
) -> Response {
    if !signed.writable() {
        return refusal(
            StatusCode::FORBIDDEN,
            "This management key is read-only: it cannot retire signing keys.",
        );
    }
    if !listed(&state).iter().any(|key| key.kid == kid && !key.active) {
        return refusal(
            StatusCode::NOT_FOUND,
            &format!("{kid:?} is not a retirable signing key (unknown, or the active one)."),
        );
    }
    let question = html! {
        p { "Retire the signing key " code { (kid) } "? Tokens it signed stop verifying at once." }
    };
    confirm_page(
        &signed,
        &Confirm {
            title: "Retire a signing key",
            section: "signing",
            action: &retire_url(&kid),
            hidden: &[],
            button: "Retire the key",
            back: "/console/signing-keys",
        },
        question,
    )
}

/// `POST /console/signing-keys/{kid}/retire`.
pub(crate) async fn retire(
    State(state): State<AppState>,
    Path(kid): Path<String>,
    change: Change,
) -> Response {
    let keys = Arc::clone(state.keys.inner());
    let retired = kid.clone();
    match ak::run_blocking(move || keys.retire_signing_key(&retired)).await {
        Ok(()) => {
            change.signed.flash(&state, format!("Signing key {kid} retired."));
            Redirect::to("/console/signing-keys").into_response()
        }
        Err(error) => refusal(
            StatusCode::BAD_REQUEST,
            &format!("The signing key was not retired: {error}"),
        ),
    }
}
