//! Delivery: a background dispatcher that POSTs stored audit events to the matching webhooks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use ak_core::audit::{AuditEvent, AuditEventStore, AuditQuery, reasons};
use ak_core::{Clock, Page, StoreError, SystemClock};
use serde::Serialize;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;

use ak_core::audit::actions;

use super::{WebhookSecret, Webhooks};

/// How many events may wait for the dispatcher before new ones are dropped (and counted): 10 000.
pub const DEFAULT_DELIVERY_QUEUE: usize = 10_000;
/// Attempts per delivery, the first included: 6.
pub const DEFAULT_DELIVERY_ATTEMPTS: u32 = 6;
/// The wait before the first retry; each later retry waits twice as long as the previous one
/// (1, 2, 4, 8, 16 s with the defaults), at most [`MAX_RETRY_DELAY`].
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts: 5 minutes.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);
/// How long one attempt may take to connect: 5 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt may take in all (connect, send, response head): 10 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most deliveries in progress at once (attempts and the waits between them): 32.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;
/// How long [`WebhookDispatcher::shutdown`] lets queued and in-progress deliveries finish: 5 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The actor of the events the dispatcher records.
pub const DISPATCHER_ACTOR: &str = "ak:webhooks";

/// How a [`WebhookDispatcher`] queues, retries and times out.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Events waiting for the dispatcher, at most ([`DEFAULT_DELIVERY_QUEUE`], at least 1).
    pub queue_capacity: usize,
    /// Attempts per delivery, the first included ([`DEFAULT_DELIVERY_ATTEMPTS`], at least 1).
    pub attempts: u32,
    /// The first retry delay, doubled for each later retry ([`DEFAULT_RETRY_DELAY`]).
    pub retry_delay: Duration,
    /// Connect timeout of one attempt ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Duration,
    /// Whole timeout of one attempt ([`DEFAULT_REQUEST_TIMEOUT`]).
    pub request_timeout: Duration,
    /// Deliveries in progress at once ([`DEFAULT_MAX_IN_FLIGHT`], at least 1).
    pub max_in_flight: usize,
    /// What shutdown waits for before abandoning deliveries ([`DEFAULT_SHUTDOWN_GRACE`]).
    pub shutdown_grace: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            queue_capacity: DEFAULT_DELIVERY_QUEUE,
            attempts: DEFAULT_DELIVERY_ATTEMPTS,
            retry_delay: DEFAULT_RETRY_DELAY,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

impl DeliveryConfig {
    /// The wait before attempt `attempt` (2 for the first retry).
    fn delay_before(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(30);
        self.retry_delay
            .saturating_mul(1u32 << doublings)
            .min(MAX_RETRY_DELAY)
    }
}

