//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::handlers::{audit, exchange, management, metrics, public, webhook};

/// The API description served at `GET /openapi.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "ak",
        description = "Descope's access-key API, served by ak. Authenticate with `Authorization: Bearer <projectId>:<managementKey>` (management) or `Bearer <projectId>:<accessKey>` (exchange)."
    ),
    paths(
        management::create,
        management::load,
        management::search,
        management::update,
        management::activate,
        management::activate_batch,
        management::deactivate,
        management::deactivate_batch,
        management::delete,
        management::delete_batch,
        management::rotate,
        management::license,
        audit::search,
        audit::event,
        webhook::create,
        webhook::list,
        webhook::delete,
        exchange::exchange,
        public::jwks,
        public::healthz,
        metrics::metrics,
        public::openapi,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("<projectId>:<key>")
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use ak::limits::{
        MAX_AUDIT_ACTION_CHARS, MAX_AUDIT_FILTER_VALUES, MAX_BATCH_IDS, MAX_DESCRIPTION_CHARS, MAX_ID_CHARS,
        MAX_NAME_CHARS, MAX_PERMITTED_IPS, MAX_ROLES, MAX_SEARCH_TEXT_CHARS, MAX_TENANTS,
    };
    use serde_json::{Value, json};

    use super::*;

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    match (key.as_str(), item) {
                        ("$ref", Value::String(target)) => out.push(target),
                        _ => refs(item, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut targets = Vec::new();
        refs(&doc, &mut targets);
        assert!(targets.contains(&"#/components/schemas/ErrorBody"));
        for target in targets {
            let name = target.strip_prefix("#/components/schemas/").expect(target);
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{target} does not resolve"
            );
        }
    }

    /// The limits the document declares are the ones `ak_core::validate` enforces.
    #[test]
    fn declared_limits_are_the_enforced_ones() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let field = |schema: &str, name: &str| schemas[schema]["properties"][name].clone();
        let cases = [
            ("CreateRequest", "name", "maxLength", MAX_NAME_CHARS),
            ("CreateRequest", "description", "maxLength", MAX_DESCRIPTION_CHARS),
            ("CreateRequest", "userId", "maxLength", MAX_ID_CHARS),
            ("CreateRequest", "roleNames", "maxItems", MAX_ROLES),
            ("CreateRequest", "keyTenants", "maxItems", MAX_TENANTS),
            ("CreateRequest", "permittedIps", "maxItems", MAX_PERMITTED_IPS),
            ("UpdateRequest", "id", "maxLength", MAX_ID_CHARS),
            ("UpdateRequest", "name", "maxLength", MAX_NAME_CHARS),
            ("UpdateRequest", "description", "maxLength", MAX_DESCRIPTION_CHARS),
            ("UpdateRequest", "roleNames", "maxItems", MAX_ROLES),
            ("UpdateRequest", "keyTenants", "maxItems", MAX_TENANTS),
            ("UpdateRequest", "permittedIps", "maxItems", MAX_PERMITTED_IPS),
            ("TenantRequest", "tenantId", "maxLength", MAX_ID_CHARS),
            ("TenantRequest", "roleNames", "maxItems", MAX_ROLES),
            ("IdRequest", "id", "maxLength", MAX_ID_CHARS),
            ("IdsRequest", "ids", "maxItems", MAX_BATCH_IDS),
            ("SearchRequest", "tenantIds", "maxItems", MAX_TENANTS),
            ("SearchRequest", "text", "maxLength", MAX_SEARCH_TEXT_CHARS),
            (
                "AuditSearchRequest",
                "userIds",
                "maxItems",
                MAX_AUDIT_FILTER_VALUES,
            ),
            (
                "AuditSearchRequest",
                "actions",
                "maxItems",
                MAX_AUDIT_FILTER_VALUES,
            ),
            (
                "AuditSearchRequest",
                "excludedActions",
                "maxItems",
                MAX_AUDIT_FILTER_VALUES,
            ),
            (
                "AuditSearchRequest",
                "remoteAddresses",
                "maxItems",
                MAX_AUDIT_FILTER_VALUES,
            ),
            ("AuditSearchRequest", "text", "maxLength", MAX_SEARCH_TEXT_CHARS),
            ("AuditEventRequest", "action", "maxLength", MAX_AUDIT_ACTION_CHARS),
            ("AuditEventRequest", "actorId", "maxLength", MAX_ID_CHARS),
        ];
        for (schema, name, keyword, limit) in cases {
            assert_eq!(
                field(schema, name)[keyword],
                json!(limit),
                "{schema}.{name} {keyword}"
            );
        }
        for (schema, required) in [
            ("CreateRequest", "name"),
            ("UpdateRequest", "id"),
            ("UpdateRequest", "name"),
            ("IdRequest", "id"),
            ("IdsRequest", "ids"),
            ("AuditEventRequest", "action"),
            ("AuditEventRequest", "type"),
            ("AuditEventRequest", "actorId"),
        ] {
            let list = schemas[schema]["required"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                list.contains(&json!(required)),
                "{schema}.{required} not required"
            );
        }
        let load = &doc["paths"]["/v1/mgmt/accesskey"]["get"]["parameters"][0];
        assert_eq!(
            (load["required"].clone(), load["schema"]["maxLength"].clone()),
            (json!(true), json!(MAX_ID_CHARS))
        );
    }
}
