//! A key's page: every field, edit, activate, deactivate, rotate, delete.

use ak::{AccessKey, KeyStatus, ManageError, UpdateKey};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::time::Duration;

use super::create::cleartext_page;
use super::{done, key_url, problems_of, status_label};
use crate::console::form::{Fields, Problems, entries, json_object, json_text, tenants, tenants_text};
use crate::console::guard::{Change, Signed, refusal};
use crate::console::layout::{
    Confirm, Page, confirm_page, csrf, expiry, general, html_page, input, textarea, when,
};
use crate::error::ApiError;
use crate::state::AppState;

/// Where on the key page a problem belongs.
#[derive(Debug, Default)]
struct Notes {
    edit: Problems,
    status: Option<String>,
    rotate: Option<String>,
}

fn pre_json(map: &serde_json::Map<String, serde_json::Value>) -> Markup {
    html! { @if map.is_empty() { span.muted { "none" } } @else { pre { (json_text(map)) } } }
}

/// One edit field: its current value, and the tick that says whether to replace it.
fn edit_field(id: &str, label: &str, body: Markup, problems: &Problems) -> Markup {
    let tick = format!("set_{id}");
    html! {
        fieldset.edit-field {
            legend { (label) }
            label.tick { input type="checkbox" name=(tick) value="1" checked[problems.get(id).is_some()]; " Replace with the value below" }
            (body)
        }
    }
}

fn key_page(signed: &Signed, key: &AccessKey, notes: &Notes, edit_values: Option<&Fields>) -> Markup {
    let url = key_url(&key.id);
    let value = |name: &str, current: String| match edit_values {
        Some(fields) => fields.get(name).to_owned(),
        None => current,
    };
    let problems = &notes.edit;
    html! {
        h1 { "Key \u{201c}" (key.name) "\u{201d}" }
        p { a href="/console/keys" { "\u{2190} All keys" } }
        div.card {
            dl.fields {
                dt { "Id" } dd { code { (key.id) } }
                dt { "Name" } dd { (key.name) }
                dt { "Description" } dd { @if key.description.is_empty() { span.muted { "none" } } @else { (key.description) } }
                dt { "Status" } dd { span class=(format!("status {}", status_label(key.status))) { (status_label(key.status)) } }
                dt { "Project roles" } dd { @if key.role_names.is_empty() { span.muted { "none" } } @else { (key.role_names.join(", ")) } }
                dt { "Tenants" } dd { @if key.key_tenants.is_empty() { span.muted { "none" } } @else { pre { (tenants_text(&key.key_tenants)) } } }
                dt { "Bound user" } dd { (key.bound_user_id.as_deref().unwrap_or("none")) }
                dt { "Created" } dd { (when(key.created_time)) " by " code { (key.created_by) } }
                dt { "Expires" } dd { (expiry(key.expire_time)) }
                dt { "Custom claims" } dd { (pre_json(&key.custom_claims)) }
                dt { "Custom attributes" } dd { (pre_json(&key.custom_attributes)) }
                dt { "Permitted IPs" } dd { @if key.permitted_ips.is_empty() { span.muted { "any" } } @else { (key.permitted_ips.join(", ")) } }
            }
        }
        @if signed.writable() {
            section.card aria-labelledby="status-heading" {
                h2 #status-heading { "Status" }
                @if let Some(message) = &notes.status { p.error role="alert" { (message) } }
                @if key.status == KeyStatus::Active {
                    form method="post" action=(format!("{url}/deactivate")) {
                        (csrf(signed))
                        p { "Deactivating refuses its exchanges at once; it can be activated again." }
                        button type="submit" { "Deactivate" }
                    }
                } @else {
                    form method="post" action=(format!("{url}/activate")) {
                        (csrf(signed))
                        button type="submit" { "Activate" }
                    }
                }
            }
            section.card aria-labelledby="edit-heading" {
                h2 #edit-heading { "Edit" }
                p { "Only the ticked fields change; every other field keeps its current value. Expiry and bound user cannot be changed after creation." }
                form method="post" action=(format!("{url}/edit")) novalidate {
                    (csrf(signed))
                    (general(problems))
                    (input("name", "Name (required)", &value("name", key.name.clone()), "The name is always sent.", problems))
                    (edit_field("description", "Description", textarea("description", "New description", &value("description", key.description.clone()), "Empty clears it.", false, problems), problems))
                    (edit_field("roles", "Project roles", input("roles", "New project roles", &value("roles", key.role_names.join(", ")), "Comma-separated; empty clears them.", problems), problems))
                    (edit_field("tenants", "Tenants", textarea("tenants", "New tenants", &value("tenants", tenants_text(&key.key_tenants)), "One per line: \u{201c}tenant-id: role, role\u{201d}; empty clears them.", false, problems), problems))
                    (edit_field("claims", "Custom claims", textarea("claims", "New custom claims (JSON object)", &value("claims", json_text(&key.custom_claims)), "Empty clears them.", true, problems), problems))
                    (edit_field("attributes", "Custom attributes", textarea("attributes", "New custom attributes (JSON object)", &value("attributes", json_text(&key.custom_attributes)), "Empty clears them.", true, problems), problems))
                    (edit_field("ips", "Permitted IPs", textarea("ips", "New permitted IPs", &value("ips", key.permitted_ips.join("\n")), "Empty allows any address.", false, problems), problems))
                    button type="submit" { "Save changes" }
                }
            }
            section.card aria-labelledby="rotate-heading" {
                h2 #rotate-heading { "Rotate" }
                @if let Some(message) = &notes.rotate { p.error role="alert" { (message) } }
                form method="post" action=(format!("{url}/rotate")) {
                    (csrf(signed))
                    div.field {
                        label for="grace" { "The old cleartext keeps working for" }
                        select #grace name="grace" {
                            option value="0" { "no time: it stops at once" }
                            option value="3600" { "1 hour" }
                            option value="86400" { "1 day" }
                            option value="604800" { "7 days" }
                        }
                    }
                    button type="submit" { "Rotate the secret" }
                }
            }
            section.card aria-labelledby="delete-heading" {
                h2 #delete-heading { "Delete" }
                p { a.button.danger href=(format!("{url}/delete")) { "Delete this key\u{2026}" } }
            }
        }
    }
}

