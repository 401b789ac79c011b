//! Request and response bodies, with Descope's field names. The OpenAPI document is generated
//! from these types, so it describes exactly what the handlers read and write.
//!
//! Every request field is optional at the JSON level: `null` and absent mean "not set", as the
//! Python SDK sends `null` for every unset field and Node omits them. Required fields are checked
//! by the handlers (400 `E011002`).

use ak::{AccessKey, KeyTenant};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Unix seconds as a JSON number or a numeric string (proto3-JSON int64, as .NET sends).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum UnixSeconds {
    /// A number.
    Number(i64),
    /// A string of decimal digits.
    Text(String),
}

impl UnixSeconds {
    /// The value, or 400 when the string is not an integer.
    pub(crate) fn seconds(&self) -> Result<i64, ApiError> {
        match self {
            Self::Number(seconds) => Ok(*seconds),
            Self::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| ApiError::bad_request("expireTime must be an integer (Unix seconds)")),
        }
    }
}

/// A tenant of a key in a request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantRequest {
    /// The tenant id.
    #[schema(min_length = 1, max_length = 128)]
    pub tenant_id: String,
    /// The key's roles in the tenant.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub role_names: Option<Vec<String>>,
}

impl From<TenantRequest> for KeyTenant {
    fn from(tenant: TenantRequest) -> Self {
        Self {
            tenant_id: tenant.tenant_id,
            role_names: tenant.role_names.unwrap_or_default(),
        }
    }
}

/// `POST /v1/mgmt/accesskey/create`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequest {
    /// The key's name (required).
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 256)]
    pub name: Option<String>,
    /// Expiry in Unix seconds; `0` or absent for never.
    #[serde(default)]
    pub expire_time: Option<UnixSeconds>,
    /// Project-level roles.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub role_names: Option<Vec<String>>,
    /// Tenants and the key's roles in each.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub key_tenants: Option<Vec<TenantRequest>>,
    /// Bind the key to this user.
    #[serde(default)]
    #[schema(max_length = 128)]
    pub user_id: Option<String>,
    /// Claims for the top level of every token of the key.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_claims: Option<Map<String, Value>>,
    /// A description.
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    /// Allowed client IPs and CIDR ranges; empty allows any.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub permitted_ips: Option<Vec<String>>,
    /// The application's own attributes.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<Map<String, Value>>,
}

/// `POST /v1/mgmt/accesskey/update`: absent or `null` keeps a field, an empty value clears it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRequest {
    /// The key (required).
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    pub id: Option<String>,
    /// The new name (required).
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 256)]
    pub name: Option<String>,
    /// New description.
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    /// New project roles.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub role_names: Option<Vec<String>>,
    /// New tenants.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub key_tenants: Option<Vec<TenantRequest>>,
    /// New custom claims.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_claims: Option<Map<String, Value>>,
    /// New permitted IPs.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub permitted_ips: Option<Vec<String>>,
    /// New custom attributes.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<Map<String, Value>>,
}

/// `{"id": ...}`: activate, deactivate, delete, rotate.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct IdRequest {
    /// The key (required).
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    pub id: Option<String>,
}

/// `{"ids": [...]}`: the batches (1..=1000 ids).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct IdsRequest {
    /// The keys (required, non-empty).
    #[serde(default)]
    #[schema(value_type = Vec<String>, required = true, min_items = 1, max_items = 1000)]
    pub ids: Option<Vec<String>>,
}

/// One sort criterion of a search.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SortRequest {
    /// `createdTime` or `name`.
    pub field: String,
    /// Descending order.
    #[serde(default)]
    pub desc: Option<bool>,
}

/// `POST /v1/mgmt/accesskey/search`; an empty body is `{}` (every key).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// Keys in any of these tenants.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub tenant_ids: Option<Vec<String>>,
    /// Keys bound to this user.
    #[serde(default)]
    pub bound_user_id: Option<String>,
    /// Keys created by this principal.
    #[serde(default)]
    pub creating_user: Option<String>,
    /// Keys whose custom attributes include all of these.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<Map<String, Value>>,
    /// Keys whose name or description contains this text.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub text: Option<String>,
    /// Sort order (the first criterion is used).
    #[serde(default)]
    pub sort: Option<Vec<SortRequest>>,
    /// Keys never used, or last used before this time (Unix seconds): stale keys.
    #[serde(default)]
    pub not_used_since: Option<i64>,
    /// Keys that expire before this time (Unix seconds); keys that never expire do not match.
    #[serde(default)]
    pub expires_before: Option<i64>,
}

/// `loginOptions` of an exchange.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginOptions {
    /// Claims placed under the token's `nsec` claim.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_claims: Option<Map<String, Value>>,
    /// One of the key's tenants; it becomes the token's `dct`.
    #[serde(default)]
    pub selected_tenant: Option<String>,
}

/// `POST /v1/auth/accesskey/exchange`; an empty body is `{}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeRequest {
    /// Options of this exchange.
    #[serde(default)]
    pub login_options: Option<LoginOptions>,
}

