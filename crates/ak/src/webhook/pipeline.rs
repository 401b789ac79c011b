//! The audit recorder, the webhook dispatcher behind it and the expiry watcher, started and
//! stopped together, for the process that serves a store (`ak serve`).

use std::sync::Arc;
use std::time::Duration;

use ak_core::audit::{AuditConfig, AuditEventStore, AuditRecorder};
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

/// An [`AuditRecorder`] whose writer hands every stored batch to a [`WebhookDispatcher`], which
/// records its delivery failures through the same recorder, and an [`ExpiryWatcher`] recording
/// `accesskey.expiring` through it.
///
/// [`shutdown`](Self::shutdown) (also run on drop) stops them in the order that loses nothing
/// that can still be saved: the watcher, then the recorder (writing every queued event and
/// offering it for delivery), then the dispatcher (its grace period).
#[derive(Debug)]
pub struct AuditPipeline {
    recorder: Arc<AuditRecorder>,
    dispatcher: WebhookDispatcher,
    watcher: Option<ExpiryWatcher>,
}

impl AuditPipeline {
    /// Starts the three over `keys` and `audit` (views of one store), delivering to `webhooks`.
    pub fn start(
        keys: Arc<dyn KeyStore>,
        audit: Arc<dyn AuditEventStore>,
        webhooks: Webhooks,
        clock: Arc<dyn Clock>,
        audit_config: AuditConfig,
        delivery: DeliveryConfig,
        expiry: &ExpiryConfig,
    ) -> Result<Self, PipelineError> {
        let dispatcher = WebhookDispatcher::start_with_clock(webhooks, delivery, Arc::clone(&clock))?;
        let recorder = Arc::new(AuditRecorder::with_config(
            dispatcher.audit_store(Arc::clone(&audit)),
            audit_config,
            Arc::clone(&clock),
        ));
        dispatcher.record_failures_to(&recorder);
        let checker = ExpiryChecker::new(keys, audit, Arc::clone(&recorder), clock, expiry.window)?;
        let watcher = ExpiryWatcher::start(checker, expiry.interval.max(Duration::from_secs(1)))?;
        Ok(Self {
            recorder,
            dispatcher,
            watcher: Some(watcher),
        })
    }

    /// The recorder: record every audit event through it.
    pub fn recorder(&self) -> &Arc<AuditRecorder> {
        &self.recorder
    }

    /// The dispatcher (its counters, [`WebhookDispatcher::wait_idle`]).
    pub fn dispatcher(&self) -> &WebhookDispatcher {
        &self.dispatcher
    }

    /// Stops the watcher, the recorder and the dispatcher, in that order.
    pub fn shutdown(&mut self) {
        if let Some(mut watcher) = self.watcher.take() {
            watcher.stop();
        }
        self.recorder.shutdown();
        self.dispatcher.shutdown();
    }
}

impl Drop for AuditPipeline {
    fn drop(&mut self) {
        self.shutdown();
    }
}
