//! Webhooks: audit events POSTed, signed, to URLs an operator registers.
//!
//! [`Webhooks`] adds, lists and deletes webhooks on a store ([`WebhookStore`]); each webhook has a
//! URL, an action filter (action names or prefixes ending in `.*`; empty: every action) and a
//! signing secret that ak generates ([`WebhookSecret`], `whsec_` and 32 random bytes in base64, as
//! in the [Standard Webhooks](https://www.standardwebhooks.com/) specification). The secret is
//! returned once, by [`Webhooks::add`]; the store keeps it only sealed under the [`MasterKey`]
//! (XChaCha20-Poly1305, as the signing keys are, bound to the webhook's id), so a copy of the
//! database alone cannot forge deliveries, while every node given the master key can sign them.
//! (A hash would not do: the sender needs the secret itself to compute each HMAC.)
//!
//! ```
//! use std::sync::Arc;
//! use ak::MemoryKeyStore;
//! use ak::signing::MasterKey;
//! use ak::webhook::Webhooks;
//!
//! let webhooks = Webhooks::new(Arc::new(MemoryKeyStore::new()), MasterKey::generate()?);
//! let created = webhooks.add("https://hooks.example.com/ak", &["accesskey.*".into()], "cli:alice")?;
//! assert!(created.secret.expose_secret().starts_with("whsec_"));
//! assert_eq!(webhooks.list()?[0].id, created.webhook.id);
//! webhooks.delete(&created.webhook.id)?;
//! assert!(webhooks.list()?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Signature
//!
//! Every delivery carries the Standard Webhooks headers: `webhook-id` (the audit event's id, the
//! same on every retry, so a receiver can drop duplicates), `webhook-timestamp` (Unix seconds of
//! the attempt) and `webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`
//! where `key` is the 32 bytes behind the secret's base64. Any Standard Webhooks library verifies
//! it with the `whsec_...` text.

#[cfg(feature = "webhooks")]
mod deliver;
#[cfg(feature = "webhooks")]
mod pipeline;
mod secret;

use std::sync::Arc;

use ak_core::audit::{AuditEvent, AuditRecorder, actions};
use ak_core::limits::MAX_WEBHOOKS;
use ak_core::webhook::{self as core_webhook, WebhookRecord};
use ak_core::{Clock, OsRandom, RandomError, RandomSource, StoreError, SystemClock, ValidationError};
use zeroize::Zeroizing;

pub use ak_core::webhook::{Webhook, WebhookStore, action_matches};
pub use secret::{SECRET_BYTES, SECRET_PREFIX, WebhookSecret};

#[cfg(feature = "webhooks")]
pub use deliver::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DELIVERY_ATTEMPTS, DEFAULT_DELIVERY_QUEUE, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_REQUEST_TIMEOUT, DEFAULT_RETRY_DELAY, DEFAULT_SHUTDOWN_GRACE, DISPATCHER_ACTOR, DeliveryConfig,
    DispatcherError, MAX_RETRY_DELAY, WebhookDispatcher,
};
#[cfg(feature = "webhooks")]
pub use pipeline::{AuditPipeline, PipelineError};

use crate::signing::MasterKey;
use crate::signing::seal::{self, OpenError};

const SEAL_MAGIC: &[u8; 4] = b"akwh";
const SEAL_PURPOSE: &[u8] = b"ak webhook secret\0";

/// Why a webhook call failed. Nothing changed when one is returned; no variant carries a secret
/// or the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The URL or the action filter was invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No webhook has this id.
    #[error("webhook not found: {id}")]
    NotFound {
        /// The id given.
        id: String,
    },
    /// The store already holds [`MAX_WEBHOOKS`] webhooks.
    #[error("a store holds at most {MAX_WEBHOOKS} webhooks; delete one first")]
    TooMany,
    /// The webhook's secret was sealed under another master key.
    #[error("webhook {id}: its secret was sealed with a different master key")]
    WrongMasterKey {
        /// The webhook.
        id: String,
    },
    /// The webhook's sealed secret is damaged.
    #[error("webhook {id}: its sealed secret is damaged")]
    Damaged {
        /// The webhook.
        id: String,
    },
    /// The random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A webhook just added, with its secret: the only time the secret is shown.
#[derive(Debug)]
pub struct CreatedWebhook {
    /// The webhook as stored.
    pub webhook: Webhook,
    /// Its signing secret; give it to the receiver.
    pub secret: WebhookSecret,
}

/// Adds, lists and deletes the webhooks of a store, sealing their secrets under the master key.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks {
    store: Arc<dyn WebhookStore>,
    master: MasterKey,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    recorder: Option<Arc<AuditRecorder>>,
}

