//! Search filters, sort order, opaque cursors and pages.

use std::cmp::Ordering;

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::limits::{DEFAULT_PAGE_SIZE, MAX_CURSOR_BYTES, MAX_PAGE_SIZE, MAX_SEARCH_TEXT_CHARS, MAX_TENANTS};
use crate::model::{AccessKey, KeyRecord, KeyStatus};
use crate::store::StoreError;
use crate::validate::{self, ValidationError};

/// The field results are sorted by. Ties are always broken by key id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SortField {
    /// `createdTime`.
    #[default]
    CreatedTime,
    /// `name`, compared byte-wise (as SQLite's `BINARY` collation does).
    Name,
}

/// Filter on expiry, evaluated at the given time (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryFilter {
    /// Only keys expired at this time.
    ExpiredAt(i64),
    /// Only keys not expired at this time (including keys that never expire).
    UnexpiredAt(i64),
}

/// What to search for. Every filter that is set must match; the default matches every key.
///
/// Build one with struct-update syntax: `SearchQuery { status: Some(..), ..SearchQuery::default() }`.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Keys in any of these tenants.
    pub tenant_ids: Vec<String>,
    /// Keys bound to this user.
    pub bound_user_id: Option<String>,
    /// Keys created by this principal (Descope's `creatingUser`).
    pub created_by: Option<String>,
    /// Keys whose custom attributes contain all of these, with equal JSON values.
    pub custom_attributes: Map<String, Value>,
    /// Keys whose name or description contains this text, ignoring ASCII case.
    pub text: Option<String>,
    /// Keys with this status.
    pub status: Option<KeyStatus>,
    /// Keys expired, or not, at a given time.
    pub expiry: Option<ExpiryFilter>,
    /// Keys never used, or last used before this time (Unix seconds).
    pub not_used_since: Option<i64>,
    /// Keys that have an expiry before this time (Unix seconds); keys that never expire do not
    /// match.
    pub expires_before: Option<i64>,
    /// Sort field.
    pub sort: SortField,
    /// Sort descending instead of ascending.
    pub descending: bool,
    /// Most results in one page: 1..=[`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`].
    pub limit: u32,
    /// Continue after this cursor, taken from a previous page of the same query.
    pub cursor: Option<Cursor>,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            tenant_ids: Vec::new(),
            bound_user_id: None,
            created_by: None,
            custom_attributes: Map::new(),
            text: None,
            status: None,
            expiry: None,
            not_used_since: None,
            expires_before: None,
            sort: SortField::CreatedTime,
            descending: false,
            limit: DEFAULT_PAGE_SIZE,
            cursor: None,
        }
    }
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The results, in the query's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
    /// Stored records this page passed over because they could not be read (see the
    /// [`KeyStore`](crate::KeyStore) contract): a damaged record never hides the others.
    pub skipped: Vec<SkippedRecord>,
}

impl<T> Page<T> {
    /// A page of `items` with nothing skipped.
    pub fn new(items: Vec<T>, next_cursor: Option<Cursor>) -> Self {
        Self {
            items,
            next_cursor,
            skipped: Vec::new(),
        }
    }

    /// A page with no results.
    pub fn empty() -> Self {
        Self::new(Vec::new(), None)
    }

    /// The same page with each item mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            skipped: self.skipped,
        }
    }
}

/// A stored record a search could not read and passed over: a warning, not a result.
///
/// Loading the record by id fails with [`StoreError::Corrupt`] naming it; deleting it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// The record's id, when the damage left it readable.
    pub id: Option<String>,
    /// What is wrong with it (never the record's content).
    pub reason: String,
}

