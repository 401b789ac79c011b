//! Creating a key; the answer shows its cleartext, once.

use ak::{CreateKey, CreatedKey};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::{key_url, now, problems_of};
use crate::console::form::{Fields, Problems, entries, json_object, tenants};
use crate::console::guard::{Change, Signed, refusal};
use crate::console::layout::{Page, csrf, field_error, general, html_page, input, select, textarea};
use crate::state::AppState;

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
pub(super) fn cleartext_page(signed: &Signed, heading: &str, created: &CreatedKey) -> Response {
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