/// Delivers audit events to webhooks, from a background thread, after they are stored.
///
/// * **Behind the recorder's writer.** Wrap the audit store in [`audit_store`](Self::audit_store)
///   and give that to the [`AuditRecorder`](ak_core::audit::AuditRecorder) (for an
///   [`AccessKeys`](crate::AccessKeys): to
///   [`audit_store`](crate::AccessKeysBuilder::audit_store)): each batch the writer has appended successfully is
///   then offered here, so an event is delivered only once it is in the trail. Offering never
///   waits: events go into a bounded queue ([`DeliveryConfig::queue_capacity`]); when it is full
///   they are dropped for delivery (not for the trail), counted in [`dropped`](Self::dropped),
///   and logged once per overflow episode. Nothing the dispatcher does slows the event's source.
/// * **Matching.** For each event, every webhook whose action filter passes the event's action
///   gets one delivery. The webhook list is read from the store once per batch, so a webhook added
///   or deleted by another process takes effect with the next batch. A webhook whose secret does
///   not open (another master key) is skipped and logged.
/// * **Request.** `POST` to the URL, `Content-Type: application/json`, the body
///   `{"type": action, "timestamp": RFC 3339 of the event, "data": the event as the audit API
///   shows it}`, and the Standard Webhooks headers `webhook-id` (the event id), `webhook-timestamp`
///   (Unix seconds of the attempt) and `webhook-signature` (see [`crate::webhook`]). Redirects are
///   not followed. The response body is not read.
/// * **Retries.** A 2xx answer is success. A connection failure, a timeout, a 5xx, a 408 or a 429
///   is retried, up to [`DeliveryConfig::attempts`] attempts, waiting
///   [`DeliveryConfig::retry_delay`] before the first retry and twice as long before each later
///   one; any other answer (3xx, other 4xx) fails at once. Each attempt is signed afresh. A
///   webhook deleted meanwhile gets no further attempt.
/// * **Failures are audited.** A delivery that failed for good appends
///   [`webhook.delivery.failed`](actions::WEBHOOK_DELIVERY_FAILED) to the audit store given to
///   [`audit_store`](Self::audit_store), directly (a rare write, on the dispatcher's thread, so it
///   is in the trail at once) and offers it for delivery like any event: outcome failure, reason `error`, and in
///   `data` the webhook id, the event's id and action, the attempts made and either the last
///   HTTP `status` or the error class (`timeout`, `connect`, `redirect`, `request`). Never the
///   URL, the secret or the signature. So that failures cannot feed themselves, a failed delivery
///   *of a* `webhook.delivery.failed` event is only logged.
/// * **Not durable.** Queued events and pending retries live in memory: a crash or a shutdown past
///   [`DeliveryConfig::shutdown_grace`] abandons them (the events stay in the trail, where a
///   receiver that missed some can read them). Delivery is at least once while the process runs:
///   a receiver should drop duplicates by `webhook-id`.
///
/// Cheap to clone; the last handle dropped shuts the dispatcher down.
#[derive(Debug, Clone)]
pub struct WebhookDispatcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The dispatcher thread's id: a shutdown run on it (the last handle dropped there) must not
    /// join itself.
    thread_id: Option<std::thread::ThreadId>,
}

#[derive(Debug)]
struct Shared {
    webhooks: Webhooks,
    config: DeliveryConfig,
    clock: Arc<dyn Clock>,
    sender: Mutex<Option<mpsc::Sender<AuditEvent>>>,
    shutdown: Notify,
    /// Where failure events are written: the store given to [`WebhookDispatcher::audit_store`].
    trail: Mutex<Option<Arc<dyn AuditEventStore>>>,
    dropped: AtomicU64,
    overflow_logged: std::sync::atomic::AtomicBool,
    /// Events offered and not yet fully delivered (or given up), for [`WebhookDispatcher::wait_idle`].
    busy: Mutex<u64>,
    idle: Condvar,
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl Shared {
    fn busy(&self) -> MutexGuard<'_, u64> {
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start_work(&self, count: u64) {
        *self.busy() += count;
    }

    fn finish_work(&self, count: u64) {
        let mut busy = self.busy();
        *busy = busy.saturating_sub(count);
        if *busy == 0 {
            self.idle.notify_all();
        }
    }

    /// Appends `event` to the trail, then offers it for delivery.
    fn record(&self, event: AuditEvent) {
        let trail = self.trail.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let Some(trail) = trail else {
            tracing::warn!(action = %event.action, "no audit store to record a webhook delivery failure in");
            return;
        };
        let events = [event];
        match trail.append_audit_events(&events) {
            Ok(()) => self.offer(&events),
            Err(error) => tracing::error!(error = %error, "cannot record a webhook delivery failure"),
        }
    }

    fn offer(&self, events: &[AuditEvent]) {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let mut accepted = 0u64;
        let mut dropped = 0u64;
        for event in events {
            let sent = sender.as_ref().is_some_and(|sender| {
                self.start_work(1);
                let sent = sender.try_send(event.clone()).is_ok();
                if !sent {
                    self.finish_work(1);
                }
                sent
            });
            if sent {
                accepted += 1;
            } else {
                dropped += 1;
            }
        }
        if dropped > 0 {
            let total = self.dropped.fetch_add(dropped, Ordering::Relaxed) + dropped;
            if !self.overflow_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    dropped = total,
                    capacity = self.config.queue_capacity,
                    "webhook queue full or closed: events not delivered (they stay in the audit trail)"
                );
            }
        } else if accepted > 0 {
            self.overflow_logged.store(false, Ordering::Relaxed);
        }
    }
}

