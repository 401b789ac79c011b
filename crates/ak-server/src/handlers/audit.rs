//! `/v1/mgmt/audit/{search,event}`: the audit trail in Descope's shapes. Search is a read (any
//! management key); recording an application's event needs write access.

use std::sync::Arc;

use ak::crates::core::audit::{AuditEvent, AuditQuery};
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::{Logged, reply, required};
use crate::auth::{ClientIp, Manager};
use crate::body::JsonBody;
use crate::config::MAX_SEARCH_RESULTS;
use crate::error::{ApiError, ErrorResponses};
use crate::state::AppState;
use crate::wire::{
    AuditEventRequest, AuditRecordResponse, AuditSearchRequest, AuditSearchResponse, EmptyResponse,
};

fn logged(manager: &Manager) -> Logged {
    Logged {
        key_id: None,
        caller: Some(manager.0.id.clone()),
    }
}

fn non_empty(values: Option<Vec<String>>) -> Vec<String> {
    values.unwrap_or_default()
}

/// Unix ms as a whole number: `from` rounds up and `to` down, so neither widens the range.
fn millis(value: Option<f64>, field: &str, round: fn(f64) -> f64) -> Result<Option<i64>, ApiError> {
    // Far beyond any real time, and well inside i64 and f64's exact integers.
    const LIMIT: f64 = 1.0e15;
    match value {
        None => Ok(None),
        Some(value) if value.is_finite() && value.abs() <= LIMIT => {
            // In range (checked above) and integral (rounded): the cast is exact.
            #[allow(clippy::cast_possible_truncation)]
            Ok(Some(round(value) as i64))
        }
        Some(_) => Err(ApiError::invalid(format!(
            "{field} must be a time in Unix milliseconds"
        ))),
    }
}

/// The filters the store applies; the rest are applied to each event by [`Extra`].
fn audit_query(body: &AuditSearchRequest) -> Result<AuditQuery, ApiError> {
    Ok(AuditQuery {
        key_ids: non_empty(body.user_ids.clone()),
        actions: non_empty(body.actions.clone()),
        excluded_actions: non_empty(body.excluded_actions.clone()),
        client_addresses: non_empty(body.remote_addresses.clone()),
        text: body.text.clone().filter(|t| !t.is_empty()),
        from: millis(body.from, "from", f64::ceil)?,
        to: millis(body.to, "to", f64::floor)?,
        limit: ak::limits::MAX_PAGE_SIZE,
        ..AuditQuery::default()
    })
}

/// Filters the store does not know: external ids, tenants, and the fields ak never records.
struct Extra {
    external_ids: Vec<String>,
    tenants: Vec<String>,
    /// With `tenants`: events concerning no tenant match too (the SDKs' `noTenants`).
    no_tenants: bool,
    /// A device, method or geo filter was given: no ak event has one.
    unmatchable: bool,
}

impl Extra {
    fn new(body: &AuditSearchRequest) -> Self {
        let mut external_ids = non_empty(body.login_ids.clone());
        external_ids.extend(non_empty(body.external_ids.clone()));
        let given = |values: &Option<Vec<String>>| values.as_ref().is_some_and(|v| !v.is_empty());
        Self {
            external_ids,
            tenants: non_empty(body.tenants.clone()),
            no_tenants: body.no_tenants.unwrap_or(false),
            unmatchable: given(&body.devices) || given(&body.methods) || given(&body.geos),
        }
    }

    fn matches(&self, event: &AuditEvent) -> bool {
        !self.unmatchable
            && (self.external_ids.is_empty() || event.key_ids.iter().any(|id| self.external_ids.contains(id)))
            && (self.tenants.is_empty()
                || event.tenants.iter().any(|t| self.tenants.contains(t))
                || (self.no_tenants && event.tenants.is_empty()))
    }
}