async fn load(state: &AppState, id: String) -> Result<AccessKey, Response> {
    state.keys.load(id).await.map_err(|error| {
        let api = ApiError::from(error);
        refusal(api.status, &api.message)
    })
}

fn render_key(
    signed: &Signed,
    key: &AccessKey,
    status: StatusCode,
    notes: &Notes,
    edit: Option<&Fields>,
) -> Response {
    let title = format!("Key {}", key.name);
    (
        status,
        html_page(
            &Page::of(&title, signed, "keys"),
            key_page(signed, key, notes, edit),
        ),
    )
        .into_response()
}

/// `GET /console/keys/{id}`.
pub(crate) async fn show(State(state): State<AppState>, signed: Signed, Path(id): Path<String>) -> Response {
    match load(&state, id).await {
        Ok(key) => render_key(&signed, &key, StatusCode::OK, &Notes::default(), None),
        Err(response) => response,
    }
}

/// The key page again with `notes`, after a failed change (the error status kept).
async fn again(
    state: &AppState,
    signed: &Signed,
    id: String,
    status: StatusCode,
    notes: Notes,
    edit: Option<&Fields>,
) -> Response {
    match load(state, id).await {
        Ok(key) => render_key(signed, &key, status, &notes, edit),
        Err(response) => response,
    }
}

fn update_request(id: String, fields: &Fields) -> Result<UpdateKey, Problems> {
    let mut problems = Problems::default();
    let set = |name: &str| fields.has(&format!("set_{name}"));
    let mut update = UpdateKey::new(id, fields.get("name"));
    if fields.get("name").is_empty() {
        problems.add("name", "a key needs a name");
    }
    if set("description") {
        update.description = Some(fields.get("description").to_owned());
    }
    if set("roles") {
        update.role_names = Some(entries(fields.get("roles")));
    }
    if set("tenants") {
        match tenants(fields.get("tenants")) {
            Ok(tenants) => update.key_tenants = Some(tenants),
            Err(message) => problems.add("tenants", message),
        }
    }
    for (name, slot) in [
        ("claims", &mut update.custom_claims),
        ("attributes", &mut update.custom_attributes),
    ] {
        if set(name) {
            match json_object(fields.get(name)) {
                Ok(map) => *slot = Some(map),
                Err(message) => problems.add(if name == "claims" { "claims" } else { "attributes" }, message),
            }
        }
    }
    if set("ips") {
        update.permitted_ips = Some(entries(fields.get("ips")));
    }
    if problems.is_empty() {
        Ok(update)
    } else {
        Err(problems)
    }
}

