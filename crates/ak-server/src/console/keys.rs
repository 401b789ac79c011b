//! Access keys: the table (search, sort, page, batch), create, a key's page (edit, activate,
//! deactivate, rotate, delete).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ak::{
    AccessKey, CreateKey, CreatedKey, ExpiryFilter, KeyStatus, ManageError, SearchQuery, SortField,
    UpdateKey, ValidationError,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::form::{Fields, Problems, entries, json_object, json_text, tenants, tenants_text};
use super::guard::{Change, Signed, refusal};
use super::layout::{Page, csrf, expiry, field_error, html_page, when};
use crate::config::CONSOLE_PAGE_SIZE;
use crate::error::ApiError;
use crate::state::AppState;

// --- shared widgets ------------------------------------------------------------------------------

/// A labelled one-line input with its help and its error.
fn input(id: &str, label: &str, value: &str, help: &str, problems: &Problems) -> Markup {
    let problem = problems.get(id);
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(id) type="text" value=(value)
                aria-describedby=(format!("{id}-help {id}-error")) aria-invalid=[problem.map(|_| "true")];
            p.help id=(format!("{id}-help")) { (help) }
            (field_error(id, problem))
        }
    }
}

/// A labelled textarea; `json` makes the script check it as a JSON object while typing.
fn textarea(id: &str, label: &str, value: &str, help: &str, json: bool, problems: &Problems) -> Markup {
    let problem = problems.get(id);
    html! {
        div.field {
            label for=(id) { (label) }
            textarea id=(id) name=(id) rows="3" data-json=[json.then_some("object")]
                aria-describedby=(format!("{id}-help {id}-error")) aria-invalid=[problem.map(|_| "true")] { (value) }
            p.help id=(format!("{id}-help")) { (help) }
            (field_error(id, problem))
        }
    }
}

/// The field of the form a facade error is about (`""`: the whole form).
fn field_of(error: &ManageError) -> &'static str {
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
fn problems_of(error: ManageError) -> (StatusCode, Problems) {
    let field = field_of(&error);
    let api = ApiError::from(error);
    let mut problems = Problems::default();
    problems.add(field, api.message);
    (api.status, problems)
}

fn general(problems: &Problems) -> Markup {
    html! { @if let Some(message) = problems.get("") { p.error role="alert" { (message) } } }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

fn status_label(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "active",
        _ => "inactive",
    }
}

fn access_summary(key: &AccessKey) -> Markup {
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

fn key_url(id: &str) -> String {
    format!(
        "/console/keys/{}",
        form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    )
}

// --- the table -----------------------------------------------------------------------------------

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

fn select(id: &str, label: &str, current: &str, options: &[(&str, &str)], problems: &Problems) -> Markup {
    let problem = problems.get(id);
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) aria-describedby=(format!("{id}-error")) aria-invalid=[problem.map(|_| "true")] {
                @for (value, text) in options {
                    option value=(value) selected[*value == current] { (text) }
                }
            }
            (field_error(id, problem))
        }
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

// --- create --------------------------------------------------------------------------------------

const EXPIRY_PRESETS: &[(&str, &str)] = &[
    ("never", "never"),
    ("1d", "in 1 day"),
    ("7d", "in 7 days"),
    ("30d", "in 30 days"),
    ("90d", "in 90 days"),
    ("365d", "in 1 year"),
    ("date", "on the date below"),
];

fn create_form(signed: &Signed, fields: &Fields, problems: &Problems) -> Markup {
    let expires = if fields.get("expires").is_empty() {
        "never"
    } else {
        fields.get("expires")
    };
    html! {
        h1 { "Create an access key" }
        form.card method="post" action="/console/keys" novalidate {
            (csrf(signed))
            (general(problems))
            (input("name", "Name (required)", fields.get("name"), "Shown in the table; up to 256 characters.", problems))
            (textarea("description", "Description", fields.get("description"), "Optional.", false, problems))
            (select("expires", "Expires", expires, EXPIRY_PRESETS, problems))
            div.field {
                label for="expire_date" { "Expiry date" }
                input #expire_date name="expire_date" type="date" value=(fields.get("expire_date")) aria-describedby="expire_date-help expire_date-error";
                p.help #expire_date-help { "Used when Expires is \u{201c}on the date below\u{201d}: the key expires at 00:00 UTC of that day." }
                (field_error("expire_date", problems.get("expire_date")))
            }
            (input("roles", "Project roles", fields.get("roles"), "Comma-separated. A key has project roles or tenants, not both.", problems))
            (textarea("tenants", "Tenants and their roles", fields.get("tenants"), "One tenant per line: \u{201c}tenant-id\u{201d} or \u{201c}tenant-id: role, role\u{201d}.", false, problems))
            (input("user", "Bound user id", fields.get("user"), "Optional: the key then acts for this user.", problems))
            (textarea("claims", "Custom claims (JSON object)", fields.get("claims"), "Added to every token the key yields, e.g. {\"team\": \"billing\"}.", true, problems))
            (textarea("attributes", "Custom attributes (JSON object)", fields.get("attributes"), "Your own searchable data; not put in tokens.", true, problems))
            (textarea("ips", "Permitted IPs", fields.get("ips"), "Addresses or CIDR ranges, one per line or comma-separated; empty allows any.", false, problems))
            div.actions { button type="submit" { "Create key" } a href="/console/keys" { "Cancel" } }
        }
    }
}

