//! Credentials: the `Authorization` header, the client address, and management-key checks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ak::ManagementKey;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use zeroize::Zeroizing;

use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::state::AppState;

/// The client's address (see [`client_ip`]); `None` when the router runs without connection
/// info, in which case permitted-IP checks fail closed and rate limiting shares one bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub(crate) Option<IpAddr>);

impl ClientIp {
    /// The address the rate limiter counts against.
    pub(crate) fn bucket(self) -> IpAddr {
        self.0.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(Self(peer.map(|peer| {
            client_ip(peer, &parts.headers, &state.config.trusted_proxies)
        })))
    }
}

/// The secret of `Authorization: Bearer <projectId>:<secret>[:<more>]`, if the project id is
/// `project_id`; anything else (no header, another scheme, no secret, another project) is `None`.
pub(crate) fn bearer_secret(headers: &HeaderMap, project_id: &str) -> Option<Zeroizing<String>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut parts = token.trim().split(':');
    let presented_project = parts.next()?;
    let secret = parts.next()?;
    // Constant-time is not needed for the project id: it is public (it is in every token).
    if presented_project != project_id || secret.is_empty() {
        return None;
    }
    Some(Zeroizing::new(secret.to_owned()))
}

/// Runs `work` (a secret verification) as blocking work ([`ak::run_blocking`]), within the
/// hashing bound.
pub(crate) async fn verify<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = Arc::clone(&state.hashing)
        .acquire_owned()
        .await
        .map_err(|error| ApiError::internal(&error))?;
    Ok(ak::run_blocking(work).await)
}

/// A caller authenticated with a management key, and the address it called from: the audit
/// trail records both for every management call.
#[derive(Debug, Clone)]
pub(crate) struct Manager(pub(crate) ManagementKey, pub(crate) ClientIp);

impl Manager {
    /// Management calls recorded in the audit trail as made by this key from its address.
    pub(crate) fn acting<'a>(&self, keys: &'a ak::AccessKeys) -> ak::Acting<'a> {
        keys.acting(self.0.id.clone(), self.1.0)
    }

    /// 403 unless the key may write.
    pub(crate) fn require_write(&self) -> Result<(), ApiError> {
        if self.0.read_only {
            Err(ApiError::forbidden(
                "this management key is read-only: it may only load and search",
            ))
        } else {
            Ok(())
        }
    }
}

impl FromRequestParts<AppState> for Manager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        let secret = bearer_secret(&parts.headers, &state.project_id);
        authenticate_management(state, ip, secret)
            .await
            .map(|key| Self(key, ip))
    }
}

/// The management key whose cleartext is `secret`, as every caller checks it (the API's bearer
/// header and the console's sign-in): 429 before any verification when `ip` has no failures
/// left, then [`verified`].
pub(crate) async fn authenticate_management(
    state: &AppState,
    ip: ClientIp,
    secret: Option<Zeroizing<String>>,
) -> Result<ManagementKey, ApiError> {
    state.limiter.check(ip.bucket()).map_err(ApiError::rate_limited)?;
    let management = Arc::clone(&state.management);
    verified(state, ip, secret, move |secret| management.authenticate(secret)).await
}

/// `check` of the presented `secret`, as every credential is checked once the rate limiter let
/// the client through: on the blocking pool within the hashing bound ([`verify`]), and an
/// authentication failure counted against `ip`. `None` (no usable credential) fails like a
/// wrong secret.
pub(crate) async fn verified<T, E>(
    state: &AppState,
    ip: ClientIp,
    secret: Option<Zeroizing<String>>,
    check: impl FnOnce(&str) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    let result = match secret {
        None => Err(ApiError::unauthorized()),
        Some(secret) => match verify(state, move || check(&secret)).await {
            Ok(checked) => checked.map_err(Into::into),
            Err(error) => Err(error),
        },
    };
    if let Err(error) = &result
        && error.is_auth_failure()
    {
        state.limiter.fail(ip.bucket());
    }
    result
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    /// However many verifications are asked for at once, at most `max_concurrent_hashes` run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn verifications_are_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use ak::{AccessKeys, KeySet, MemoryKeyStore, SigningKey};

        use crate::rate_limit::RateLimiter;
        use crate::state::Shared;

        let store = Arc::new(MemoryKeyStore::new());
        let keys = AccessKeys::builder()
            .shared_store(store.clone())
            .signing_keys(KeySet::new(SigningKey::generate()))
            .issuer("p")
            .build()
            .unwrap();
        let state = AppState(Arc::new(Shared {
            keys: ak::AsyncAccessKeys::new(keys),
            management: Arc::new(ak::ManagementKeys::new(store).unwrap()),
            project_id: "p".into(),
            limiter: RateLimiter::new(1, 1.0),
            hashing: Arc::new(tokio::sync::Semaphore::new(2)),
            config: crate::ServerConfig::default(),
            console: crate::console::session::Sessions::default(),
        }));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (state, running, peak) = (state.clone(), Arc::clone(&running), Arc::clone(&peak));
                tokio::spawn(async move {
                    verify(&state, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // Never more than the bound; and the bound is reached, so the limit is what held them back.
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn bearer_parsing() {
        let secret = |value: &str| bearer_secret(&with(value), "proj").map(|s| s.to_string());
        assert_eq!(secret("Bearer proj:abc").as_deref(), Some("abc"));
        assert_eq!(secret("bearer proj:abc:authmgmt").as_deref(), Some("abc"));
        for bad in [
            "Bearer proj",
            "Bearer proj:",
            "Bearer other:abc",
            "Basic proj:abc",
            "Bearer",
            "proj:abc",
        ] {
            assert_eq!(secret(bad), None, "{bad}");
        }
        assert!(bearer_secret(&HeaderMap::new(), "proj").is_none());
    }
}
