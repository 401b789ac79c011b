//! The frame every page shares, and small pieces the pages reuse.

use std::sync::LazyLock;

use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::format_description::OwnedFormatItem;

use super::form::Problems;
use super::guard::Signed;

/// What the frame needs to know about a page.
#[derive(Debug)]
pub(crate) struct Page<'a> {
    title: &'a str,
    signed: Option<&'a Signed>,
    /// Which navigation entry is current.
    section: &'a str,
}

impl<'a> Page<'a> {
    /// A page with no navigation (sign-in, refusals).
    pub(crate) fn bare(title: &'a str) -> Self {
        Self {
            title,
            signed: None,
            section: "",
        }
    }

    /// A page of a signed-in section (`keys`, `management`, `signing`).
    pub(crate) fn of(title: &'a str, signed: &'a Signed, section: &'a str) -> Self {
        Self {
            title,
            signed: Some(signed),
            section,
        }
    }
}

/// The whole document around `body`.
pub(crate) fn html_page(page: &Page<'_>, body: Markup) -> Response {
    let nav = [
        ("keys", "/console/keys", "Access keys"),
        ("management", "/console/management-keys", "Management keys"),
        ("signing", "/console/signing-keys", "Signing keys"),
    ];
    let document = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · ak console" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    span.brand { "ak console" }
                    @if let Some(signed) = page.signed {
                        nav aria-label="Sections" {
                            ul {
                                @for (section, href, label) in nav {
                                    li { a href=(href) aria-current=[(section == page.section).then_some("page")] { (label) } }
                                }
                            }
                        }
                        div.who {
                            span { "Signed in as " strong { (signed.key.name) } @if !signed.writable() { " (read-only)" } }
                            form method="post" action="/console/sign-out" {
                                (csrf(signed))
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main {
                    @if let Some(signed) = page.signed
                        && let Some(message) = &signed.session.flash {
                        p.flash role="status" { (message) }
                    }
                    (body)
                }
            }
        }
    };
    Html(document.into_string()).into_response()
}

/// The hidden CSRF field of a state-changing form.
pub(crate) fn csrf(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.session.csrf); }
}

/// The error shown under field `id` (referenced by its `aria-describedby="<id>-error"`).
pub(crate) fn field_error(id: &str, message: Option<&str>) -> Markup {
    html! {
        p.field-error id=(format!("{id}-error")) role=[message.map(|_| "alert")] {
            @if let Some(message) = message { (message) }
        }
    }
}

static WHEN: LazyLock<OwnedFormatItem> = LazyLock::new(|| {
    time::format_description::parse_owned::<2>("[year]-[month]-[day] [hour]:[minute] UTC")
        .unwrap_or_else(|_| OwnedFormatItem::Compound(Box::new([])))
});

/// Unix seconds as `2026-12-01 10:30 UTC`.
pub(crate) fn when(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|time| time.format(&*WHEN).ok())
        .unwrap_or_else(|| seconds.to_string())
}

/// An expiry for people: the time, or "never".
pub(crate) fn expiry(expire_time: Option<i64>) -> String {
    expire_time.map_or_else(|| "never".to_owned(), when)
}

/// A labelled one-line input with its help and its error.
pub(crate) fn input(id: &str, label: &str, value: &str, help: &str, problems: &Problems) -> Markup {
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
pub(crate) fn textarea(
    id: &str,
    label: &str,
    value: &str,
    help: &str,
    json: bool,
    problems: &Problems,
) -> Markup {
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

pub(crate) fn select(
    id: &str,
    label: &str,
    current: &str,
    options: &[(&str, &str)],
    problems: &Problems,
) -> Markup {
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

pub(crate) fn general(problems: &Problems) -> Markup {
    html! { @if let Some(message) = problems.get("") { p.error role="alert" { (message) } } }
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
