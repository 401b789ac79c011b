//! The key table: search, sort, page, and batch changes.

use ak::{ExpiryFilter, KeyStatus, SearchQuery, SortField};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{access_summary, done, key_url, now, status_label};
use crate::config::CONSOLE_PAGE_SIZE;
use crate::console::form::{Problems, entries};
use crate::console::guard::{Change, Signed, refusal};
use crate::console::layout::{
    Confirm, Page, confirm_page, csrf, expiry, field_error, general, html_page, select, when,
};
use crate::error::ApiError;
use crate::state::AppState;

/// The table's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    #[serde(default)]
    text: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    cursor: String,
}

impl Filters {
    fn query(&self, problems: &mut Problems) -> SearchQuery {
        let mut query = SearchQuery {
            tenant_ids: entries(&self.tenant),
            bound_user_id: Some(self.user.trim().to_owned()).filter(|u| !u.is_empty()),
            created_by: Some(self.created_by.trim().to_owned()).filter(|u| !u.is_empty()),
            text: Some(self.text.trim().to_owned()).filter(|t| !t.is_empty()),
            limit: CONSOLE_PAGE_SIZE,
            cursor: Some(ak::Cursor::from_string(self.cursor.clone())).filter(|_| !self.cursor.is_empty()),
            ..SearchQuery::default()
        };
        query.status = match self.status.as_str() {
            "" => None,
            "active" => Some(KeyStatus::Active),
            "inactive" => Some(KeyStatus::Inactive),
            _ => {
                problems.add("status", "choose active, inactive or any status");
                None
            }
        };
        let day = 24 * 3600;
        query.expiry = match self.expiry.as_str() {
            "" => None,
            "expired" => Some(ExpiryFilter::ExpiredAt(now())),
            "7d" => Some(ExpiryFilter::ExpiredAt(now() + 7 * day)),
            "30d" => Some(ExpiryFilter::ExpiredAt(now() + 30 * day)),
            "unexpired" => Some(ExpiryFilter::UnexpiredAt(now())),
            _ => {
                problems.add("expiry", "choose one of the listed expiry filters");
                None
            }
        };
        (query.sort, query.descending) = match self.sort.as_str() {
            "" | "created-desc" => (SortField::CreatedTime, true),
            "created" => (SortField::CreatedTime, false),
            "name" => (SortField::Name, false),
            "name-desc" => (SortField::Name, true),
            _ => {
                problems.add("sort", "choose one of the listed orders");
                (SortField::CreatedTime, true)
            }
        };
        query
    }

    /// This query string with another cursor.
    fn with_cursor(&self, cursor: &str) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("text", &self.text),
            ("tenant", &self.tenant),
            ("user", &self.user),
            ("created_by", &self.created_by),
            ("status", &self.status),
            ("expiry", &self.expiry),
            ("sort", &self.sort),
        ] {
            if !value.is_empty() {
                out.append_pair(name, value);
            }
        }
        out.append_pair("cursor", cursor);
        out.finish()
    }
}

fn search_form(filters: &Filters, problems: &Problems) -> Markup {
    let field = |id: &str, label: &str, value: &str| {
        let problem = problems.get(id);
        html! {
            div.field {
                label for=(id) { (label) }
                input id=(id) name=(id) type="search" value=(value) aria-describedby=(format!("{id}-error"));
                (field_error(id, problem))
            }
        }
    };
    html! {
        form.search method="get" action="/console/keys" role="search" aria-label="Search keys" {
            (field("text", "Text (name, id, description)", &filters.text))
            (field("tenant", "Tenant ids (comma-separated)", &filters.tenant))
            (field("user", "Bound user", &filters.user))
            (field("created_by", "Created by", &filters.created_by))
            (select("status", "Status", &filters.status, &[("", "any"), ("active", "active"), ("inactive", "inactive")], problems))
            (select("expiry", "Expiry", &filters.expiry, &[("", "any"), ("expired", "expired"), ("7d", "expired or expiring within 7 days"), ("30d", "expired or expiring within 30 days"), ("unexpired", "not expired")], problems))
            (select("sort", "Order", &filters.sort, &[("created-desc", "newest first"), ("created", "oldest first"), ("name", "name A to Z"), ("name-desc", "name Z to A")], problems))
            div.actions { button type="submit" { "Search" } a href="/console/keys" { "Clear" } }
            (general(problems))
        }
    }
}

