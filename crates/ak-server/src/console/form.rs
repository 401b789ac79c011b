//! Form bodies (`application/x-www-form-urlencoded`) and the field parsers the console shares.

use std::collections::BTreeMap;

use ak::KeyTenant;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::body::read_limited;
use crate::error::ApiError;
use crate::state::AppState;

/// The fields of a posted form, in order (a name may repeat, as checkboxes do). Values are
/// zeroized on drop: the sign-in form carries a management key.
#[derive(Debug, Default)]
pub(crate) struct Fields(Vec<(String, Zeroizing<String>)>);

impl Fields {
    /// Parses an urlencoded body.
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), Zeroizing::new(value.into_owned())))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `""` when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map_or("", |(_, value)| value.trim())
    }

    /// Whether `name` was sent (a ticked checkbox).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(field, _)| field == name)
    }

    /// Every non-empty value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(field, value)| field == name && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
            .collect()
    }
}

impl FromRequest<AppState> for Fields {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = read_limited(&parts.headers, body, state.config.max_body_bytes).await?;
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        let essence = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase());
        if essence.as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(ApiError {
                message: "console forms must be application/x-www-form-urlencoded".into(),
                ..ApiError::unsupported_media_type()
            });
        }
        Ok(Self::parse(&bytes))
    }
}

/// Problems with a form, each next to the field that caused it (`""` for the whole form).
#[derive(Debug, Default, Clone)]
pub(crate) struct Problems(pub(crate) BTreeMap<&'static str, String>);

impl Problems {
    pub(crate) fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Comma- or line-separated entries, trimmed, empty ones dropped.
pub(crate) fn entries(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One tenant per line: `tenant-id` or `tenant-id: role, role`.
pub(crate) fn tenants(text: &str) -> Result<Vec<KeyTenant>, String> {
    let mut tenants = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (tenant, roles) = line.split_once(':').unwrap_or((line, ""));
        let tenant = tenant.trim();
        if tenant.is_empty() {
            return Err(format!(
                "line {}: write the tenant id before the colon, as in \"tenant-a: admin\"",
                number + 1
            ));
        }
        tenants.push(KeyTenant::new(tenant, entries(roles)));
    }
    Ok(tenants)
}

/// The text of tenants as [`tenants`] reads it.
pub(crate) fn tenants_text(tenants: &[KeyTenant]) -> String {
    tenants
        .iter()
        .map(|tenant| {
            if tenant.role_names.is_empty() {
                tenant.tenant_id.clone()
            } else {
                format!("{}: {}", tenant.tenant_id, tenant.role_names.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON object; empty text is the empty object.
pub(crate) fn json_object(text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("must be a JSON object, such as {\"team\": \"billing\"}".to_owned()),
        Err(error) => Err(format!("is not valid JSON: {error}")),
    }
}

/// An object as indented JSON, `""` when empty.
pub(crate) fn json_text(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        String::new()
    } else {
        serde_json::to_string_pretty(map).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert_eq!(entries(" a, b\n\nc ,"), ["a", "b", "c"]);
        let parsed = tenants("t1: admin, viewer\n\n t2 \n").unwrap();
        assert_eq!(
            parsed,
            [
                KeyTenant::new("t1", ["admin", "viewer"]),
                KeyTenant::new("t2", Vec::<String>::new())
            ]
        );
        assert_eq!(tenants_text(&parsed), "t1: admin, viewer\nt2");
        assert!(tenants("t1\n: admin").unwrap_err().starts_with("line 2"));
        assert!(json_object("").unwrap().is_empty());
        assert_eq!(json_object("{\"a\": 1}").unwrap()["a"], 1);
        assert!(json_object("[1]").unwrap_err().contains("JSON object"));
        assert!(json_object("{").unwrap_err().contains("not valid JSON"));
        let fields = Fields::parse(b"id=a&id=b&id=&name=+x+&flag=on");
        assert_eq!(fields.all("id"), ["a", "b"]);
        assert_eq!(fields.get("name"), "x");
        assert!(fields.has("flag") && !fields.has("other"));
    }
}
