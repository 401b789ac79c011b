//! Management keys: list, create (cleartext shown once), revoke.

use std::sync::Arc;

use ak::crates::core::audit::{actions, reasons};
use ak::{ManageError, ManagementKey};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::guard::{Change, Signed, refusal};
use super::layout::{Confirm, Page, confirm_page, csrf, field_error, html_page, when};
use crate::error::ApiError;
use crate::state::AppState;

async fn blocking<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&ak::ManagementKeys) -> Result<T, ManageError> + Send + 'static,
) -> Result<T, ApiError> {
    let management = Arc::clone(&state.management);
    match tokio::task::spawn_blocking(move || work(&management)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(error) => Err(ApiError::internal(&error)),
    }
}

/// Records a management-key change made in the console, with the signed-in key as the actor.
fn record(state: &AppState, signed: &Signed, action: &str, ids: Vec<String>, failed: bool) {
    state.keys.inner().acting(signed.key.id.clone(), None).record(
        action,
        ids,
        failed.then_some(reasons::ERROR),
    );
}

fn revoke_url(id: &str) -> String {
    format!(
        "/console/management-keys/{}/revoke",
        form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    )
}

fn list_page(signed: &Signed, keys: &[ManagementKey], name: &str, problem: Option<&str>) -> maud::Markup {
    html! {
        h1 { "Management keys" }
        p { "Management keys authenticate the management API and this console. A read-only key may only look." }
        div.table-wrap {
            table {
                caption.visually-hidden { "Management keys" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Access" }
                    th scope="col" { "Created" } th scope="col" { "Created by" }
                    @if signed.writable() { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @for key in keys {
                        tr {
                            td { (key.name) @if key.id == signed.key.id { " (you)" } }
                            td { code { (key.id) } }
                            td { @if key.read_only { "read-only" } @else { "full" } }
                            td { (when(key.created_time)) }
                            td { code { (key.created_by) } }
                            @if signed.writable() {
                                td { a href=(revoke_url(&key.id)) { "Revoke " span.visually-hidden { (key.name) } } }
                            }
                        }
                    }
                }
            }
        }
        @if signed.writable() {
            section.card aria-labelledby="create-heading" {
                h2 #create-heading { "Create a management key" }
                form method="post" action="/console/management-keys" {
                    (csrf(signed))
                    div.field {
                        label for="name" { "Name (required)" }
                        input #name name="name" type="text" value=(name) aria-describedby="name-error" aria-invalid=[problem.map(|_| "true")];
                        (field_error("name", problem))
                    }
                    div.field {
                        label.tick { input type="checkbox" name="read_only" value="1"; " Read-only (may look, may not change)" }
                    }
                    button type="submit" { "Create management key" }
                }
            }
        }
    }
}

/// `GET /console/management-keys`.
pub(crate) async fn list(State(state): State<AppState>, signed: Signed) -> Response {
    match blocking(&state, |management| management.list()).await {
        Ok(keys) => html_page(
            &Page::of("Management keys", &signed, "management"),
            list_page(&signed, &keys, "", None),
        ),
        Err(error) => refusal(error.status, &error.message),
    }
}

/// `POST /console/management-keys`: the answer shows the cleartext, once.
pub(crate) async fn create(State(state): State<AppState>, change: Change) -> Response {
    let Change { signed, fields } = change;
    let name = fields.get("name").to_owned();
    let read_only = fields.has("read_only");
    let creator = signed.key.id.clone();
    let created = {
        let name = name.clone();
        blocking(&state, move |management| {
            management.create(&name, read_only, &creator)
        })
        .await
    };
    let created_ids: Vec<String> = created.iter().map(|created| created.key.id.clone()).collect();
    record(
        &state,
        &signed,
        actions::MANAGEMENT_KEY_CREATE,
        created_ids,
        created.is_err(),
    );
    match created {
        Ok(created) => {
            let body = html! {
                h1 { "Management key created" }
                div.card {
                    p.warning role="alert" { strong { "Copy the key now: this is the only time it is shown." } " ak keeps only a hash of it." }
                    label for="cleartext" { "Cleartext of \u{201c}" (created.key.name) "\u{201d}" @if created.key.read_only { " (read-only)" } }
                    div.copy-row {
                        input #cleartext type="text" readonly value=(created.cleartext.expose_secret()) autocomplete="off" spellcheck="false";
                        button type="button" data-copy="cleartext" hidden { "Copy" }
                    }
                    p #copy-status .help aria-live="polite" {}
                    p { a href="/console/management-keys" { "Back to the management keys" } }
                }
            };
            html_page(&Page::of("Management key created", &signed, "management"), body)
        }
        Err(error) => {
            let keys = blocking(&state, |management| management.list())
                .await
                .unwrap_or_default();
            let message = if name.is_empty() {
                "a management key needs a name".to_owned()
            } else {
                error.message.clone()
            };
            (
                error.status,
                html_page(
                    &Page::of("Management keys", &signed, "management"),
                    list_page(&signed, &keys, &name, Some(&message)),
                ),
            )
                .into_response()
        }
    }
}

/// `GET /console/management-keys/{id}/revoke`: the confirmation, naming the key.
pub(crate) async fn revoke_confirm(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    if !signed.writable() {
        return refusal(
            StatusCode::FORBIDDEN,
            "This management key is read-only: it cannot revoke keys.",
        );
    }
    let keys = match blocking(&state, |management| management.list()).await {
        Ok(keys) => keys,
        Err(error) => return refusal(error.status, &error.message),
    };
    let Some(key) = keys.into_iter().find(|key| key.id == id) else {
        return refusal(
            StatusCode::NOT_FOUND,
            &format!("No management key has the id {id:?}."),
        );
    };
    let yours = key.id == signed.key.id;
    let question = html! {
        p { "Revoke the management key \u{201c}" strong { (key.name) } "\u{201d} (" code { (key.id) } ")? Calls made with it are refused at once." }
        @if yours { p.warning { "This is the key you signed in with: you will be signed out." } }
    };
    confirm_page(
        &signed,
        &Confirm {
            title: "Revoke a management key",
            section: "management",
            action: &revoke_url(&key.id),
            hidden: &[],
            button: &format!("Revoke \u{201c}{}\u{201d}", key.name),
            back: "/console/management-keys",
        },
        question,
    )
}

/// `POST /console/management-keys/{id}/revoke`.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    change: Change,
) -> Response {
    let target = id.clone();
    let deleted = blocking(&state, move |management| management.delete(&target)).await;
    record(
        &state,
        &change.signed,
        actions::MANAGEMENT_KEY_DELETE,
        vec![id.clone()],
        deleted.is_err(),
    );
    match deleted {
        Ok(()) => {
            change
                .signed
                .flash(&state, format!("Management key {id} revoked."));
            Redirect::to("/console/management-keys").into_response()
        }
        Err(error) => refusal(error.status, &error.message),
    }
}