/// `GET /console/keys`.
pub(crate) async fn list(
    State(state): State<AppState>,
    signed: Signed,
    query: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let filters = query.map(|Query(filters)| filters).unwrap_or_default();
    let mut problems = Problems::default();
    let search = filters.query(&mut problems);
    let (status, page) = if problems.is_empty() {
        match state.keys.search(search).await {
            Ok(page) => (StatusCode::OK, Some(page)),
            Err(error) => {
                let api = ApiError::from(error);
                problems.add("", api.message);
                (api.status, None)
            }
        }
    } else {
        (StatusCode::BAD_REQUEST, None)
    };
    let body = html! {
        div.title-row {
            h1 { "Access keys" }
            @if signed.writable() { a.button href="/console/keys/new" { "Create a key" } }
        }
        (search_form(&filters, &problems))
        @if let Some(page) = &page {
            @if page.items.is_empty() {
                p { "No key matches." }
            } @else {
                form method="post" action="/console/keys/batch" {
                    @if signed.writable() {
                        (csrf(&signed))
                        fieldset.batch {
                            legend { "With the selected keys" }
                            label.select-all hidden { input type="checkbox" data-select-all; " Select every key on this page" }
                            button type="submit" name="action" value="activate" { "Activate" }
                            button type="submit" name="action" value="deactivate" { "Deactivate" }
                            button.danger type="submit" name="action" value="delete" { "Delete" }
                        }
                    }
                    div.table-wrap {
                        table {
                            caption.visually-hidden { "Access keys" }
                            thead { tr {
                                @if signed.writable() { th scope="col" { span.visually-hidden { "Select" } } }
                                th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Tenants or roles" }
                                th scope="col" { "Bound user" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "Created by" }
                            } }
                            tbody {
                                @for key in &page.items {
                                    tr {
                                        @if signed.writable() {
                                            td { input type="checkbox" name="id" value=(key.id) aria-label=(format!("Select {}", key.name)); }
                                        }
                                        td { a href=(key_url(&key.id)) { (key.name) } br; code.muted { (key.id) } }
                                        td { span class=(format!("status {}", status_label(key.status))) { (status_label(key.status)) } }
                                        td { (access_summary(key)) }
                                        td { (key.bound_user_id.as_deref().unwrap_or("")) }
                                        td { (when(key.created_time)) }
                                        td { (expiry(key.expire_time)) }
                                        td { code { (key.created_by) } }
                                    }
                                }
                            }
                        }
                    }
                }
                nav.pages aria-label="Pages" {
                    @if !filters.cursor.is_empty() { a href=(format!("/console/keys?{}", filters.with_cursor("").trim_end_matches("&cursor="))) { "First page" } }
                    @if let Some(next) = &page.next_cursor { a href=(format!("/console/keys?{}", filters.with_cursor(next.as_str()))) { "Next page" } }
                }
            }
        }
    };
    (status, html_page(&Page::of("Access keys", &signed, "keys"), body)).into_response()
}

/// `POST /console/keys/batch`: first a confirmation saying how many, then one atomic call.
pub(crate) async fn batch(State(state): State<AppState>, change: Change) -> Response {
    let Change { signed, fields } = change;
    let ids = fields.all("id");
    let action = fields.get("action");
    let (verb, done_verb) = match action {
        "activate" => ("Activate", "activated"),
        "deactivate" => ("Deactivate", "deactivated"),
        "delete" => ("Delete", "deleted"),
        _ => return refusal(StatusCode::BAD_REQUEST, "Choose activate, deactivate or delete."),
    };
    if ids.is_empty() {
        signed.flash(
            &state,
            format!("Nothing was {done_verb}: select at least one key first."),
        );
        return Redirect::to("/console/keys").into_response();
    }
    let count = ids.len();
    let noun = if count == 1 { "key" } else { "keys" };
    if !fields.has("confirmed") {
        let question = html! {
            p { (verb) " " strong { (count) " " (noun) } "?" @if action == "delete" { " This cannot be undone." } }
            ul { @for id in &ids { li { code { (id) } } } }
        };
        let mut hidden: Vec<(&str, &str)> = ids.iter().map(|id| ("id", id.as_str())).collect();
        hidden.push(("action", action));
        hidden.push(("confirmed", "1"));
        return confirm_page(
            &signed,
            &Confirm {
                title: &format!("{verb} {count} {noun}"),
                section: "keys",
                action: "/console/keys/batch",
                hidden: &hidden,
                button: &format!("{verb} {count} {noun}"),
                back: "/console/keys",
            },
            question,
        );
    }
    let result = match action {
        "activate" => state.keys.activate_batch(ids).await,
        "deactivate" => state.keys.deactivate_batch(ids).await,
        _ => state.keys.delete_batch(ids).await,
    };
    match result {
        Ok(()) => done(
            &state,
            &signed,
            format!("{count} {noun} {done_verb}."),
            "/console/keys",
        ),
        Err(error) => {
            let api = ApiError::from(error);
            signed.flash(&state, format!("Nothing was {done_verb}: {}", api.message));
            Redirect::to("/console/keys").into_response()
        }
    }
}