/// `POST /console/keys/{id}/edit`: the ticked fields replace, the others keep.
pub(crate) async fn edit(State(state): State<AppState>, Path(id): Path<String>, change: Change) -> Response {
    let Change { signed, fields } = change;
    let (status, problems) = match update_request(id.clone(), &fields) {
        Ok(update) => match state.keys.update(update).await {
            Ok(key) => {
                return done(
                    &state,
                    &signed,
                    format!("Saved \u{201c}{}\u{201d}.", key.name),
                    &key_url(&key.id),
                );
            }
            Err(error) => problems_of(error),
        },
        Err(problems) => (StatusCode::BAD_REQUEST, problems),
    };
    let notes = Notes {
        edit: problems,
        ..Notes::default()
    };
    again(&state, &signed, id, status, notes, Some(&fields)).await
}

/// `POST /console/keys/{id}/activate`.
pub(crate) async fn activate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    change: Change,
) -> Response {
    match state.keys.activate(id.clone()).await {
        Ok(()) => done(&state, &change.signed, "Key activated.".into(), &key_url(&id)),
        Err(error) => status_failed(&state, &change.signed, id, error).await,
    }
}

/// `POST /console/keys/{id}/deactivate`.
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    change: Change,
) -> Response {
    match state.keys.deactivate(id.clone()).await {
        Ok(()) => done(
            &state,
            &change.signed,
            "Key deactivated: its exchanges are refused from now on.".into(),
            &key_url(&id),
        ),
        Err(error) => status_failed(&state, &change.signed, id, error).await,
    }
}

async fn status_failed(state: &AppState, signed: &Signed, id: String, error: ManageError) -> Response {
    let api = ApiError::from(error);
    let notes = Notes {
        status: Some(api.message),
        ..Notes::default()
    };
    again(state, signed, id, api.status, notes, None).await
}

/// `POST /console/keys/{id}/rotate`: the answer shows the new cleartext.
pub(crate) async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    change: Change,
) -> Response {
    let Change { signed, fields } = change;
    let grace = match fields.get("grace").parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let notes = Notes {
                rotate: Some("choose how long the old cleartext keeps working".into()),
                ..Notes::default()
            };
            return again(&state, &signed, id, StatusCode::BAD_REQUEST, notes, None).await;
        }
    };
    match state.keys.rotate(id.clone(), grace).await {
        Ok(created) => cleartext_page(&signed, "Key rotated", &created),
        Err(error) => {
            let api = ApiError::from(error);
            let notes = Notes {
                rotate: Some(api.message),
                ..Notes::default()
            };
            again(&state, &signed, id, api.status, notes, None).await
        }
    }
}

/// `GET /console/keys/{id}/delete`: the confirmation, naming the key.
pub(crate) async fn delete_confirm(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    if !signed.writable() {
        return refusal(
            StatusCode::FORBIDDEN,
            "This management key is read-only: it cannot delete keys.",
        );
    }
    let key = match load(&state, id).await {
        Ok(key) => key,
        Err(response) => return response,
    };
    let url = key_url(&key.id);
    let question = html! {
        p { "Delete the key \u{201c}" strong { (key.name) } "\u{201d} (" code { (key.id) } ")? Its exchanges are refused at once, and this cannot be undone." }
    };
    confirm_page(
        &signed,
        &Confirm {
            title: "Delete a key",
            section: "keys",
            action: &format!("{url}/delete"),
            hidden: &[],
            button: &format!("Delete \u{201c}{}\u{201d}", key.name),
            back: &url,
        },
        question,
    )
}

/// `POST /console/keys/{id}/delete`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    change: Change,
) -> Response {
    match state.keys.delete(id.clone()).await {
        Ok(()) => done(
            &state,
            &change.signed,
            format!("Key {id} deleted."),
            "/console/keys",
        ),
        Err(error) => status_failed(&state, &change.signed, id, error).await,
    }
}
