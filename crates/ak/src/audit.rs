//! The audit trail and last-used tracking of [`AccessKeys`]: who did what to which key.
//!
//! With an [audit store](crate::AccessKeysBuilder::audit_store), every management call (create,
//! update, activate, deactivate, delete, the batches, rotate, signing-key changes) and every
//! exchange attempt, successful or not, records one [`AuditEvent`] through an [`AuditRecorder`]:
//! batched in memory and written by a background thread, so no call waits for an audit write.
//! Events name key ids, the actor, the client address, the outcome and a failure reason; never a
//! secret, a token or a hash. A failed exchange names the key id only when the presented key
//! parsed (format and checksum), so a guess never puts arbitrary text in the trail.
//!
//! With a [usage store](crate::AccessKeysBuilder::usage_store), each successful exchange notes the
//! key's last use in a [`UsageTracker`]: at most one store write per key per interval.
//!
//! Management calls made through [`AccessKeys`] directly are recorded with the builder's
//! [actor](crate::AccessKeysBuilder::actor) (default `library`); [`AccessKeys::acting`] names
//! another actor (a management key id, `cli:$USER`) and the client address for a call.

use std::net::IpAddr;
use std::time::Duration;

use ak_core::audit::{AuditEvent, AuditRecorder, actions, reasons};
use ak_core::usage::UsageTracker;
use ak_core::{AuthError, CreateKey, CreatedKey, ManageError, UpdateKey};

use crate::exchange::ExchangeError;
use crate::service::AccessKeys;

/// The actor of management calls made without [`AccessKeys::acting`], unless the builder names
/// another.
pub const DEFAULT_ACTOR: &str = "library";

/// The audit reason of a failed exchange.
pub(crate) fn exchange_reason(error: &ExchangeError) -> &'static str {
    match error {
        ExchangeError::Auth(AuthError::InvalidKey) => reasons::INVALID,
        ExchangeError::Auth(AuthError::Inactive) => reasons::INACTIVE,
        ExchangeError::Auth(AuthError::Expired) => reasons::EXPIRED,
        ExchangeError::Auth(AuthError::IpNotPermitted) => reasons::IP_DENIED,
        ExchangeError::Auth(AuthError::BoundUserInactive) => reasons::USER_INACTIVE,
        _ => reasons::ERROR,
    }
}

/// The audit reason of a failed management call.
fn manage_reason(error: &ManageError) -> &'static str {
    match error {
        ManageError::Invalid(_) => "invalid-request",
        ManageError::NotFound { .. } => "not-found",
        ManageError::NotRotatable { .. } => "not-rotatable",
        ManageError::Conflict { .. } => "conflict",
        _ => reasons::ERROR,
    }
}

/// Where [`AccessKeys`] sends audit events and last uses; both optional.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    pub(crate) recorder: Option<AuditRecorder>,
    pub(crate) usage: Option<UsageTracker>,
}

impl Trail {
    /// What the outcome of an exchange leaves in this trail, so that the exchange path builds
    /// nothing that is not kept: no clock read, address string or [`AuditEvent`] (with its id and
    /// copies of the key id) for a trail that would drop it.
    pub(crate) fn exchange_needs(&self, succeeded: bool) -> ExchangeNeeds {
        ExchangeNeeds {
            last_use: succeeded && self.usage.is_some(),
            event: self.recorder.is_some(),
        }
    }

    pub(crate) fn record(&self, event: AuditEvent) {
        if let Some(recorder) = &self.recorder {
            recorder.record(event);
        }
    }

    pub(crate) fn touch(&self, key_id: &str, now: i64, client: Option<&str>) {
        if let Some(usage) = &self.usage {
            usage.touch(key_id, now, client);
        }
    }
}

/// What one exchange leaves in a [`Trail`] ([`Trail::exchange_needs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExchangeNeeds {
    /// A last use to note: the exchange succeeded and there is a usage store.
    pub(crate) last_use: bool,
    /// An audit event to record: there is an audit store (for a failure as for a success).
    pub(crate) event: bool,
}

impl ExchangeNeeds {
    /// Nothing to note and nothing to record.
    pub(crate) fn is_nothing(self) -> bool {
        !self.last_use && !self.event
    }
}

/// Management calls on behalf of a named actor, from a client address: each is recorded in the
/// audit trail with both. Made by [`AccessKeys::acting`].
#[derive(Debug)]
pub struct Acting<'a> {
    keys: &'a AccessKeys,
    actor: String,
    client: Option<String>,
}