/// A tenant of a key in a response (`tenantName` is always `""`: ak keeps no tenant names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantResponse {
    /// The tenant id.
    pub tenant_id: String,
    /// The tenant's name (`""`).
    pub tenant_name: String,
    /// The key's roles in the tenant.
    pub role_names: Vec<String>,
}

/// Descope's `AccessKey` object. Every field is always present; empty values are explicit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyResponse {
    /// Key id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description (`""` when none).
    pub description: String,
    /// Project-level roles.
    pub role_names: Vec<String>,
    /// Tenants with the key's roles.
    pub key_tenants: Vec<TenantResponse>,
    /// `active` or `inactive`.
    pub status: String,
    /// Creation time, Unix seconds.
    pub created_time: i64,
    /// Expiry, Unix seconds; `0` = never.
    pub expire_time: i64,
    /// Who created it (the management key id for keys created over HTTP).
    pub created_by: String,
    /// Always `""` (Descope's meaning is undocumented).
    pub client_id: String,
    /// The bound user (`""` when none).
    pub bound_user_id: String,
    /// Claims for the top level of every token.
    #[schema(value_type = Object)]
    pub custom_claims: Map<String, Value>,
    /// The application's own attributes.
    #[schema(value_type = Object)]
    pub custom_attributes: Map<String, Value>,
    /// Allowed client addresses; empty allows any.
    pub permitted_ips: Vec<String>,
    /// Always `true`.
    pub editable: bool,
    /// When the key was last exchanged (Unix seconds, to the minute); absent when never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_time: Option<i64>,
    /// The client address of the last exchange; absent when never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ip: Option<String>,
}

impl From<AccessKey> for AccessKeyResponse {
    fn from(key: AccessKey) -> Self {
        Self {
            status: key.status.as_str().to_owned(),
            key_tenants: key
                .key_tenants
                .into_iter()
                .map(|tenant| TenantResponse {
                    tenant_id: tenant.tenant_id,
                    tenant_name: String::new(),
                    role_names: tenant.role_names,
                })
                .collect(),
            id: key.id,
            name: key.name,
            description: key.description,
            role_names: key.role_names,
            created_time: key.created_time,
            expire_time: key.expire_time.unwrap_or(0),
            created_by: key.created_by,
            client_id: String::new(),
            bound_user_id: key.bound_user_id.unwrap_or_default(),
            custom_claims: key.custom_claims,
            custom_attributes: key.custom_attributes,
            permitted_ips: key.permitted_ips,
            editable: true,
            last_used_time: key.last_used_time,
            last_used_ip: key.last_used_ip,
        }
    }
}

/// Create and rotate: the cleartext (shown this once) and the key.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreatedResponse {
    /// The cleartext access key. Stored nowhere.
    pub cleartext: String,
    /// The key.
    pub key: AccessKeyResponse,
}

impl std::fmt::Debug for CreatedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedResponse")
            .field("cleartext", &"[redacted]")
            .field("key", &self.key)
            .finish()
    }
}

impl Drop for CreatedResponse {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.cleartext);
    }
}

/// Load and update: one key.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyResponse {
    /// The key.
    pub key: AccessKeyResponse,
}

/// Search: the keys.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeysResponse {
    /// The matching keys.
    pub keys: Vec<AccessKeyResponse>,
}

/// `{}`: activate, deactivate, delete and the batches.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EmptyResponse {}

/// The exchange answer.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeResponseBody {
    /// The key id (the token's `sub`).
    pub key_id: String,
    /// The session token (EdDSA JWT).
    pub session_jwt: String,
    /// When it expires, Unix seconds.
    pub expiration: i64,
}

/// Moves the key id and the token over: the body is the only copy of the bearer token, none is
/// left behind in freed memory by a clone.
impl From<ak::ExchangeResponse> for ExchangeResponseBody {
    fn from(response: ak::ExchangeResponse) -> Self {
        Self {
            key_id: response.key_id,
            session_jwt: response.session_jwt,
            expiration: response.expiration,
        }
    }
}

impl std::fmt::Debug for ExchangeResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeResponseBody")
            .field("key_id", &self.key_id)
            .field("session_jwt", &"[redacted]")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// One public key (RFC 8037 Ed25519 JWK).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JwkResponse {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// Key id (the JWT header's `kid`).
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// The JWKS.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JwksResponse {
    /// The verification keys.
    pub keys: Vec<JwkResponse>,
}

/// The license handshake answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LicenseResponse {
    /// The rate-limit tier (always `ak`).
    pub rate_limit_tier: String,
}

/// The health check answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// `ok`.
    pub status: String,
}

/// `POST /v1/mgmt/webhook/create`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct WebhookCreateRequest {
    /// Where events are POSTed: http or https, at most 2048 characters, no user:password@
    /// (required).
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    /// Action names, or prefixes ending in `.*`, to deliver (at most 32); empty or absent: every
    /// action.
    #[serde(default)]
    #[schema(max_items = 32)]
    pub actions: Option<Vec<String>>,
}