fn record(project_id: &str, event: AuditEvent) -> AuditRecordResponse {
    let mut data = event.data;
    data.entry("outcome")
        .or_insert_with(|| Value::from(event.outcome.as_str()));
    if let Some(reason) = event.reason {
        data.entry("reason").or_insert_with(|| Value::from(reason));
    }
    AuditRecordResponse {
        project_id: project_id.to_owned(),
        user_id: event.actor,
        action: event.action,
        occurred: event.occurred,
        device: String::new(),
        method: String::new(),
        geo: String::new(),
        remote_address: event.client_address.unwrap_or_default(),
        external_ids: event.key_ids,
        tenants: event.tenants,
        data,
    }
}

/// Search the audit trail, newest first (every match, at most 10 000). Events recorded before the
/// call are visible: queued events are written first.
#[utoipa::path(post, path = "/v1/mgmt/audit/search", tag = "audit",
    request_body(content = Option<AuditSearchRequest>, content_type = "application/json", description = "May be empty: every event"),
    security(("bearer" = [])),
    responses((status = 200, description = "The matching events", body = AuditSearchResponse), ErrorResponses))]
pub(crate) async fn search(
    State(state): State<AppState>,
    manager: Manager,
    JsonBody(body): JsonBody<AuditSearchRequest>,
) -> Response {
    let result = async {
        let mut query = audit_query(&body)?;
        let extra = Extra::new(&body);
        let keys = Arc::clone(state.keys.inner());
        let events = ak::run_blocking(move || {
            keys.flush_audit();
            let mut events = Vec::new();
            loop {
                let page = keys.search_audit(&query)?;
                events.extend(page.items.into_iter().filter(|event| extra.matches(event)));
                match page.next_cursor {
                    Some(cursor) if events.len() < MAX_SEARCH_RESULTS => query.cursor = Some(cursor),
                    _ => break,
                }
            }
            events.truncate(MAX_SEARCH_RESULTS);
            Ok::<_, ak::ManageError>(events)
        })
        .await?;
        Ok(AuditSearchResponse {
            audits: events
                .into_iter()
                .map(|event| record(&state.project_id, event))
                .collect(),
        })
    }
    .await;
    reply(logged(&manager), result)
}

/// The event an application asks to record, or 400.
fn application_event(
    body: AuditEventRequest,
    client: ClientIp,
    now_millis: i64,
) -> Result<AuditEvent, ApiError> {
    let action = required(body.action, "action")?;
    let event_type = required(body.event_type, "type")?;
    if !matches!(event_type.as_str(), "info" | "warn" | "error") {
        return Err(ApiError::invalid(format!(
            "type must be \"info\", \"warn\" or \"error\", not {event_type:?}"
        )));
    }
    let actor = required(body.actor_id, "actorId")?;
    let mut event = AuditEvent::new(action, actor, now_millis)
        .with_keys(body.user_id.filter(|u| !u.is_empty()))
        .with_client(client.0.map(|ip| ip.to_string()))
        .with_data("type", event_type);
    event.tenants = body.tenant_id.filter(|t| !t.is_empty()).into_iter().collect();
    for (name, value) in body.data.unwrap_or_default() {
        event.data.entry(name).or_insert(value);
    }
    Ok(event)
}

/// Record an application's own audit event (ak's own action names are refused with 400).
#[utoipa::path(post, path = "/v1/mgmt/audit/event", tag = "audit",
    request_body(content = AuditEventRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "Recorded", body = EmptyResponse), ErrorResponses))]
pub(crate) async fn event(
    State(state): State<AppState>,
    manager: Manager,
    client: ClientIp,
    JsonBody(body): JsonBody<AuditEventRequest>,
) -> Response {
    let result = async {
        manager.require_write()?;
        let keys = Arc::clone(state.keys.inner());
        let event = application_event(body, client, keys.manager().clock().now_millis())?;
        ak::run_blocking(move || keys.record_application_event(event)).await?;
        Ok(EmptyResponse {})
    }
    .await;
    reply(logged(&manager), result)
}