impl Webhooks {
    /// The webhooks of `store`, their secrets sealed under `master`, with the system clock and the
    /// OS CSPRNG.
    pub fn new(store: Arc<dyn WebhookStore>, master: MasterKey) -> Self {
        Self {
            store,
            master,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            recorder: None,
        }
    }

    /// Records [`webhook.create`](actions::WEBHOOK_CREATE) and
    /// [`webhook.delete`](actions::WEBHOOK_DELETE) through `recorder` (the webhook id in
    /// `data.webhookId`; never the URL or the secret).
    #[must_use]
    pub fn with_recorder(mut self, recorder: Arc<AuditRecorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    fn audit(&self, action: &str, id: &str, actor: &str) {
        if let Some(recorder) = &self.recorder {
            recorder
                .record(AuditEvent::new(action, actor, self.clock.now_millis()).with_data("webhookId", id));
        }
    }

    /// Dates new webhooks with `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Draws ids and secrets from `random`.
    #[must_use]
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn WebhookStore> {
        &self.store
    }

    /// Registers `url` for the events whose action passes `actions` (empty: every event), created
    /// by `created_by` (may be empty). Returns the webhook and its secret, shown this once.
    ///
    /// The URL must be `http` or `https`, at most
    /// [`MAX_WEBHOOK_URL_CHARS`](ak_core::limits::MAX_WEBHOOK_URL_CHARS), without credentials
    /// ([`ak_core::webhook::validate_url`]); a store holds at most [`MAX_WEBHOOKS`] (checked here,
    /// so two processes adding at once may end one over).
    pub fn add(
        &self,
        url: &str,
        actions: &[String],
        created_by: &str,
    ) -> Result<CreatedWebhook, WebhookError> {
        core_webhook::validate_url(url)?;
        core_webhook::validate_actions(actions)?;
        if !created_by.is_empty() {
            ak_core::validate::id("createdBy", created_by)?;
        }
        if self.store.list_webhooks()?.len() >= MAX_WEBHOOKS {
            return Err(WebhookError::TooMany);
        }
        let id = core_webhook::generate_webhook_id(self.random.as_ref())?;
        let secret = WebhookSecret::generate(self.random.as_ref())?;
        let sealed_secret = seal::seal_as(&self.master, SEAL_MAGIC, &purpose(&id), secret.key())?;
        let webhook = Webhook {
            id,
            url: url.to_owned(),
            actions: actions.to_vec(),
            created_time: self.clock.now(),
            created_by: created_by.to_owned(),
        };
        self.store.insert_webhook(&WebhookRecord {
            webhook: webhook.clone(),
            sealed_secret,
        })?;
        self.audit(actions::WEBHOOK_CREATE, &webhook.id, created_by);
        Ok(CreatedWebhook { webhook, secret })
    }

    /// Every webhook, ordered by id (no secrets).
    pub fn list(&self) -> Result<Vec<Webhook>, WebhookError> {
        Ok(self
            .store
            .list_webhooks()?
            .into_iter()
            .map(|record| record.webhook)
            .collect())
    }

    /// The webhook with this id.
    pub fn get(&self, id: &str) -> Result<Webhook, WebhookError> {
        self.store
            .get_webhook(id)?
            .map(|record| record.webhook)
            .ok_or_else(|| WebhookError::NotFound { id: id.to_owned() })
    }

    /// Deletes the webhook with this id; durable when it returns, and no event is delivered to it
    /// afterwards (a retry in progress stops before its next attempt).
    pub fn delete(&self, id: &str) -> Result<(), WebhookError> {
        self.delete_by(id, "")
    }

    /// Like [`delete`](Self::delete), naming who deleted it in the audit event.
    pub fn delete_by(&self, id: &str, actor: &str) -> Result<(), WebhookError> {
        if self.store.delete_webhook(id)? {
            self.audit(actions::WEBHOOK_DELETE, id, actor);
            Ok(())
        } else {
            Err(WebhookError::NotFound { id: id.to_owned() })
        }
    }

    /// Every webhook with its opened secret, for delivery. A webhook whose secret does not open
    /// (another master key, damage) is left out, with its error.
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn signing_targets(&self) -> Result<Targets, StoreError> {
        let mut targets = Targets::default();
        for record in self.store.list_webhooks()? {
            match self.open(&record) {
                Ok(secret) => targets.open.push((record.webhook, secret)),
                Err(error) => targets.errors.push(error),
            }
        }
        Ok(targets)
    }

    /// Whether the webhook still exists (a retry checks before each attempt).
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn exists(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.store.get_webhook(id)?.is_some())
    }

    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    fn open(&self, record: &WebhookRecord) -> Result<WebhookSecret, WebhookError> {
        let id = record.id();
        let key: Zeroizing<Vec<u8>> =
            seal::open_as(&self.master, SEAL_MAGIC, &purpose(id), &record.sealed_secret).map_err(
                |error| match error {
                    OpenError::WrongMasterKey => WebhookError::WrongMasterKey { id: id.to_owned() },
                    _ => WebhookError::Damaged { id: id.to_owned() },
                },
            )?;
        WebhookSecret::from_slice(&key).ok_or_else(|| WebhookError::Damaged { id: id.to_owned() })
    }
}

