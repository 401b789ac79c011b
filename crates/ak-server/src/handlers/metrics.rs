//! `GET /metrics`: counters in the Prometheus text format, for any management key.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::Logged;
use crate::auth::Manager;
use crate::error::ErrorResponses;
use crate::state::AppState;

/// The content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counters of what the server could not keep: audit events dropped (a full queue, or a store
/// that failed every attempt) and last uses dropped. Any management key, read-only included, may
/// read them (Prometheus sends it as `Authorization: Bearer <projectId>:<key>`).
#[utoipa::path(get, path = "/metrics", tag = "meta",
    security(("bearer" = [])),
    responses((status = 200, description = "Counters in the Prometheus text format", content_type = "text/plain", body = String), ErrorResponses))]
pub(crate) async fn metrics(State(state): State<AppState>, manager: Manager) -> Response {
    let keys = state.keys.inner();
    let body = exposition(&[
        Counter {
            name: "ak_audit_events_dropped_total",
            help: "Audit events dropped: the queue was full, or the store failed every attempt.",
            value: keys.audit_events_dropped(),
        },
        Counter {
            name: "ak_key_uses_dropped_total",
            help: "Last uses not kept: too many distinct keys waiting for the next write.",
            value: keys.key_uses_dropped(),
        },
    ]);
    let mut response = ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], body).into_response();
    response.extensions_mut().insert(Logged {
        key_id: None,
        caller: Some(manager.0.id),
    });
    response
}

/// One monotonically increasing counter.
struct Counter {
    name: &'static str,
    help: &'static str,
    value: u64,
}

/// The text exposition of `counters`: `# HELP`, `# TYPE` and the value of each.
fn exposition(counters: &[Counter]) -> String {
    counters
        .iter()
        .map(|counter| {
            format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n",
                name = counter.name,
                help = counter.help,
                value = counter.value
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_counter_has_help_type_and_value() {
        let text = exposition(&[
            Counter {
                name: "a_total",
                help: "A.",
                value: 3,
            },
            Counter {
                name: "b_total",
                help: "B.",
                value: 0,
            },
        ]);
        assert_eq!(
            text,
            "# HELP a_total A.\n# TYPE a_total counter\na_total 3\n# HELP b_total B.\n# TYPE b_total counter\nb_total 0\n"
        );
    }
}