/// Why the dispatcher could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatcherError {
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
    /// The runtime or the thread could not be started.
    #[error("cannot start the webhook dispatcher: {0}")]
    Start(#[from] std::io::Error),
}

impl WebhookDispatcher {
    /// Starts a dispatcher for the webhooks of `webhooks`, with the system clock.
    pub fn start(webhooks: Webhooks, config: DeliveryConfig) -> Result<Self, DispatcherError> {
        Self::start_with_clock(webhooks, config, Arc::new(SystemClock))
    }

    /// Starts a dispatcher whose signatures and failure events are dated by `clock`.
    pub fn start_with_clock(
        webhooks: Webhooks,
        mut config: DeliveryConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DispatcherError> {
        config.queue_capacity = config.queue_capacity.max(1);
        config.attempts = config.attempts.max(1);
        config.max_in_flight = config.max_in_flight.max(1);
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ak-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| DispatcherError::Client(error.to_string()))?;
        let (sender, receiver) = mpsc::channel(config.queue_capacity);
        let shared = Arc::new(Shared {
            webhooks,
            config,
            clock,
            sender: Mutex::new(Some(sender)),
            shutdown: Notify::new(),
            trail: Mutex::new(None),
            dropped: AtomicU64::new(0),
            overflow_logged: std::sync::atomic::AtomicBool::new(false),
            busy: Mutex::new(0),
            idle: Condvar::new(),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("ak-webhooks".into())
            .spawn(move || runtime.block_on(run(thread_shared, client, receiver)))?;
        let thread_id = Some(thread.thread().id());
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                thread: Mutex::new(Some(thread)),
                thread_id,
            }),
        })
    }

    /// `store`, wrapped so that every batch appended through it is then offered to this
    /// dispatcher; delivery failures are appended to it as well. Give it to the audit recorder
    /// (and to whatever else records events that should be delivered).
    pub fn audit_store(&self, store: Arc<dyn AuditEventStore>) -> Arc<dyn AuditEventStore> {
        *self
            .inner
            .shared
            .trail
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&store));
        Arc::new(DeliveringStore {
            inner: store,
            dispatcher: self.clone(),
        })
    }

    /// Queues `events` for delivery; never waits. Events beyond the queue's capacity are dropped
    /// and counted.
    pub fn offer(&self, events: &[AuditEvent]) {
        self.inner.shared.offer(events);
    }

    /// Events not delivered because the queue was full or closed, since start.
    pub fn dropped(&self) -> u64 {
        self.inner.shared.dropped.load(Ordering::Relaxed)
    }

    /// Deliveries that succeeded, since start.
    pub fn delivered(&self) -> u64 {
        self.inner.shared.delivered.load(Ordering::Relaxed)
    }

    /// Deliveries that failed for good, since start.
    pub fn failed(&self) -> u64 {
        self.inner.shared.failed.load(Ordering::Relaxed)
    }

    /// Waits until every event offered so far has been delivered or given up on. For tests and
    /// for callers about to exit; nothing on a request path calls it.
    pub fn wait_idle(&self) {
        let shared = &self.inner.shared;
        let mut busy = shared.busy();
        while *busy > 0 {
            busy = shared.idle.wait(busy).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Stops taking events, lets queued and in-progress deliveries run for at most
    /// [`DeliveryConfig::shutdown_grace`], abandons the rest and stops the thread. Dropping the
    /// last handle does the same. Shut the recorder down first, so its last batch is offered.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }
}

impl Inner {
    fn shutdown(&self) {
        let shared = &self.shared;
        drop(
            shared
                .sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        shared.shutdown.notify_one();
        if self.thread_id == Some(std::thread::current().id()) {
            return;
        }
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the webhook dispatcher thread panicked");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The audit store the recorder writes to: appends, then offers what it appended.
#[derive(Debug)]
struct DeliveringStore {
    inner: Arc<dyn AuditEventStore>,
    dispatcher: WebhookDispatcher,
}

impl AuditEventStore for DeliveringStore {
    fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.inner.append_audit_events(events)?;
        self.dispatcher.offer(events);
        Ok(())
    }

    fn search_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        self.inner.search_audit_events(query)
    }

    fn prune_audit_events(&self, older_than: i64, max_events: u64) -> Result<u64, StoreError> {
        self.inner.prune_audit_events(older_than, max_events)
    }
}

/// The JSON body of a delivery, in the Standard Webhooks payload shape.
#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: &'a AuditEvent,
}

fn rfc3339_millis(millis: i64) -> String {
    let nanos = i128::from(millis) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

async fn run(shared: Arc<Shared>, client: reqwest::Client, mut receiver: mpsc::Receiver<AuditEvent>) {
    let permits = Arc::new(Semaphore::new(shared.config.max_in_flight));
    let mut tasks = JoinSet::new();
    loop {
        let first = tokio::select! {
            event = receiver.recv() => event,
            () = shared.shutdown.notified() => None,
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        while batch.len() < 1024
            && let Ok(event) = receiver.try_recv()
        {
            batch.push(event);
        }
        dispatch(&shared, &client, &permits, &mut tasks, batch).await;
        while tasks.try_join_next().is_some() {}
    }
    // Shutting down: what is queued and in progress gets the grace period, then is abandoned.
    receiver.close();
    let grace = shared.config.shutdown_grace;
    let drained = tokio::time::timeout(grace, async {
        let mut rest = Vec::new();
        while let Some(event) = receiver.recv().await {
            rest.push(event);
        }
        if !rest.is_empty() {
            dispatch(&shared, &client, &permits, &mut tasks, rest).await;
        }
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            in_progress = tasks.len(),
            "webhook dispatcher stopped with deliveries still in progress; they are abandoned"
        );
        tasks.abort_all();
    }
    // Release anyone waiting for idleness.
    let mut busy = shared.busy();
    *busy = 0;
    shared.idle.notify_all();
}

/// Runs a store call on the runtime's blocking pool, never on the dispatcher's own thread: a
/// synchronous store client (PostgreSQL's) cannot run on a runtime thread, and a slow store must
/// not stall the deliveries in flight. A panic in `work` is resumed here.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Starts one delivery per (event, matching webhook); waits for a free slot when
/// [`DeliveryConfig::max_in_flight`] are in progress.
async fn dispatch(
    shared: &Arc<Shared>,
    client: &reqwest::Client,
    permits: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    batch: Vec<AuditEvent>,
) {
    let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
    let lister = Arc::clone(shared);
    let targets = match off_runtime(move || lister.webhooks.signing_targets()).await {
        Ok(targets) => {
            for error in targets.errors {
                tracing::warn!(error = %error, "skipping a webhook whose secret cannot be opened");
            }
            targets.open
        }
        Err(error) => {
            tracing::warn!(error = %error, events = batch.len(), "cannot list webhooks; events not delivered");
            shared.finish_work(count);
            return;
        }
    };
    let targets: Vec<_> = targets
        .into_iter()
        .map(|(webhook, secret)| (webhook, Arc::new(secret)))
        .collect();
    for event in batch {
        let event = Arc::new(event);
        for (webhook, secret) in &targets {
            if !webhook.matches(&event.action) {
                continue;
            }
            let Ok(permit) = Arc::clone(permits).acquire_owned().await else {
                break;
            };
            shared.start_work(1);
            let delivery = Delivery {
                shared: Arc::clone(shared),
                client: client.clone(),
                webhook_id: webhook.id.clone(),
                url: webhook.url.clone(),
                secret: Arc::clone(secret),
                event: Arc::clone(&event),
            };
            tasks.spawn(async move {
                delivery.run().await;
                delivery.shared.finish_work(1);
                drop(permit);
            });
        }
        shared.finish_work(1);
    }
}

struct Delivery {
    shared: Arc<Shared>,
    client: reqwest::Client,
    webhook_id: String,
    url: String,
    secret: Arc<WebhookSecret>,
    event: Arc<AuditEvent>,
}

/// How one attempt ended.
enum Attempt {
    Delivered,
    /// Worth retrying.
    Retry(Failure),
    /// Not worth retrying.
    Final(Failure),
}

/// Why a delivery failed: the HTTP status, or an error class.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Status(u16),
    Redirect(u16),
    Timeout,
    Connect,
    Request,
}

impl Delivery {
    async fn run(&self) {
        let body = match serde_json::to_vec(&Payload {
            kind: &self.event.action,
            timestamp: rfc3339_millis(self.event.occurred),
            data: &self.event,
        }) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(error = %error, "cannot encode an audit event for delivery");
                return;
            }
        };
        let config = &self.shared.config;
        let mut attempts = 0;
        let failure = loop {
            attempts += 1;
            if attempts > 1 {
                tokio::time::sleep(config.delay_before(attempts)).await;
                let (shared, id) = (Arc::clone(&self.shared), self.webhook_id.clone());
                match off_runtime(move || shared.webhooks.exists(&id)).await {
                    Ok(true) => {}
                    // Deleted meanwhile: no more attempts, nothing to report.
                    Ok(false) => return,
                    Err(error) => {
                        tracing::warn!(error = %error, webhook = %self.webhook_id, "cannot check a webhook before retrying");
                    }
                }
            }
            match self.attempt(&body).await {
                Attempt::Delivered => {
                    self.shared.delivered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Attempt::Retry(failure) if attempts < config.attempts => {
                    tracing::debug!(webhook = %self.webhook_id, attempt = attempts, ?failure, "webhook delivery failed; retrying");
                }
                Attempt::Retry(failure) | Attempt::Final(failure) => break failure,
            }
        };
        self.shared.failed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            webhook = %self.webhook_id,
            event = %self.event.id,
            attempts,
            ?failure,
            "webhook delivery failed"
        );
        if self.event.action == actions::WEBHOOK_DELIVERY_FAILED {
            return;
        }
        let mut event = AuditEvent::new(
            actions::WEBHOOK_DELIVERY_FAILED,
            DISPATCHER_ACTOR,
            self.shared.clock.now_millis(),
        )
        .failed(reasons::ERROR)
        .with_data("webhookId", self.webhook_id.as_str())
        .with_data("eventId", self.event.id.as_str())
        .with_data("eventAction", self.event.action.as_str())
        .with_data("attempts", attempts);
        event = match failure {
            Failure::Status(status) => event.with_data("status", status),
            Failure::Redirect(status) => event.with_data("status", status).with_data("error", "redirect"),
            Failure::Timeout => event.with_data("error", "timeout"),
            Failure::Connect => event.with_data("error", "connect"),
            Failure::Request => event.with_data("error", "request"),
        };
        let shared = Arc::clone(&self.shared);
        off_runtime(move || shared.record(event)).await;
    }

    async fn attempt(&self, body: &[u8]) -> Attempt {
        let timestamp = self.shared.clock.now();
        let signature = self.secret.sign(&self.event.id, timestamp, body);
        let sent = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &self.event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                let code = status.as_u16();
                if status.is_success() {
                    Attempt::Delivered
                } else if status.is_server_error() || code == 408 || code == 429 {
                    Attempt::Retry(Failure::Status(code))
                } else if status.is_redirection() {
                    Attempt::Final(Failure::Redirect(code))
                } else {
                    Attempt::Final(Failure::Status(code))
                }
            }
            // Never the error's text: it may contain the URL.
            Err(error) if error.is_timeout() => Attempt::Retry(Failure::Timeout),
            Err(error) if error.is_connect() => Attempt::Retry(Failure::Connect),
            Err(_) => Attempt::Retry(Failure::Request),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = DeliveryConfig::default();
        let delays: Vec<u64> = (2..=6).map(|n| config.delay_before(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16]);
        assert_eq!(config.delay_before(40), MAX_RETRY_DELAY);
    }

    #[test]
    fn offers_after_shutdown_are_dropped_and_counted() {
        let store = Arc::new(ak_core::MemoryKeyStore::new());
        let webhooks = Webhooks::new(store, crate::signing::MasterKey::from_bytes([1; 32]));
        let dispatcher = WebhookDispatcher::start(webhooks, DeliveryConfig::default()).unwrap();
        dispatcher.shutdown();
        let event = AuditEvent::new("app.x", "me", 0);
        dispatcher.offer(&[event.clone(), event]);
        assert_eq!(dispatcher.dropped(), 2);
        dispatcher.wait_idle();
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