/// The webhooks a batch is delivered to, and those whose secret would not open.
#[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
#[derive(Debug, Default)]
pub(crate) struct Targets {
    /// Each webhook with its opened secret.
    pub(crate) open: Vec<(Webhook, WebhookSecret)>,
    /// Why the others were left out.
    pub(crate) errors: Vec<WebhookError>,
}

fn purpose(id: &str) -> Vec<u8> {
    [SEAL_PURPOSE, id.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ak_core::{ManualClock, MemoryKeyStore, SeededRandom};

    fn webhooks(store: &Arc<MemoryKeyStore>, master: u8) -> Webhooks {
        Webhooks::new(Arc::clone(store) as _, MasterKey::from_bytes([master; 32]))
            .with_clock(Arc::new(ManualClock::new(1_000)))
            .with_random(Arc::new(SeededRandom::new(u64::from(master))))
    }

    #[test]
    fn add_seals_the_secret_and_opens_it_again() {
        let store = Arc::new(MemoryKeyStore::new());
        let hooks = webhooks(&store, 1);
        let created = hooks.add("https://e.co/h", &[], "cli:bob").unwrap();
        assert_eq!(created.webhook.created_time, 1_000);
        assert!(created.webhook.id.starts_with("wh"));
        let record = store.get_webhook(&created.webhook.id).unwrap().unwrap();
        let text = created.secret.expose_secret();
        let body = &text[SECRET_PREFIX.len()..];
        for needle in [text.as_bytes(), body.as_bytes(), created.secret.key().as_slice()] {
            assert!(!record.sealed_secret.windows(needle.len()).any(|w| w == needle));
        }
        let targets = hooks.signing_targets().unwrap();
        assert!(targets.errors.is_empty());
        assert_eq!(targets.open[0].1.expose_secret(), text);
        // Another master key does not open it, and says so without the secret.
        let targets = webhooks(&store, 2).signing_targets().unwrap();
        assert!(targets.open.is_empty());
        assert!(matches!(
            &targets.errors[..],
            [WebhookError::WrongMasterKey { .. }]
        ));
        // A sealed secret moved onto another webhook's record does not open.
        let other = hooks.add("https://e.co/other", &[], "").unwrap();
        let mut moved = store.get_webhook(&other.webhook.id).unwrap().unwrap();
        moved.sealed_secret = record.sealed_secret;
        store.delete_webhook(&other.webhook.id).unwrap();
        store.insert_webhook(&moved).unwrap();
        let targets = hooks.signing_targets().unwrap();
        assert_eq!(targets.open.len(), 1);
        assert!(matches!(&targets.errors[..], [WebhookError::Damaged { id }] if *id == other.webhook.id));
    }

    #[test]
    fn invalid_input_changes_nothing_and_errors_hide_the_url() {
        let store = Arc::new(MemoryKeyStore::new());
        let hooks = webhooks(&store, 1);
        for (url, actions) in [
            ("ftp://e.co/", vec![]),
            ("https://token:abc@e.co/", vec![]),
            ("https://e.co/", vec!["*".to_owned()]),
        ] {
            let error = hooks.add(url, &actions, "").unwrap_err();
            assert!(matches!(error, WebhookError::Invalid(_)), "{url}");
            assert!(!error.to_string().contains("abc"));
        }
        assert!(hooks.list().unwrap().is_empty());
        assert!(matches!(hooks.delete("nope"), Err(WebhookError::NotFound { .. })));
        assert!(matches!(hooks.get("nope"), Err(WebhookError::NotFound { .. })));
        for n in 0..MAX_WEBHOOKS {
            hooks.add(&format!("https://e.co/{n}"), &[], "").unwrap();
        }
        assert!(matches!(
            hooks.add("https://e.co/x", &[], ""),
            Err(WebhookError::TooMany)
        ));
        assert_eq!(hooks.list().unwrap().len(), MAX_WEBHOOKS);
    }
}
