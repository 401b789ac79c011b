//! The webhook dispatcher and the expiry watcher, started and stopped together, for the process
//! that serves a store (`ak serve`).

use std::sync::Arc;
use std::time::Duration;

use ak_core::audit::AuditEventStore;
use ak_core::{Clock, KeyStore};

use super::{DeliveryConfig, DispatcherError, WebhookDispatcher, Webhooks};
use crate::expiring::{ExpiryChecker, ExpiryConfig, ExpiryWatcher, ExpiryWindowError};

/// Why an [`AuditPipeline`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The dispatcher could not start.
    #[error(transparent)]
    Dispatcher(#[from] DispatcherError),
    /// The expiry warning window was too long.
    #[error(transparent)]
    Window(#[from] ExpiryWindowError),
    /// The expiry watcher thread could not start.
    #[error("cannot start the expiry watcher: {0}")]
    Thread(#[from] std::io::Error),
}

/// A [`WebhookDispatcher`] behind an audit store, and an [`ExpiryWatcher`] writing
/// `accesskey.expiring` through that store (so the warnings are delivered too).
///
/// Give [`audit_store`](Self::audit_store) to whatever records events (the
/// [`AccessKeys`](crate::AccessKeys) builder's `audit_store`, [`Webhooks::with_audit_store`]).
/// [`shutdown`](Self::shutdown) (also run on drop) stops the watcher, then the dispatcher (its
/// grace period); drop the recorders writing to the store first, so their last batch is offered.
#[derive(Debug)]
pub struct AuditPipeline {
    store: Arc<dyn AuditEventStore>,
    dispatcher: WebhookDispatcher,
    watcher: Option<ExpiryWatcher>,
}

impl AuditPipeline {
    /// Starts both over `keys` and `audit` (views of one store), delivering to `webhooks`.
    pub fn start(
        keys: Arc<dyn KeyStore>,
        audit: Arc<dyn AuditEventStore>,
        webhooks: Webhooks,
        clock: Arc<dyn Clock>,
        delivery: DeliveryConfig,
        expiry: &ExpiryConfig,
    ) -> Result<Self, PipelineError> {
        let dispatcher = WebhookDispatcher::start_with_clock(webhooks, delivery, Arc::clone(&clock))?;
        let store = dispatcher.audit_store(audit);
        let checker = ExpiryChecker::new(keys, Arc::clone(&store), clock, expiry.window)?;
        let watcher = ExpiryWatcher::start(checker, expiry.interval.max(Duration::from_secs(1)))?;
        Ok(Self {
            store,
            dispatcher,
            watcher: Some(watcher),
        })
    }

    /// The audit store to record through: it writes to the store given to
    /// [`start`](Self::start), then offers each stored batch for delivery.
    pub fn audit_store(&self) -> Arc<dyn AuditEventStore> {
        Arc::clone(&self.store)
    }

    /// The dispatcher (its counters, [`WebhookDispatcher::wait_idle`]).
    pub fn dispatcher(&self) -> &WebhookDispatcher {
        &self.dispatcher
    }

    /// Stops the watcher, then the dispatcher.
    pub fn shutdown(&mut self) {
        if let Some(mut watcher) = self.watcher.take() {
            watcher.stop();
        }
        self.dispatcher.shutdown();
    }
}

impl Drop for AuditPipeline {
    fn drop(&mut self) {
        self.shutdown();
    }
}