/// One webhook (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    /// The webhook id.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The action filter; empty: every action.
    pub actions: Vec<String>,
    /// When it was added (Unix seconds).
    pub created_time: i64,
    /// The management key that added it (`""` when unknown).
    pub created_by: String,
}

/// The webhook just added and its signing secret, shown this once.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WebhookCreatedResponse {
    /// The signing secret, `whsec_...` (Standard Webhooks). Stored only sealed.
    pub secret: String,
    /// The webhook.
    pub webhook: WebhookResponse,
}

impl std::fmt::Debug for WebhookCreatedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCreatedResponse")
            .field("secret", &"[redacted]")
            .field("webhook", &self.webhook)
            .finish()
    }
}

impl Drop for WebhookCreatedResponse {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

/// `GET /v1/mgmt/webhook/list`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhooksResponse {
    /// Every webhook, by id.
    pub webhooks: Vec<WebhookResponse>,
}

/// `POST /v1/mgmt/audit/search`, in Descope's shape; `null` and absent mean "not set" for every
/// field. ak records no device, method or geo: a non-empty filter on one of them matches nothing.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditSearchRequest {
    /// Events about any of these keys (access-key ids, or management-key ids for
    /// `managementkey.*`).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub user_ids: Option<Vec<String>>,
    /// Events with any of these actions.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub actions: Option<Vec<String>>,
    /// Events with none of these actions.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub excluded_actions: Option<Vec<String>>,
    /// Events from any of these devices (ak records none).
    #[serde(default)]
    pub devices: Option<Vec<String>>,
    /// Events with any of these authentication methods (ak records none).
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// Events from any of these geographies (ak records none).
    #[serde(default)]
    pub geos: Option<Vec<String>>,
    /// Events from any of these client addresses.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub remote_addresses: Option<Vec<String>>,
    /// Events naming any of these key ids in `externalIds`.
    #[serde(default)]
    pub login_ids: Option<Vec<String>>,
    /// The same as `loginIds` (the name the Python SDK sends).
    #[serde(default)]
    pub external_ids: Option<Vec<String>>,
    /// Events concerning any of these tenants.
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
    /// With `tenants`: also events that concern no tenant.
    #[serde(default)]
    pub no_tenants: Option<bool>,
    /// Events where this text occurs (action, actor, key id, address, reason, tenant, data).
    #[serde(default)]
    #[schema(max_length = 256)]
    pub text: Option<String>,
    /// Events at or after this time (Unix ms; a fraction, as the Python SDK sends, is allowed).
    #[serde(default)]
    pub from: Option<f64>,
    /// Events at or before this time (Unix ms; a fraction is allowed).
    #[serde(default)]
    pub to: Option<f64>,
}

/// One audit event in Descope's shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordResponse {
    /// The project id.
    pub project_id: String,
    /// Who acted: the management key id, `cli:$USER`, or for an exchange the access key itself.
    pub user_id: String,
    /// What happened, e.g. `accesskey.create`.
    pub action: String,
    /// When it happened (Unix ms).
    pub occurred: i64,
    /// Always `""`: ak records no device.
    pub device: String,
    /// Always `""`: ak records no method.
    pub method: String,
    /// Always `""`: ak records no geography.
    pub geo: String,
    /// The client's address, `""` when unknown.
    pub remote_address: String,
    /// The keys it concerns.
    pub external_ids: Vec<String>,
    /// The tenants it concerns.
    pub tenants: Vec<String>,
    /// Details: the event's own data, plus `outcome` and, for a failure, `reason`.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

/// `POST /v1/mgmt/audit/search`: matching events, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditSearchResponse {
    /// The events.
    pub audits: Vec<AuditRecordResponse>,
}

/// `POST /v1/mgmt/audit/event`: an application's own event, in Descope's shape.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventRequest {
    /// The action (required); ak's own names (`accesskey.*`, `managementkey.*`, `signingkey.*`,
    /// `webhook.*`) are refused.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    pub action: Option<String>,
    /// `info`, `warn` or `error` (required).
    #[serde(default, rename = "type")]
    #[schema(value_type = String, required = true)]
    pub event_type: Option<String>,
    /// Who acted (required).
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    pub actor_id: Option<String>,
    /// The tenant it concerns.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The key or user it concerns.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Details.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body takes the response's strings over instead of copying them.
    #[test]
    fn an_exchange_response_moves_into_its_body() {
        let response = ak::ExchangeResponse {
            key_id: "K2key".into(),
            session_jwt: "header.payload.signature".into(),
            expiration: 600,
        };
        let (id, token) = (response.key_id.as_ptr(), response.session_jwt.as_ptr());
        let body = ExchangeResponseBody::from(response);
        assert_eq!((body.key_id.as_ptr(), body.session_jwt.as_ptr()), (id, token));
        assert_eq!(
            (body.key_id.as_str(), body.session_jwt.as_str(), body.expiration),
            ("K2key", "header.payload.signature", 600)
        );
    }
}
