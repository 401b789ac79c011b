//! Console sessions: server-side, in memory, keyed by the SHA-256 of a random id.
//!
//! The browser holds only the id (256 random bits, in an HttpOnly, SameSite=Strict cookie); the
//! server keeps the SHA-256 of it, so a memory dump or a log of the map reveals no live cookie.
//! A session ends [`CONSOLE_SESSION_IDLE`] after its last request, [`CONSOLE_SESSION_LIFETIME`]
//! after sign-in, at sign-out, or when its management key is deleted (checked on every request
//! against the store). Sessions live in one process: with several `ak serve` nodes, route a
//! browser to one node (sticky sessions) or sign in on each.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use ak::{OsRandom, RandomSource};
use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::config::{CONSOLE_SESSION_IDLE, CONSOLE_SESSION_LIFETIME, MAX_CONSOLE_SESSIONS};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "ak_console";

/// One signed-in browser.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The management key it signed in with.
    pub(crate) key_id: String,
    /// Token every state-changing form carries (the CSRF check besides the origin check).
    pub(crate) csrf: String,
    /// A one-time message for the next page (e.g. "Key deactivated.").
    pub(crate) flash: Option<String>,
    started: Instant,
    seen: Instant,
}

impl Session {
    /// Whether `presented` is this session's CSRF token (constant time).
    pub(crate) fn csrf_matches(&self, presented: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// The sessions of one server.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_hash: Mutex<HashMap<[u8; 32], Session>>,
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_token() -> Result<String, ak::crates::core::RandomError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRandom.fill_bytes(bytes.as_mut())?;
    Ok(BASE64URL_NOPAD.encode(bytes.as_ref()))
}

impl Sessions {
    /// Starts a session for management key `key_id`: the cookie value (the only copy of the id).
    pub(crate) fn start(&self, key_id: String) -> Result<Zeroizing<String>, ak::crates::core::RandomError> {
        self.start_at(key_id, Instant::now())
    }

    fn start_at(
        &self,
        key_id: String,
        now: Instant,
    ) -> Result<Zeroizing<String>, ak::crates::core::RandomError> {
        let id = Zeroizing::new(random_token()?);
        let session = Session {
            key_id,
            csrf: random_token()?,
            flash: None,
            started: now,
            seen: now,
        };
        let mut map = self.by_hash.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_CONSOLE_SESSIONS {
            map.retain(|_, session| live(session, now));
            if map.len() >= MAX_CONSOLE_SESSIONS
                && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.started).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        map.insert(digest(&id), session);
        Ok(id)
    }

    /// The live session of cookie value `id`, marked as seen now, with its flash taken out.
    pub(crate) fn touch(&self, id: &str) -> Option<Session> {
        self.touch_at(id, Instant::now())
    }

    fn touch_at(&self, id: &str, now: Instant) -> Option<Session> {
        let key = digest(id);
        let mut map = self.by_hash.lock().unwrap_or_else(PoisonError::into_inner);
        let session = map.get_mut(&key)?;
        if !live(session, now) {
            map.remove(&key);
            return None;
        }
        session.seen = now;
        let current = session.clone();
        session.flash = None;
        Some(current)
    }

    /// Leaves `message` for the next page of session `id`.
    pub(crate) fn flash(&self, id: &str, message: String) {
        let mut map = self.by_hash.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(session) = map.get_mut(&digest(id)) {
            session.flash = Some(message);
        }
    }

    /// Ends session `id` at once.
    pub(crate) fn end(&self, id: &str) {
        self.by_hash
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&digest(id));
    }
}

fn live(session: &Session, now: Instant) -> bool {
    let idle = now.saturating_duration_since(session.seen);
    let age = now.saturating_duration_since(session.started);
    idle < CONSOLE_SESSION_IDLE && age < CONSOLE_SESSION_LIFETIME
}

/// The `Set-Cookie` value that holds `id`; `Secure` when the connection is TLS.
pub(crate) fn cookie(id: &str, secure: bool) -> String {
    let max_age = CONSOLE_SESSION_LIFETIME.as_secs();
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// The `Set-Cookie` value that removes the cookie.
pub(crate) fn removal(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The session id in a `Cookie` header, if any.
pub(crate) fn from_cookie_header(headers: &axum::http::HeaderMap) -> Option<Zeroizing<String>> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| Zeroizing::new(value.to_owned()))
        .filter(|value| !value.is_empty())
}

/// Seconds, for tests that move the clock.
#[cfg(test)]
const SECOND: std::time::Duration = std::time::Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_on_idle_lifetime_and_sign_out() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let id = sessions.start_at("K1".into(), now).unwrap();
        assert_eq!(sessions.touch_at(&id, now).unwrap().key_id, "K1");
        // Idle just under the limit keeps it, and each request resets the idle clock...
        let later = now + CONSOLE_SESSION_IDLE - SECOND;
        assert!(sessions.touch_at(&id, later).is_some());
        // ...until the lifetime is over, however busy.
        let mut at = later;
        while at < now + CONSOLE_SESSION_LIFETIME - CONSOLE_SESSION_IDLE {
            at += CONSOLE_SESSION_IDLE - SECOND;
            assert!(sessions.touch_at(&id, at).is_some());
        }
        assert!(sessions.touch_at(&id, now + CONSOLE_SESSION_LIFETIME).is_none());

        let idle = sessions.start_at("K2".into(), now).unwrap();
        assert!(sessions.touch_at(&idle, now + CONSOLE_SESSION_IDLE).is_none());

        let ended = sessions.start_at("K3".into(), now).unwrap();
        sessions.end(&ended);
        assert!(sessions.touch_at(&ended, now).is_none());
        assert!(sessions.touch_at("not-a-session", now).is_none());
    }

    #[test]
    fn only_hashes_are_kept_and_flash_is_read_once() {
        let sessions = Sessions::default();
        let id = sessions.start("K".into()).unwrap();
        {
            let map = sessions.by_hash.lock().unwrap();
            assert!(map.contains_key(&digest(&id)));
            assert!(!format!("{map:?}").contains(id.as_str()));
        }
        sessions.flash(&id, "done".into());
        assert_eq!(sessions.touch(&id).unwrap().flash.as_deref(), Some("done"));
        assert_eq!(sessions.touch(&id).unwrap().flash, None);
    }

    #[test]
    fn sessions_stay_bounded() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let first = sessions.start_at("first".into(), now).unwrap();
        for n in 1..=MAX_CONSOLE_SESSIONS {
            let at = now + std::time::Duration::from_millis(u64::try_from(n).unwrap());
            sessions.start_at(format!("K{n}"), at).unwrap();
        }
        assert_eq!(sessions.by_hash.lock().unwrap().len(), MAX_CONSOLE_SESSIONS);
        // The oldest made room.
        assert!(sessions.touch_at(&first, now).is_none());
    }

    #[test]
    fn cookie_flags() {
        let plain = cookie("abc", false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        assert!(cookie("abc", true).ends_with("; Secure"));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "other=1; ak_console=xyz".parse().unwrap(),
        );
        assert_eq!(from_cookie_header(&headers).unwrap().as_str(), "xyz");
    }
}
