//! `accesskey.expiring`: one audit event per key when it enters the warning window before its
//! expiry, so a webhook can page someone before the key dies.
//!
//! An [`ExpiryChecker`] looks for active keys whose expiry lies in `(now, now + window]` (the
//! key search's `expires_before` filter, backed by an index in the disk stores) and records
//! [`accesskey.expiring`](actions::ACCESS_KEY_EXPIRING) for each key that has not had one for
//! its current expiry time: actor [`EXPIRY_ACTOR`], the key id, the key's tenants, and
//! `data: {"expireTime": <Unix seconds>}`. An [`ExpiryWatcher`] runs the check on a background
//! thread at start and then every [`ExpiryConfig::interval`] (default
//! [`DEFAULT_EXPIRY_CHECK_INTERVAL`], 10 minutes), in the process that runs the audit recorder
//! (`ak serve`).
//!
//! **Once.** "Already warned" is decided from the audit trail itself: a key is passed over when
//! the trail holds an `accesskey.expiring` event for it with the same `expireTime`, so a restart
//! does not warn again, and a key whose expiry is moved later is warned again when the new expiry
//! comes near. The checker also remembers what it recorded itself, since the recorder writes in
//! the background. The window is at most [`MAX_EXPIRY_WARNING`] (30 days, the default audit
//! retention), so the event it looks for has not been pruned. Two processes checking at the very
//! same moment may each record one (a race the trail makes visible, never a missed warning).
//! Keys already expired, deactivated keys and keys without expiry get no event.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use ak_core::audit::{AuditEvent, AuditEventStore, AuditQuery, AuditRecorder, actions};
use ak_core::limits::MAX_PAGE_SIZE;
use ak_core::{Clock, ExpiryFilter, KeyStatus, KeyStore, SearchQuery, StoreError};

/// The default warning window: 7 days before expiry.
pub const DEFAULT_EXPIRY_WARNING: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest warning window: 30 days (the default audit retention).
pub const MAX_EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often an [`ExpiryWatcher`] checks by default: every 10 minutes.
pub const DEFAULT_EXPIRY_CHECK_INTERVAL: Duration = Duration::from_secs(600);
/// The actor of `accesskey.expiring` events.
pub const EXPIRY_ACTOR: &str = "ak:expiry";

/// How far ahead to warn and how often to look.
#[derive(Debug, Clone)]
pub struct ExpiryConfig {
    /// Warn this long before expiry ([`DEFAULT_EXPIRY_WARNING`], at most [`MAX_EXPIRY_WARNING`]).
    pub window: Duration,
    /// Check this often ([`DEFAULT_EXPIRY_CHECK_INTERVAL`]).
    pub interval: Duration,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        Self {
            window: DEFAULT_EXPIRY_WARNING,
            interval: DEFAULT_EXPIRY_CHECK_INTERVAL,
        }
    }
}

/// The warning window was longer than [`MAX_EXPIRY_WARNING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the expiry warning window may be at most 30 days, got {0:?}")]
pub struct ExpiryWindowError(pub Duration);

/// Finds keys entering the warning window and records `accesskey.expiring` once for each.
#[derive(Debug)]
pub struct ExpiryChecker {
    keys: Arc<dyn KeyStore>,
    audit: Arc<dyn AuditEventStore>,
    recorder: Arc<AuditRecorder>,
    clock: Arc<dyn Clock>,
    window_secs: i64,
    /// `(key id, expiry)` this checker recorded, which the trail may not show yet.
    recorded: Mutex<HashSet<(String, i64)>>,
}

impl ExpiryChecker {
    /// A checker over `keys`, reading `audit` for earlier warnings and recording through
    /// `recorder`, warning `window` ahead by `clock`.
    pub fn new(
        keys: Arc<dyn KeyStore>,
        audit: Arc<dyn AuditEventStore>,
        recorder: Arc<AuditRecorder>,
        clock: Arc<dyn Clock>,
        window: Duration,
    ) -> Result<Self, ExpiryWindowError> {
        if window > MAX_EXPIRY_WARNING {
            return Err(ExpiryWindowError(window));
        }
        Ok(Self {
            keys,
            audit,
            recorder,
            clock,
            window_secs: i64::try_from(window.as_secs()).map_err(|_| ExpiryWindowError(window))?,
            recorded: Mutex::new(HashSet::new()),
        })
    }

    /// One check now: records (queues on the recorder) an event for each key newly in the
    /// window and returns how many.
    pub fn check(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut query = SearchQuery {
            status: Some(KeyStatus::Active),
            expiry: Some(ExpiryFilter::UnexpiredAt(now)),
            // `expires_before` is strict: expiry <= now + window.
            expires_before: Some(now.saturating_add(self.window_secs).saturating_add(1)),
            limit: MAX_PAGE_SIZE,
            ..SearchQuery::default()
        };
        let mut warned = 0;
        loop {
            let page = self.keys.search(&query)?;
            for record in &page.items {
                let key = &record.key;
                let Some(expiry) = key.expire_time else { continue };
                if self.already_warned(&key.id, expiry)? {
                    continue;
                }
                let mut event = AuditEvent::new(
                    actions::ACCESS_KEY_EXPIRING,
                    EXPIRY_ACTOR,
                    self.clock.now_millis(),
                )
                .with_keys([key.id.as_str()])
                .with_data("expireTime", expiry);
                event.tenants = key.tenant_ids().map(str::to_owned).collect();
                if self.recorder.record(event) {
                    self.recorded
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert((key.id.clone(), expiry));
                    warned += 1;
                }
            }
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(warned),
            }
        }
    }

    fn already_warned(&self, id: &str, expiry: i64) -> Result<bool, StoreError> {
        if self
            .recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(id.to_owned(), expiry))
        {
            return Ok(true);
        }
        let mut query = AuditQuery {
            key_ids: vec![id.to_owned()],
            actions: vec![actions::ACCESS_KEY_EXPIRING.to_owned()],
            limit: MAX_PAGE_SIZE,
            ..AuditQuery::default()
        };
        loop {
            let page = self.audit.search_audit_events(&query)?;
            if page
                .items
                .iter()
                .any(|event| event.data.get("expireTime").and_then(serde_json::Value::as_i64) == Some(expiry))
            {
                return Ok(true);
            }
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(false),
            }
        }
    }
}

/// Runs an [`ExpiryChecker`] at start and then every interval, on a background thread, until
/// stopped (also on drop).
#[derive(Debug)]
pub struct ExpiryWatcher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl ExpiryWatcher {
    /// Starts checking with `checker` every `interval`.
    pub fn start(checker: ExpiryChecker, interval: Duration) -> std::io::Result<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("ak-expiry".into())
            .spawn(move || {
                let (stopped, wake) = &*thread_stop;
                loop {
                    match checker.check() {
                        Ok(0) => {}
                        Ok(count) => tracing::info!(count, "recorded accesskey.expiring events"),
                        Err(error) => tracing::warn!(error = %error, "checking for expiring keys failed"),
                    }
                    let guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
                    let (guard, _) = wake
                        .wait_timeout_while(guard, interval, |stopped| !*stopped)
                        .unwrap_or_else(PoisonError::into_inner);
                    if *guard {
                        return;
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the expiry watcher thread panicked");
        }
    }
}

impl Drop for ExpiryWatcher {
    fn drop(&mut self) {
        self.stop();
    }
}