/// `GET /console/keys/new`.
pub(crate) async fn new_form(signed: Signed) -> Response {
    if !signed.writable() {
        return refusal(
            StatusCode::FORBIDDEN,
            "This management key is read-only: it cannot create keys.",
        );
    }
    html_page(
        &Page::of("Create a key", &signed, "keys"),
        create_form(&signed, &Fields::default(), &Problems::default()),
    )
}

fn expire_time(fields: &Fields, problems: &mut Problems) -> Option<i64> {
    let day = 24 * 3600;
    let days = match fields.get("expires") {
        "" | "never" => return None,
        "1d" => 1,
        "7d" => 7,
        "30d" => 30,
        "90d" => 90,
        "365d" => 365,
        "date" => {
            let format = time::format_description::parse_owned::<2>("[year]-[month]-[day]");
            let parsed = format
                .ok()
                .and_then(|format| time::Date::parse(fields.get("expire_date"), &format).ok());
            return match parsed.ok_or(()) {
                Ok(date) => Some(date.midnight().assume_utc().unix_timestamp()),
                Err(_) => {
                    problems.add(
                        "expire_date",
                        "enter a date (YYYY-MM-DD) for \u{201c}on the date below\u{201d}",
                    );
                    None
                }
            };
        }
        _ => {
            problems.add("expires", "choose one of the listed expiry presets");
            return None;
        }
    };
    Some(now() + days * day)
}

/// Parses the create form.
fn create_request(fields: &Fields, created_by: &str) -> Result<CreateKey, Problems> {
    let mut problems = Problems::default();
    let expire_time = expire_time(fields, &mut problems);
    let key_tenants = tenants(fields.get("tenants")).unwrap_or_else(|message| {
        problems.add("tenants", message);
        Vec::new()
    });
    let mut object = |name: &'static str| {
        json_object(fields.get(name)).unwrap_or_else(|message| {
            problems.add(name, message);
            serde_json::Map::new()
        })
    };
    let custom_claims = object("claims");
    let custom_attributes = object("attributes");
    if fields.get("name").is_empty() {
        problems.add("name", "a key needs a name");
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CreateKey {
        name: fields.get("name").to_owned(),
        description: Some(fields.get("description").to_owned()).filter(|d| !d.is_empty()),
        expire_time,
        role_names: entries(fields.get("roles")),
        key_tenants,
        user_id: Some(fields.get("user").to_owned()).filter(|u| !u.is_empty()),
        custom_claims,
        custom_attributes,
        permitted_ips: entries(fields.get("ips")),
        created_by: Some(created_by.to_owned()),
    })
}

/// The page that shows a cleartext, once.
fn cleartext_page(signed: &Signed, heading: &str, created: &CreatedKey) -> Response {
    let body = html! {
        h1 { (heading) }
        div.card {
            p.warning role="alert" { strong { "Copy the key now: this is the only time it is shown." } " ak keeps only a hash of it, so it cannot show it again." }
            label for="cleartext" { "Cleartext of \u{201c}" (created.key.name) "\u{201d}" }
            div.copy-row {
                input #cleartext type="text" readonly value=(created.cleartext.expose_secret()) autocomplete="off" spellcheck="false";
                button type="button" data-copy="cleartext" hidden { "Copy" }
            }
            p #copy-status .help aria-live="polite" {}
            p { "Clients send it as " code { "Authorization: Bearer <projectId>:<key>" } " to " code { "/v1/auth/accesskey/exchange" } "." }
            p { a href=(key_url(&created.key.id)) { "Go to the key" } " · " a href="/console/keys" { "Back to the keys" } }
        }
    };
    html_page(&Page::of(heading, signed, "keys"), body)
}

/// `POST /console/keys`: create; the answer shows the cleartext.
pub(crate) async fn create(State(state): State<AppState>, change: Change) -> Response {
    let Change { signed, fields } = change;
    let (status, problems) = match create_request(&fields, &signed.key.id) {
        Ok(request) => match state.keys.create(request).await {
            Ok(created) => return cleartext_page(&signed, "Key created", &created),
            Err(error) => problems_of(error),
        },
        Err(problems) => (StatusCode::BAD_REQUEST, problems),
    };
    (
        status,
        html_page(
            &Page::of("Create a key", &signed, "keys"),
            create_form(&signed, &fields, &problems),
        ),
    )
        .into_response()
}

// --- a key's page --------------------------------------------------------------------------------

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

fn done(state: &AppState, signed: &Signed, message: String, to: &str) -> Response {
    signed.flash(state, message);
    Redirect::to(to).into_response()
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

/// What a confirmation page asks for and where its answer goes.
#[derive(Debug)]
pub(crate) struct Confirm<'a> {
    /// The page's title and heading.
    pub(crate) title: &'a str,
    /// The navigation section it belongs to.
    pub(crate) section: &'a str,
    /// Where the confirming POST goes.
    pub(crate) action: &'a str,
    /// The hidden fields it carries.
    pub(crate) hidden: &'a [(&'a str, &'a str)],
    /// The confirming button's words.
    pub(crate) button: &'a str,
    /// Where Cancel leads.
    pub(crate) back: &'a str,
}

/// A page asking to confirm `question`.
pub(crate) fn confirm_page(signed: &Signed, confirm: &Confirm<'_>, question: Markup) -> Response {
    let Confirm {
        title,
        section,
        action,
        hidden,
        button,
        back,
    } = *confirm;
    let body = html! {
        h1 { (title) }
        form.card method="post" action=(action) {
            (csrf(signed))
            @for (name, value) in hidden { input type="hidden" name=(name) value=(value); }
            (question)
            div.actions { button.danger type="submit" { (button) } a href=(back) { "Cancel" } }
        }
    };
    html_page(&Page::of(title, signed, section), body)
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
