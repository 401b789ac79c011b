//! The inputs and outputs of management calls, in Descope's shapes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::key_format::Cleartext;
use crate::model::{AccessKey, KeyTenant};
use crate::wire::null_as_default;

/// A request to create a key (Descope's create body).
///
/// `null`, `[]`, `{}`, `""` and absent all mean "not set", as Descope's SDKs require.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateKey {
    /// Required name.
    pub name: String,
    /// Optional description.
    #[serde(default)]
    pub description: Option<String>,
    /// Expiry (Unix seconds, in the future); `None` or `0` for never.
    #[serde(default, with = "crate::wire::zero_is_none")]
    pub expire_time: Option<i64>,
    /// Project-level roles (exclusive with `key_tenants`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub role_names: Vec<String>,
    /// Tenants and roles in each (exclusive with `role_names`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub key_tenants: Vec<KeyTenant>,
    /// Bind the key to this user (Descope's request name is `userId`).
    #[serde(default, with = "crate::wire::empty_is_none")]
    pub user_id: Option<String>,
    /// Claims for the top level of every token.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_claims: Map<String, Value>,
    /// The application's own searchable attributes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_attributes: Map<String, Value>,
    /// Allowed client addresses and CIDR ranges; empty allows any.
    #[serde(default, deserialize_with = "null_as_default")]
    pub permitted_ips: Vec<String>,
    /// Who is creating the key. Set by the caller's own authentication layer, never read from a
    /// request body.
    #[serde(skip)]
    pub created_by: Option<String>,
}

impl CreateKey {
    /// A request with just a name; set the other public fields as needed.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A request to update a key (Descope's update body).
///
/// `id` and `name` are required. Every other field: `None` keeps the stored value, `Some` of an
/// empty value clears it. Expiry, bound user and status cannot be updated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateKey {
    /// The key to update.
    pub id: String,
    /// The new name (required, as in Descope).
    pub name: String,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// New project roles.
    #[serde(default)]
    pub role_names: Option<Vec<String>>,
    /// New tenants.
    #[serde(default)]
    pub key_tenants: Option<Vec<KeyTenant>>,
    /// New custom claims.
    #[serde(default)]
    pub custom_claims: Option<Map<String, Value>>,
    /// New custom attributes.
    #[serde(default)]
    pub custom_attributes: Option<Map<String, Value>>,
    /// New permitted IPs.
    #[serde(default)]
    pub permitted_ips: Option<Vec<String>>,
}

impl UpdateKey {
    /// An update that renames key `id` and keeps everything else.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A newly created or rotated key: its cleartext, shown once, and the key.
#[derive(Debug)]
pub struct CreatedKey {
    /// The cleartext key. It is not stored anywhere; this is the only copy.
    pub cleartext: Cleartext,
    /// The key as stored.
    pub key: AccessKey,
}
