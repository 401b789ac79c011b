//! What every handler shares.

use std::sync::Arc;

use ak::{AsyncAccessKeys, ManagementKeys};
use tokio::sync::Semaphore;

use crate::config::ServerConfig;
use crate::console::session::Sessions;
use crate::rate_limit::RateLimiter;

/// The handlers' shared state. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState(pub(crate) Arc<Shared>);

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) keys: AsyncAccessKeys,
    pub(crate) management: Arc<ManagementKeys>,
    /// The configured issuer, which is the project id clients must present.
    pub(crate) project_id: String,
    pub(crate) limiter: RateLimiter,
    /// Bounds concurrent secret verifications.
    pub(crate) hashing: Arc<Semaphore>,
    pub(crate) config: ServerConfig,
    /// The admin console's signed-in sessions.
    pub(crate) console: Sessions,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
