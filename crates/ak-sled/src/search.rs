//! Search: narrow the candidates with one index, then apply the core's filter and order.
//!
//! The index, in order of preference:
//!
//! 1. tenant, bound user or created by (an equality filter): every key with the value is loaded;
//! 2. `expiresBefore` / `notUsedSince` (a range filter; the smaller range when both are set, see
//!    [`plan`](crate::plan)): loaded and sorted when few, else they restrict step 3's walk to
//!    their ids; a range too large to narrow anything is left to the filter of step 3;
//! 3. the sort-order index (status then created time, created time, or name), walked from the
//!    cursor until the page is full.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use ak_core::{KeyRecord, Page, Position, SearchQuery, SortField, StoreError};

use crate::layout::{self, CREATED, CREATOR, LAST_USED, NAME, STATUS, TENANT, USER};
use crate::plan::Candidates;
use crate::{SledKeyStore, record_codec};

impl SledKeyStore {
    pub(crate) fn search_records(&self, query: &SearchQuery) -> Result<Page<KeyRecord>, StoreError> {
        // An invalid cursor matches nothing (as `SearchQuery::page_from_sorted` says);
        // `SearchQuery::validate` is where it is reported.
        let Ok(position) = query.position() else {
            return Ok(Page::empty());
        };
        let _reader = self.read_lock();

        if !query.tenant_ids.is_empty() {
            let mut hits = BTreeMap::new();
            for tenant in &query.tenant_ids {
                let prefix = layout::component(tenant)?;
                for item in self.indexes[TENANT].scan_prefix(&prefix) {
                    let (key, _) = item.map_err(|err| self.error("search", err))?;
                    let id = key[prefix.len()..].to_vec();
                    let _first = hits.entry(id).or_insert(key);
                }
            }
            return self.unsorted_page(TENANT, hits, query);
        }
        if let Some(user) = &query.bound_user_id {
            return self.prefix_page(USER, user, query);
        }
        if let Some(creator) = &query.created_by {
            return self.prefix_page(CREATOR, creator, query);
        }

        let only = match self.range_candidates(query)? {
            Candidates::Few(index, hits) => return self.unsorted_page(index, hits, query),
            Candidates::Many(ids) => Some(ids),
            Candidates::Unnarrowed => None,
        };
        let only = only.as_ref();
        let descending = query.descending;
        match (query.sort, query.status, position) {
            (SortField::CreatedTime, Some(status), position) => {
                let after = match position {
                    None => None,
                    Some(Position::CreatedTime(time, id)) => Some(layout::status_key(status, time, &id)),
                    Some(Position::Name(..)) => return Ok(Page::empty()),
                };
                let prefix = vec![layout::status_byte(status)];
                self.sorted_page(STATUS, prefix, after, query, descending, only)
            }
            (SortField::CreatedTime, None, position) => {
                let after = match position {
                    None => None,
                    Some(Position::CreatedTime(time, id)) => Some(layout::created_key(time, &id)),
                    Some(Position::Name(..)) => return Ok(Page::empty()),
                };
                self.sorted_page(CREATED, Vec::new(), after, query, descending, only)
            }
            (SortField::Name, _, position) => {
                let after = match position {
                    None => None,
                    Some(Position::Name(name, id)) => Some(layout::name_key(&name, &id)),
                    Some(Position::CreatedTime(..)) => return Ok(Page::empty()),
                };
                self.sorted_page(NAME, Vec::new(), after, query, descending, only)
            }
        }
    }

    /// Every record under one value of a length-prefixed index, filtered and sorted.
    fn prefix_page(
        &self,
        index: usize,
        value: &str,
        query: &SearchQuery,
    ) -> Result<Page<KeyRecord>, StoreError> {
        let prefix = layout::component(value)?;
        let mut hits = BTreeMap::new();
        for item in self.indexes[index].scan_prefix(&prefix) {
            let (key, _) = item.map_err(|err| self.error("search", err))?;
            let _first = hits.entry(key[prefix.len()..].to_vec()).or_insert(key);
        }
        self.unsorted_page(index, hits, query)
    }

    /// Loads every hit (id → the index key that named it) and builds the page from them.
    fn unsorted_page(
        &self,
        index: usize,
        hits: BTreeMap<Vec<u8>, sled::IVec>,
        query: &SearchQuery,
    ) -> Result<Page<KeyRecord>, StoreError> {
        query.page_from_unsorted(hits.iter().map(|(id, key)| self.load_indexed(index, key, id)))
    }

    /// Walks a sorted index (keys `prefix ++ ...`) in the query's order from just after `after`,
    /// loading records until the page is full; with `only`, just the records with those ids.
    fn sorted_page(
        &self,
        index: usize,
        prefix: Vec<u8>,
        after: Option<Vec<u8>>,
        query: &SearchQuery,
        descending: bool,
        only: Option<&HashSet<Vec<u8>>>,
    ) -> Result<Page<KeyRecord>, StoreError> {
        let end = prefix_end(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
        let start = Bound::Included(prefix);
        let range = match (after, descending) {
            (None, _) => (start, end),
            (Some(after), false) => (Bound::Excluded(after), end),
            (Some(after), true) => (start, Bound::Excluded(after)),
        };
        let iter = self.indexes[index].range::<Vec<u8>, _>(range);
        let keys: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = if descending {
            Box::new(iter.rev())
        } else {
            Box::new(iter)
        };
        let candidates = keys.filter_map(|item| {
            let key = match item {
                Ok((key, _)) => key,
                Err(err) => return Some(Err(self.error("search", err))),
            };
            let Some(id) = layout::id_of(index, &key) else {
                return Some(Err(StoreError::corrupt(
                    None,
                    format!("malformed key {key:?} in {}", layout::INDEXES[index]),
                )));
            };
            if only.is_some_and(|only| !only.contains(id)) {
                return None;
            }
            Some(self.load_indexed(index, &key, id))
        });
        query.page_from_sorted(candidates)
    }

    /// The record an index entry names, checked to really have the entry's value.
    pub(crate) fn load_indexed(&self, index: usize, key: &[u8], id: &[u8]) -> Result<KeyRecord, StoreError> {
        let tree = layout::index_name(index);
        let id = std::str::from_utf8(id).map_err(|err| StoreError::Corrupt {
            id: None,
            reason: format!("an entry of {tree} has an id that is not UTF-8: {id:?}"),
            source: Some(Box::new(err)),
        })?;
        let bytes = self
            .records
            .get(id.as_bytes())
            .map_err(|err| self.error("search", err))?
            .ok_or_else(|| {
                StoreError::corrupt(
                    Some(id),
                    format!("{tree} has an entry for a record that does not exist"),
                )
            })?;
        let record = self.with_usage(record_codec::decode(id, &bytes)?)?;
        let matches = if index == LAST_USED {
            layout::last_used_key(record.key.last_used_time, id) == key
        } else {
            layout::index_keys(&record)?[index]
                .iter()
                .any(|expected| expected == key)
        };
        if !matches {
            return Err(StoreError::corrupt(
                Some(id),
                format!("an entry of {tree} does not match the record"),
            ));
        }
        Ok(record)
    }
}

/// The smallest key greater than every key starting with `prefix`; `None` if there is none.
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if let Some(next) = last.checked_add(1) {
            end.push(next);
            return Some(end);
        }
    }
    None
}
