//! Who is signed in: sign-in, sign-out, and the checks every console request passes.

use std::sync::Arc;

use ak::ManagementKey;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use zeroize::Zeroizing;

use super::form::Fields;
use super::layout::{Page, field_error, html_page};
use super::session::{self, Session};
use crate::auth::{ClientIp, authenticate_management};
use crate::error::ApiError;
use crate::serve::Transport;
use crate::state::AppState;

/// A signed-in browser: its session and its management key as the store has it now.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    cookie: Arc<Zeroizing<String>>,
    pub(crate) session: Session,
    pub(crate) key: ManagementKey,
}

impl Signed {
    /// Whether this key may change things.
    pub(crate) fn writable(&self) -> bool {
        !self.key.read_only
    }

    /// Leaves a message for the next page.
    pub(crate) fn flash(&self, state: &AppState, message: impl Into<String>) {
        state.console.flash(&self.cookie, message.into());
    }
}

fn to_sign_in() -> Response {
    Redirect::to("/console/sign-in").into_response()
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let cookie = session::from_cookie_header(&parts.headers).ok_or_else(to_sign_in)?;
        let session = state.console.touch(&cookie).ok_or_else(to_sign_in)?;
        // The key may have been deleted since sign-in (on any node): read it on every request.
        let management = Arc::clone(&state.management);
        let id = session.key_id.clone();
        let stored = tokio::task::spawn_blocking(move || management.store().get_management_key(&id))
            .await
            .map_err(|error| error_page(&ApiError::internal(&error)))?
            .map_err(|error| error_page(&ApiError::internal(&error)))?;
        let Some(record) = stored else {
            state.console.end(&cookie);
            return Err(to_sign_in());
        };
        Ok(Self {
            cookie: Arc::new(cookie),
            session,
            key: record.key,
        })
    }
}

/// A state-changing form from a signed-in, writable key: from this origin, with the session's
/// CSRF token. Anything else is refused with a page that says why.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) signed: Signed,
    pub(crate) fields: Fields,
}

impl FromRequest<AppState> for Change {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let same_origin = same_origin(&parts.headers);
        let fields = Fields::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|error| error_page(&error))?;
        if !same_origin {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "This form did not come from this console (its Origin or Referer is another site), so nothing was changed.",
            ));
        }
        if !signed.session.csrf_matches(fields.get("csrf")) {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "This form is from an older session (its security token does not match), so nothing was changed. Reload the page and try again.",
            ));
        }
        if !signed.writable() {
            return Err(refusal(
                StatusCode::FORBIDDEN,
                "This management key is read-only: it can look at everything but change nothing.",
            ));
        }
        Ok(Self { signed, fields })
    }
}

/// Whether the request's `Origin` (else `Referer`) names the host it was sent to. A request
/// with neither is refused: browsers send `Origin` with every form POST.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let authority = |url: &str| -> Option<String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        Some(rest.split('/').next().unwrap_or("").to_ascii_lowercase())
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok());
    source
        .and_then(authority)
        .is_some_and(|authority| authority == host.to_ascii_lowercase())
}

/// A whole page that says why a request was refused.
pub(crate) fn refusal(status: StatusCode, message: &str) -> Response {
    let body = html! {
        h1 { "Not done" }
        p.error role="alert" { (message) }
        p { a href="/console/keys" { "Back to the keys" } }
    };
    (status, html_page(&Page::bare("Not done"), body)).into_response()
}

/// A page for an unexpected error (the store failed, ...).
pub(crate) fn error_page(error: &ApiError) -> Response {
    refusal(error.status, &error.message)
}

fn sign_in_form(message: Option<&str>) -> maud::Markup {
    html! {
        h1 { "Sign in to the ak console" }
        form.card method="post" action="/console/sign-in" {
            label for="key" { "Management key" }
            input #key type="password" name="key" required autocomplete="off" spellcheck="false"
                aria-describedby="key-help key-error" aria-invalid=[message.map(|_| "true")];
            p #key-help .help { "The cleartext of a management key (" code { "ak management-key create" } "). It is sent once; the browser then keeps only a session cookie." }
            (field_error("key", message))
            button type="submit" { "Sign in" }
        }
    }
}

/// `GET /console/sign-in`.
pub(crate) async fn sign_in_page() -> Response {
    html_page(&Page::bare("Sign in"), sign_in_form(None)).into_response()
}

fn secure(parts_extensions: &axum::http::Extensions) -> bool {
    parts_extensions.get::<Transport>().is_some_and(|t| t.tls)
}

/// `POST /console/sign-in`: the management key, checked like every management call.
pub(crate) async fn sign_in(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let ip = ClientIp::from_request_parts(&mut parts, &state)
        .await
        .unwrap_or(ClientIp(None));
    let tls = secure(&parts.extensions);
    let origin_ok = same_origin(&parts.headers);
    let fields = match Fields::from_request(Request::from_parts(parts, body), &state).await {
        Ok(fields) => fields,
        Err(error) => return error_page(&error),
    };
    if !origin_ok {
        return refusal(
            StatusCode::FORBIDDEN,
            "This sign-in form did not come from this console, so it was ignored.",
        );
    }
    let presented = fields.get("key");
    // Accept the `<projectId>:<key>` form the SDKs use too.
    let presented = presented
        .strip_prefix(state.project_id.as_str())
        .and_then(|rest| rest.strip_prefix(':'))
        .unwrap_or(presented);
    let secret = Some(Zeroizing::new(presented.to_owned())).filter(|secret| !secret.is_empty());
    match authenticate_management(&state, ip, secret).await {
        Ok(key) => match state.console.start(key.id) {
            Ok(id) => {
                let mut response = Redirect::to("/console/keys").into_response();
                if let Ok(value) = session::cookie(&id, tls).parse() {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                }
                response
            }
            Err(error) => error_page(&ApiError::internal(&error)),
        },
        Err(error) => {
            let message = match error.status {
                StatusCode::UNAUTHORIZED => {
                    "That management key was not accepted: it is wrong, or it was revoked. Check it and try again.".to_owned()
                }
                StatusCode::TOO_MANY_REQUESTS => format!(
                    "Too many failed sign-ins from your address: try again in {} s.",
                    error.retry_after.unwrap_or(1)
                ),
                _ => error.message.clone(),
            };
            (
                error.status,
                html_page(&Page::bare("Sign in"), sign_in_form(Some(&message))),
            )
                .into_response()
        }
    }
}

/// `POST /console/sign-out`: ends the session at once; the cookie is refused from now on.
pub(crate) async fn sign_out(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let tls = secure(&parts.extensions);
    let origin_ok = same_origin(&parts.headers);
    let cookie = session::from_cookie_header(&parts.headers);
    let fields = match Fields::from_request(Request::from_parts(parts, body), &state).await {
        Ok(fields) => fields,
        Err(error) => return error_page(&error),
    };
    if let Some(cookie) = cookie {
        let csrf_ok = state
            .console
            .touch(&cookie)
            .is_some_and(|session| session.csrf_matches(fields.get("csrf")));
        if !(origin_ok && csrf_ok) {
            return refusal(
                StatusCode::FORBIDDEN,
                "This sign-out form did not come from your session, so you are still signed in.",
            );
        }
        state.console.end(&cookie);
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    if let Ok(value) = session::removal(tls).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
