//! The webhook model, its validation and its action filter.

use data_encoding::BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::key_format;
use crate::limits::{MAX_WEBHOOK_ACTION_CHARS, MAX_WEBHOOK_ACTIONS, MAX_WEBHOOK_URL_CHARS};
use crate::random::{RandomError, RandomSource};
use crate::store::StoreError;
use crate::validate::{self, ValidationError};

/// A webhook as administrators see it. It never holds the signing secret.
///
/// The URL is shown to administrators (list) but ak never writes it to a log line, an error or
/// an audit event, since some receivers (chat incoming-webhook URLs, for one) embed a credential
/// in it; logs and events name the webhook by id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Public, unique id (`wh` and 26 base32 characters), named in delivery-failure events.
    pub id: String,
    /// Where events are POSTed: see [`validate_url`].
    pub url: String,
    /// Which actions it receives: each entry an action name or a prefix ending in `.*`; empty
    /// means every action. See [`action_matches`].
    #[serde(default)]
    pub actions: Vec<String>,
    /// When it was created (Unix seconds).
    pub created_time: i64,
    /// Who created it (`""` when unknown).
    #[serde(default)]
    pub created_by: String,
}

impl Webhook {
    /// Whether an event with this action is delivered to this webhook.
    pub fn matches(&self, action: &str) -> bool {
        action_matches(&self.actions, action)
    }
}

/// What a [`WebhookStore`](super::WebhookStore) persists for one webhook: the webhook and its
/// signing secret, sealed by the `ak` facade under the master key (so a copy of the database
/// alone cannot forge deliveries). The store never interprets `sealed_secret`.
///
/// `Debug` shows only the length of the sealed secret. In JSON the sealed bytes are base64.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRecord {
    /// The webhook.
    pub webhook: Webhook,
    /// The signing secret, sealed.
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub sealed_secret: Vec<u8>,
}

impl WebhookRecord {
    /// The record's webhook id.
    pub fn id(&self) -> &str {
        &self.webhook.id
    }

    /// Decodes a record stored as JSON under `id`: [`StoreError::Corrupt`] naming `id` when the
    /// bytes are not a record, or are the record of another id. Every store that keeps webhooks
    /// as JSON reads them through this.
    pub fn from_stored_json(id: &str, json: &[u8]) -> Result<Self, StoreError> {
        StoreError::decode_stored_json(id, json, ("webhook record", "webhook"), |record: &Self| {
            &record.webhook.id
        })
    }
}

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("webhook", &self.webhook)
            .field("sealed_secret_len", &self.sealed_secret.len())
            .finish()
    }
}

fn to_base64<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&BASE64.encode(bytes))
}

fn from_base64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(deserializer)?;
    BASE64
        .decode(text.as_bytes())
        .map_err(|_| serde::de::Error::custom("sealedSecret is not base64"))
}

/// A fresh webhook id: `wh` and 128 random bits in lowercase base32.
pub fn generate_webhook_id(random: &dyn RandomSource) -> Result<String, RandomError> {
    Ok(format!("wh{}", key_format::generate_id(random)?))
}

