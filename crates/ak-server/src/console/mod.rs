//! The admin console under `/console`: server-rendered HTML over the same facade and
//! management keys as the JSON API.
//!
//! * Pages are [maud](https://maud.lambda.xyz) templates, checked at compile time; the one
//!   stylesheet and the one script are compiled into the binary (`include_str!`). No build step,
//!   no CDN, no request leaves the origin: every page carries [`CSP`].
//! * Sign-in takes a management key once (POST form), checked by the API's own management-key
//!   authentication, rate limit included; the browser then holds a session cookie (see
//!   [`session`]).
//! * Every state-changing form is a POST that must come from this origin (`Origin`, else
//!   `Referer`) and carry the session's CSRF token; a read-only key is refused (403) whatever
//!   it sends.
//! * A cleartext appears only in the answer to the create or rotate POST (no redirect, no URL),
//!   and every console answer is `Cache-Control: no-store`.

mod admin;
mod assets;
mod form;
mod guard;
mod keys;
mod layout;
pub(crate) mod session;
mod signing;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::state::AppState;

/// The console's Content-Security-Policy: only this origin's script and stylesheet, no inline
/// code, no frames, forms that post only here.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes (merged into the server's router).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/keys") }))
        .route("/console/", get(|| async { Redirect::to("/console/keys") }))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/console.js", get(assets::js))
        .route("/console/sign-in", get(guard::sign_in_page).post(guard::sign_in))
        .route("/console/sign-out", post(guard::sign_out))
        .route("/console/keys", get(keys::list).post(keys::create))
        .route("/console/keys/new", get(keys::new_form))
        .route("/console/keys/batch", post(keys::batch))
        .route("/console/keys/{id}", get(keys::show))
        .route("/console/keys/{id}/edit", post(keys::edit))
        .route("/console/keys/{id}/activate", post(keys::activate))
        .route("/console/keys/{id}/deactivate", post(keys::deactivate))
        .route("/console/keys/{id}/rotate", post(keys::rotate))
        .route(
            "/console/keys/{id}/delete",
            get(keys::delete_confirm).post(keys::delete),
        )
        .route("/console/management-keys", get(admin::list).post(admin::create))
        .route(
            "/console/management-keys/{id}/revoke",
            get(admin::revoke_confirm).post(admin::revoke),
        )
        .route("/console/signing-keys", get(signing::page))
        .route("/console/signing-keys/rotate", post(signing::rotate))
        .route(
            "/console/signing-keys/{kid}/retire",
            get(signing::retire_confirm).post(signing::retire),
        )
        .route("/console/{*rest}", get(not_found))
        .route_layer(middleware::from_fn(headers))
}

/// Any other console address: a page, not the API's JSON 404.
async fn not_found() -> Response {
    guard::refusal(
        axum::http::StatusCode::NOT_FOUND,
        "There is no console page at this address.",
    )
}

/// The security headers of every console answer.
async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}