impl<'a> Acting<'a> {
    pub(crate) fn new(keys: &'a AccessKeys, actor: String, client: Option<IpAddr>) -> Self {
        Self {
            keys,
            actor,
            client: client.map(|ip| ip.to_string()),
        }
    }

    fn event(&self, action: &str, ids: impl IntoIterator<Item = impl Into<String>>) -> AuditEvent {
        AuditEvent::new(
            action,
            self.actor.clone(),
            self.keys.manager().clock().now_millis(),
        )
        .with_keys(ids)
        .with_client(self.client.clone())
    }

    fn recorded<T>(
        &self,
        action: &str,
        ids: &[String],
        result: Result<T, ManageError>,
        ids_of: impl FnOnce(&T) -> Vec<String>,
    ) -> Result<T, ManageError> {
        let event = match &result {
            Ok(value) => {
                let mut all = ids.to_vec();
                all.extend(ids_of(value).into_iter().filter(|id| !ids.contains(id)));
                self.event(action, all)
            }
            Err(error) => self
                .event(action, ids.iter().cloned())
                .failed(manage_reason(error)),
        };
        self.keys.trail().record(event);
        result
    }

    /// Creates a key ([`AccessKeys::create`]), recorded as `accesskey.create`.
    pub fn create(&self, request: CreateKey) -> Result<CreatedKey, ManageError> {
        let name = request.name.clone();
        let result = self.keys.manager().create(request);
        let event = match &result {
            Ok(created) => self
                .event(actions::ACCESS_KEY_CREATE, [created.key.id.clone()])
                .with_data("name", created.key.name.clone()),
            Err(error) => self
                .event(actions::ACCESS_KEY_CREATE, std::iter::empty::<String>())
                .with_data("name", name)
                .failed(manage_reason(error)),
        };
        self.keys.trail().record(event);
        result
    }

    /// Updates a key, recorded as `accesskey.update`.
    pub fn update(&self, request: UpdateKey) -> Result<ak_core::AccessKey, ManageError> {
        let id = vec![request.id.clone()];
        let result = self.keys.manager().update(request);
        self.recorded(actions::ACCESS_KEY_UPDATE, &id, result, |_| Vec::new())
    }

    /// Activates a key, recorded as `accesskey.activate`.
    pub fn activate(&self, id: &str) -> Result<(), ManageError> {
        self.activate_batch(&[id.to_owned()])
    }

    /// Deactivates a key, recorded as `accesskey.deactivate`.
    pub fn deactivate(&self, id: &str) -> Result<(), ManageError> {
        self.deactivate_batch(&[id.to_owned()])
    }

    /// Deletes a key, recorded as `accesskey.delete`.
    pub fn delete(&self, id: &str) -> Result<(), ManageError> {
        self.delete_batch(&[id.to_owned()])
    }

    /// Activates keys atomically, recorded as one `accesskey.activate` naming every id.
    pub fn activate_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        let result = self.keys.manager().activate_batch(ids);
        self.recorded(actions::ACCESS_KEY_ACTIVATE, ids, result, |()| Vec::new())
    }

    /// Deactivates keys atomically, recorded as one `accesskey.deactivate` naming every id.
    pub fn deactivate_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        let result = self.keys.manager().deactivate_batch(ids);
        self.recorded(actions::ACCESS_KEY_DEACTIVATE, ids, result, |()| Vec::new())
    }

    /// Deletes keys atomically, recorded as one `accesskey.delete` naming every id.
    pub fn delete_batch(&self, ids: &[String]) -> Result<(), ManageError> {
        let result = self.keys.manager().delete_batch(ids);
        self.recorded(actions::ACCESS_KEY_DELETE, ids, result, |()| Vec::new())
    }

    /// Rotates a key's secret, recorded as `accesskey.rotate` (with the grace in seconds).
    pub fn rotate(&self, id: &str, grace: Duration) -> Result<CreatedKey, ManageError> {
        let result = self.keys.manager().rotate(id, grace.as_secs());
        let event = self
            .event(actions::ACCESS_KEY_ROTATE, [id])
            .with_data("graceSecs", grace.as_secs());
        let event = match &result {
            Ok(_) => event,
            Err(error) => event.failed(manage_reason(error)),
        };
        self.keys.trail().record(event);
        result
    }

    /// Records an event by this actor and client that some other component performed (for
    /// example `managementkey.create` by the CLI); not validated, so ak's own actions are allowed.
    pub fn record(
        &self,
        action: &str,
        ids: impl IntoIterator<Item = impl Into<String>>,
        failure: Option<&str>,
    ) {
        let event = self.event(action, ids);
        let event = match failure {
            Some(reason) => event.failed(reason),
            None => event,
        };
        self.keys.trail().record(event);
    }
}