/// An opaque position in a result list. Pass it back unchanged as [`SearchQuery::cursor`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor's text, to hand to a client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A cursor from text a client returned; it is checked when the search runs.
    pub fn from_string(text: impl Into<String>) -> Self {
        Self(text.into())
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The decoded content of a cursor: the sort value and id of the last key of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Position {
    /// After this (`createdTime`, id).
    CreatedTime(i64, String),
    /// After this (`name`, id).
    Name(String, String),
}

#[derive(Serialize, Deserialize)]
struct CursorBody {
    desc: bool,
    at: Position,
}

impl SearchQuery {
    /// Checks limits: page size, text length, tenant count and id lengths, and the cursor.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.limit == 0 || self.limit > MAX_PAGE_SIZE {
            return Err(ValidationError::BadLimit { limit: self.limit });
        }
        validate::id_list("tenantIds", &self.tenant_ids, MAX_TENANTS)?;
        if let Some(user) = &self.bound_user_id {
            validate::id("boundUserId", user)?;
        }
        if let Some(creator) = &self.created_by {
            validate::id("createdBy", creator)?;
        }
        if let Some(text) = &self.text {
            validate::max_chars("text", text, MAX_SEARCH_TEXT_CHARS)?;
        }
        validate::custom_attributes(&self.custom_attributes)?;
        self.position()?;
        Ok(())
    }

    /// Whether `key` passes every filter (the cursor and limit are not filters).
    pub fn matches(&self, key: &AccessKey) -> bool {
        (self.tenant_ids.is_empty() || key.tenant_ids().any(|id| self.tenant_ids.iter().any(|t| t == id)))
            && self
                .bound_user_id
                .as_ref()
                .is_none_or(|user| key.bound_user_id.as_ref() == Some(user))
            && self
                .created_by
                .as_ref()
                .is_none_or(|creator| &key.created_by == creator)
            && self
                .custom_attributes
                .iter()
                .all(|(name, value)| key.custom_attributes.get(name) == Some(value))
            && self.text.as_ref().is_none_or(|text| {
                contains_ignore_ascii_case(&key.name, text)
                    || contains_ignore_ascii_case(&key.description, text)
            })
            && self.status.is_none_or(|status| key.status == status)
            && self.expiry.is_none_or(|expiry| match expiry {
                ExpiryFilter::ExpiredAt(now) => key.is_expired_at(now),
                ExpiryFilter::UnexpiredAt(now) => !key.is_expired_at(now),
            })
            && self
                .not_used_since
                .is_none_or(|since| key.last_used_time.is_none_or(|used| used < since))
            && self
                .expires_before
                .is_none_or(|before| key.expire_time.is_some_and(|expiry| expiry < before))
    }

    /// The result order: by the sort field (reversed when descending), then by id the same way.
    pub fn compare(&self, a: &AccessKey, b: &AccessKey) -> Ordering {
        let ascending = match self.sort {
            SortField::CreatedTime => a.created_time.cmp(&b.created_time),
            SortField::Name => a.name.cmp(&b.name),
        }
        .then_with(|| a.id.cmp(&b.id));
        if self.descending {
            ascending.reverse()
        } else {
            ascending
        }
    }

    /// The position of `key` in this query's order, for a cursor.
    pub fn position_of(&self, key: &AccessKey) -> Position {
        match self.sort {
            SortField::CreatedTime => Position::CreatedTime(key.created_time, key.id.clone()),
            SortField::Name => Position::Name(key.name.clone(), key.id.clone()),
        }
    }

    /// Whether `key` comes strictly after `position` in this query's order (always true
    /// without a position). Decode the position once per search with [`position`](Self::position).
    pub fn is_after(&self, position: Option<&Position>, key: &AccessKey) -> bool {
        let ordering = match (position, self.sort) {
            (None, _) => return true,
            (Some(Position::CreatedTime(time, id)), SortField::CreatedTime) => {
                key.created_time.cmp(time).then_with(|| key.id.as_str().cmp(id))
            }
            (Some(Position::Name(name, id)), SortField::Name) => {
                key.name.as_str().cmp(name).then_with(|| key.id.as_str().cmp(id))
            }
            // `position` refuses a cursor of another sort order; one that got here matches nothing.
            (Some(_), _) => return false,
        };
        if self.descending {
            ordering == Ordering::Less
        } else {
            ordering == Ordering::Greater
        }
    }

    /// The decoded cursor, checked against this query's sort order.
    pub fn position(&self) -> Result<Option<Position>, ValidationError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        #[cfg(test)]
        tests::CURSOR_DECODES.with(|decodes| decodes.set(decodes.get() + 1));
        if cursor.0.len() > MAX_CURSOR_BYTES {
            return Err(ValidationError::TooLong {
                field: "cursor",
                max: MAX_CURSOR_BYTES,
                actual: cursor.0.len(),
            });
        }
        let bytes = BASE64URL_NOPAD
            .decode(cursor.0.as_bytes())
            .map_err(|_| ValidationError::InvalidCursor)?;
        let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| ValidationError::InvalidCursor)?;
        let sort_matches = matches!(
            (&body.at, self.sort),
            (Position::CreatedTime(..), SortField::CreatedTime) | (Position::Name(..), SortField::Name)
        );
        if body.desc != self.descending || !sort_matches {
            return Err(ValidationError::InvalidCursor);
        }
        Ok(Some(body.at))
    }

    /// A cursor pointing just after `key`.
    pub fn cursor_after(&self, key: &AccessKey) -> Cursor {
        let body = CursorBody {
            desc: self.descending,
            at: self.position_of(key),
        };
        // Serializing a plain enum of strings and integers cannot fail.
        let json = serde_json::to_vec(&body).unwrap_or_default();
        Cursor(BASE64URL_NOPAD.encode(&json))
    }

    /// Builds a page from candidates that are already in this query's order: skips those at or
    /// before the cursor and those not matching, and stops after `limit` results.
    ///
    /// Candidates may be a superset (an index narrowed them only partly). A candidate that failed
    /// with [`StoreError::Corrupt`] is passed over and listed in [`Page::skipped`]; any other error
    /// ends the search. An invalid cursor matches nothing ([`validate`](Self::validate) reports it).
    pub fn page_from_sorted(
        &self,
        candidates: impl IntoIterator<Item = Result<KeyRecord, StoreError>>,
    ) -> Result<Page<KeyRecord>, StoreError> {
        match self.position() {
            Ok(position) => self.page_at(position.as_ref(), candidates),
            Err(_) => Ok(Page::empty()),
        }
    }

    /// [`page_from_sorted`](Self::page_from_sorted) with the cursor already decoded.
    fn page_at(
        &self,
        position: Option<&Position>,
        candidates: impl IntoIterator<Item = Result<KeyRecord, StoreError>>,
    ) -> Result<Page<KeyRecord>, StoreError> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let mut page = Page::empty();
        for candidate in candidates {
            let record = match candidate {
                Ok(record) => record,
                Err(StoreError::Corrupt { id, reason, .. }) => {
                    page.skipped.push(SkippedRecord { id, reason });
                    continue;
                }
                Err(other) => return Err(other),
            };
            if !self.is_after(position, &record.key) || !self.matches(&record.key) {
                continue;
            }
            if page.items.len() == limit {
                page.next_cursor = page
                    .items
                    .last()
                    .map(|last: &KeyRecord| self.cursor_after(&last.key));
                return Ok(page);
            }
            page.items.push(record);
        }
        Ok(page)
    }

    /// Builds a page from candidates in any order (sorts the matching ones first); corrupt
    /// candidates are passed over as in [`page_from_sorted`](Self::page_from_sorted).
    pub fn page_from_unsorted(
        &self,
        candidates: impl IntoIterator<Item = Result<KeyRecord, StoreError>>,
    ) -> Result<Page<KeyRecord>, StoreError> {
        let Ok(position) = self.position() else {
            return Ok(Page::empty());
        };
        let mut skipped = Vec::new();
        let mut matching = Vec::new();
        for candidate in candidates {
            match candidate {
                Ok(record) if self.is_after(position.as_ref(), &record.key) && self.matches(&record.key) => {
                    matching.push(record);
                }
                Ok(_) => {}
                Err(StoreError::Corrupt { id, reason, .. }) => skipped.push(SkippedRecord { id, reason }),
                Err(other) => return Err(other),
            }
        }
        matching.sort_by(|a, b| self.compare(&a.key, &b.key));
        let mut page = self.page_at(position.as_ref(), matching.into_iter().map(Ok))?;
        page.skipped.extend(skipped);
        Ok(page)
    }
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// How many times this thread decoded a cursor.
        pub(super) static CURSOR_DECODES: Cell<usize> = const { Cell::new(0) };
    }

    fn record(id: &str, created: i64) -> KeyRecord {
        KeyRecord {
            key: AccessKey {
                id: id.into(),
                name: "name".into(),
                description: String::new(),
                role_names: Vec::new(),
                key_tenants: Vec::new(),
                status: KeyStatus::Active,
                created_time: created,
                expire_time: None,
                created_by: String::new(),
                bound_user_id: None,
                custom_claims: Map::new(),
                custom_attributes: Map::new(),
                permitted_ips: Vec::new(),
                last_used_time: None,
                last_used_ip: None,
            },
            secret_hash: "hash".into(),
            previous_secret: None,
            version: 1,
        }
    }

    #[test]
    fn a_search_decodes_its_cursor_once() {
        let records: Vec<_> = (0..500).map(|n| record(&format!("k{n:03}"), n)).collect();
        let first = SearchQuery {
            limit: 10,
            ..SearchQuery::default()
        };
        let page = first.page_from_unsorted(records.iter().cloned().map(Ok)).unwrap();
        let next = SearchQuery {
            cursor: page.next_cursor,
            ..first
        };
        CURSOR_DECODES.with(|decodes| decodes.set(0));
        let page = next.page_from_unsorted(records.iter().cloned().map(Ok)).unwrap();
        assert_eq!(page.items.len(), 10);
        assert_eq!(page.items[0].key.id, "k010");
        assert_eq!(CURSOR_DECODES.with(Cell::get), 1);
        CURSOR_DECODES.with(|decodes| decodes.set(0));
        let _page = next.page_from_sorted(records.iter().cloned().map(Ok)).unwrap();
        assert_eq!(CURSOR_DECODES.with(Cell::get), 1);
    }
}