/// Checks a webhook URL: 1..=[`MAX_WEBHOOK_URL_CHARS`] characters, no whitespace or control
/// characters, an absolute URL with scheme `http` or `https`, a host, and no user name, password
/// or fragment (credentials in a URL end up in proxies' logs; a fragment is never sent).
///
/// Plain `http` is accepted for receivers on a private network or behind a local proxy; the
/// signature still proves origin and integrity, but the event's contents travel in clear.
pub fn validate_url(url: &str) -> Result<(), ValidationError> {
    let bad = |reason| Err(ValidationError::BadWebhookUrl { reason });
    if url.is_empty() {
        return bad("it is empty");
    }
    if url.chars().count() > MAX_WEBHOOK_URL_CHARS {
        return bad("it is longer than 2048 characters");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains whitespace or control characters");
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return bad("it is not an absolute URL");
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return bad("the scheme must be http or https");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return bad("it has no host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return bad("it must not contain a user name or password");
    }
    if parsed.fragment().is_some() {
        return bad("it must not contain a fragment (#...)");
    }
    Ok(())
}

/// Checks an action filter: at most [`MAX_WEBHOOK_ACTIONS`] distinct entries, each
/// 1..=[`MAX_WEBHOOK_ACTION_CHARS`] characters without control characters or whitespace, and
/// either an action name (no `*`) or a prefix ending in `.*` with no other `*`.
pub fn validate_actions(actions: &[String]) -> Result<(), ValidationError> {
    validate::count("actions", actions.len(), MAX_WEBHOOK_ACTIONS)?;
    let mut seen = std::collections::HashSet::new();
    for action in actions {
        validate::text("actions", action, MAX_WEBHOOK_ACTION_CHARS)?;
        validate::no_controls("actions", action)?;
        let stars = action.matches('*').count();
        let shaped = match stars {
            0 => true,
            1 => action.ends_with(".*") && action.len() > 2,
            _ => false,
        };
        if !shaped || action.chars().any(char::is_whitespace) {
            return Err(ValidationError::BadWebhookAction {
                action: action.clone(),
            });
        }
        if !seen.insert(action.as_str()) {
            return Err(ValidationError::Duplicate {
                field: "actions",
                value: action.clone(),
            });
        }
    }
    Ok(())
}

/// Whether `action` passes `filter`: an empty filter passes everything; otherwise an entry equal
/// to the action, or an entry `p.*` where the action starts with `p.` (so `accesskey.*` passes
/// `accesskey.create` and `accesskey.exchange.failed`, and `accesskey.exchange` passes only
/// itself).
pub fn action_matches(filter: &[String], action: &str) -> bool {
    filter.is_empty()
        || filter.iter().any(|entry| match entry.strip_suffix('*') {
            Some(prefix) => action.starts_with(prefix),
            None => entry == action,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for good in [
            "https://hooks.example.com/ak",
            "http://127.0.0.1:8080/x?y=1",
            "https://[::1]/hook",
        ] {
            assert_eq!(validate_url(good), Ok(()), "{good}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_WEBHOOK_URL_CHARS));
        for bad in [
            "",
            "ftp://example.com/",
            "file:///etc/passwd",
            "hooks.example.com/ak",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "https://example.com/a b",
            "https://example.com/\n",
            "https://example.com/#frag",
            "http://",
            long.as_str(),
        ] {
            let error = validate_url(bad).unwrap_err();
            assert!(matches!(error, ValidationError::BadWebhookUrl { .. }), "{bad}");
            // The message never repeats the URL.
            if bad.len() > 8 {
                assert!(!error.to_string().contains(bad), "{bad}");
            }
            assert!(!error.to_string().contains("pw@"));
        }
        let at_limit = format!("https://e.co/{}", "a".repeat(MAX_WEBHOOK_URL_CHARS - 13));
        assert_eq!(at_limit.chars().count(), MAX_WEBHOOK_URL_CHARS);
        assert_eq!(validate_url(&at_limit), Ok(()));
    }

    #[test]
    fn action_filters() {
        let ok: Vec<String> = vec!["accesskey.create".into(), "webhook.*".into(), "app.x.*".into()];
        assert_eq!(validate_actions(&ok), Ok(()));
        assert_eq!(validate_actions(&[]), Ok(()));
        for bad in ["*", ".*", "a*", "accesskey.*.x", "a**", "a b", ""] {
            assert!(validate_actions(&[bad.to_owned()]).is_err(), "{bad}");
        }
        let dup = vec!["a".to_owned(), "a".to_owned()];
        assert!(matches!(
            validate_actions(&dup),
            Err(ValidationError::Duplicate { .. })
        ));
        let many: Vec<String> = (0..=MAX_WEBHOOK_ACTIONS).map(|n| format!("a{n}")).collect();
        assert!(validate_actions(&many).is_err());
        assert_eq!(validate_actions(&many[..MAX_WEBHOOK_ACTIONS]), Ok(()));

        assert!(action_matches(&[], "anything"));
        let filter: Vec<String> = vec!["accesskey.*".into(), "webhook.delivery.failed".into()];
        assert!(action_matches(&filter, "accesskey.create"));
        assert!(action_matches(&filter, "accesskey.exchange.failed"));
        assert!(action_matches(&filter, "webhook.delivery.failed"));
        assert!(!action_matches(&filter, "accesskeyx.create"));
        assert!(!action_matches(&filter, "accesskey"));
        assert!(!action_matches(&filter, "webhook.delivery"));
        let exact: Vec<String> = vec!["accesskey.exchange".into()];
        assert!(!action_matches(&exact, "accesskey.exchange.failed"));
    }

    #[test]
    fn stored_json_round_trips_and_damage_is_corrupt() {
        let record = WebhookRecord {
            webhook: Webhook {
                id: "wh1".into(),
                url: "https://e.co/".into(),
                actions: vec!["a".into()],
                created_time: 5,
                created_by: "x".into(),
            },
            sealed_secret: vec![0, 1, 2, 255],
        };
        let json = serde_json::to_vec(&record).unwrap();
        assert_eq!(WebhookRecord::from_stored_json("wh1", &json).unwrap(), record);
        assert!(matches!(
            WebhookRecord::from_stored_json("wh2", &json),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            WebhookRecord::from_stored_json("wh1", b"{\"webhook\":1}"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(!format!("{record:?}").contains("[0, 1, 2"));
    }
}
