//! What an audit search asks for, its order (newest first) and its cursors.

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};

use super::event::{AuditEvent, Outcome};
use crate::limits::{
    DEFAULT_PAGE_SIZE, MAX_AUDIT_FILTER_VALUES, MAX_CURSOR_BYTES, MAX_ID_CHARS, MAX_PAGE_SIZE,
    MAX_SEARCH_TEXT_CHARS,
};
use crate::query::{Cursor, Page, SkippedRecord};
use crate::store::StoreError;
use crate::validate::{self, ValidationError};

/// An audit search. Every filter that is set must match; the default matches every event.
///
/// Results are newest first: by [`AuditEvent::occurred`] descending, ties by id descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Events about any of these keys (any of the event's key ids).
    pub key_ids: Vec<String>,
    /// Events with any of these actions.
    pub actions: Vec<String>,
    /// Events with none of these actions.
    pub excluded_actions: Vec<String>,
    /// Events by this actor.
    pub actor: Option<String>,
    /// Events from any of these client addresses.
    pub client_addresses: Vec<String>,
    /// Events with this outcome.
    pub outcome: Option<Outcome>,
    /// Events where this text occurs, ignoring ASCII case, in the action, the actor, a key id,
    /// the client address, the reason, a tenant, or the compact JSON of `data`.
    pub text: Option<String>,
    /// Events at or after this time (Unix ms).
    pub from: Option<i64>,
    /// Events at or before this time (Unix ms).
    pub to: Option<i64>,
    /// Most results in one page: 1..=[`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`].
    pub limit: u32,
    /// Continue after this cursor, taken from a previous page of the same query.
    pub cursor: Option<Cursor>,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            key_ids: Vec::new(),
            actions: Vec::new(),
            excluded_actions: Vec::new(),
            actor: None,
            client_addresses: Vec::new(),
            outcome: None,
            text: None,
            from: None,
            to: None,
            limit: DEFAULT_PAGE_SIZE,
            cursor: None,
        }
    }
}

/// The position after which a page starts: the `(occurred, id)` of the last event of the previous
/// page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPosition {
    /// The last event's time (Unix ms).
    pub occurred: i64,
    /// The last event's id.
    pub id: String,
}

#[derive(Serialize, Deserialize)]
struct AuditCursorBody {
    audit: AuditPosition,
}

impl AuditQuery {
    /// Checks limits: page size, list lengths, ids, text length, and the cursor.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.limit == 0 || self.limit > MAX_PAGE_SIZE {
            return Err(ValidationError::BadLimit { limit: self.limit });
        }
        validate::id_list("userIds", &self.key_ids, MAX_AUDIT_FILTER_VALUES)?;
        for (field, values) in [
            ("actions", &self.actions),
            ("excludedActions", &self.excluded_actions),
            ("remoteAddresses", &self.client_addresses),
        ] {
            validate::count(field, values.len(), MAX_AUDIT_FILTER_VALUES)?;
            for value in values {
                validate::max_chars(field, value, MAX_ID_CHARS)?;
            }
        }
        if let Some(actor) = &self.actor {
            validate::id("actorId", actor)?;
        }
        if let Some(text) = &self.text {
            validate::max_chars("text", text, MAX_SEARCH_TEXT_CHARS)?;
        }
        self.position()?;
        Ok(())
    }

    /// Whether `event` passes every filter (the cursor and limit are not filters).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        (self.key_ids.is_empty() || event.key_ids.iter().any(|id| self.key_ids.contains(id)))
            && (self.actions.is_empty() || self.actions.contains(&event.action))
            && !self.excluded_actions.contains(&event.action)
            && self.actor.as_ref().is_none_or(|actor| &event.actor == actor)
            && (self.client_addresses.is_empty()
                || event
                    .client_address
                    .as_ref()
                    .is_some_and(|address| self.client_addresses.contains(address)))
            && self.outcome.is_none_or(|outcome| event.outcome == outcome)
            && self.from.is_none_or(|from| event.occurred >= from)
            && self.to.is_none_or(|to| event.occurred <= to)
            && self.text.as_ref().is_none_or(|text| text_matches(event, text))
    }

    /// The decoded cursor.
    pub fn position(&self) -> Result<Option<AuditPosition>, ValidationError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let text = cursor.as_str();
        if text.len() > MAX_CURSOR_BYTES {
            return Err(ValidationError::TooLong {
                field: "cursor",
                max: MAX_CURSOR_BYTES,
                actual: text.len(),
            });
        }
        let bytes = BASE64URL_NOPAD
            .decode(text.as_bytes())
            .map_err(|_| ValidationError::InvalidCursor)?;
        let body: AuditCursorBody =
            serde_json::from_slice(&bytes).map_err(|_| ValidationError::InvalidCursor)?;
        Ok(Some(body.audit))
    }

    /// A cursor pointing just after `event` in the newest-first order.
    pub fn cursor_after(event: &AuditEvent) -> Cursor {
        let body = AuditCursorBody {
            audit: AuditPosition {
                occurred: event.occurred,
                id: event.id.clone(),
            },
        };
        // Serializing an integer and a string cannot fail.
        let json = serde_json::to_vec(&body).unwrap_or_default();
        Cursor::from_string(BASE64URL_NOPAD.encode(&json))
    }

    /// Builds a page from candidates already in newest-first order: skips those at or before the
    /// cursor and those not matching, and stops after `limit` results. Candidates may be a
    /// superset of the matches; a [`StoreError::Corrupt`] candidate is listed in
    /// [`Page::skipped`], any other error ends the search. An invalid cursor matches nothing
    /// ([`validate`](Self::validate) reports it).
    pub fn page_from_sorted(
        &self,
        candidates: impl IntoIterator<Item = Result<AuditEvent, StoreError>>,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let Ok(position) = self.position() else {
            return Ok(Page::empty());
        };
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let mut page = Page::empty();
        for candidate in candidates {
            let event = match candidate {
                Ok(event) => event,
                Err(StoreError::Corrupt { id, reason, .. }) => {
                    page.skipped.push(SkippedRecord { id, reason });
                    continue;
                }
                Err(other) => return Err(other),
            };
            if !is_after(position.as_ref(), &event) || !self.matches(&event) {
                continue;
            }
            if page.items.len() == limit {
                page.next_cursor = page.items.last().map(Self::cursor_after);
                return Ok(page);
            }
            page.items.push(event);
        }
        Ok(page)
    }
}

/// Whether `event` comes strictly after `position` in the newest-first order.
pub fn is_after(position: Option<&AuditPosition>, event: &AuditEvent) -> bool {
    position.is_none_or(|position| {
        (event.occurred, event.id.as_str()) < (position.occurred, position.id.as_str())
    })
}

fn text_matches(event: &AuditEvent, text: &str) -> bool {
    let contains = |haystack: &str| contains_ignore_ascii_case(haystack, text);
    contains(&event.action)
        || contains(&event.actor)
        || event.key_ids.iter().any(|id| contains(id))
        || event.client_address.as_deref().is_some_and(contains)
        || event.reason.as_deref().is_some_and(contains)
        || event.tenants.iter().any(|tenant| contains(tenant))
        || (!event.data.is_empty() && serde_json::to_string(&event.data).is_ok_and(|json| contains(&json)))
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}
