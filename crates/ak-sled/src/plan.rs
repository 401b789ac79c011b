//! The candidates of the range filters `expiresBefore` and `notUsedSince`, from their indexes.
//!
//! Each filter is one key range of its index: `expiresBefore = t` is every expiry-index key below
//! `time(t)`, and `notUsedSince = t` is every last-used-index key below `[1] ++ time(t)`, which
//! holds the never-used keys (`[0] ++ id`, sorting first) and the keys last used before `t`.
//! Neither range is in the result order (created time or name), so the candidates are either
//! loaded and sorted, or used to restrict a walk of the sort-order index.
//!
//! When both filters are set, the smaller range wins: the ranges are read in lockstep, one key of
//! each at a time, and the first to end is complete while the other was read no further than it.
//! Reading index keys is cheap next to loading records (a record is decoded and its usage read),
//! so the cost is a bounded number of key reads for a bounded number of record loads.

use std::collections::{BTreeMap, HashSet};

use ak_core::{SearchQuery, StoreError};

use crate::SledKeyStore;
use crate::layout::{self, EXPIRY, LAST_USED};

/// At most this many candidates are all loaded and sorted for a page.
pub(crate) const FEW_CANDIDATES: usize = 256;

/// A range with more keys than this does not narrow the search: the filter matches so much of
/// the store that the walk in sort order, testing every record, fills a page soon enough, and
/// holding the ids would cost memory for little gain.
pub(crate) const MAX_CANDIDATES: usize = 65_536;

/// What the range filters of a query narrow its candidates to.
#[derive(Debug)]
pub(crate) enum Candidates {
    /// No range filter narrows the search (none is set, or each matches too much).
    Unnarrowed,
    /// Every key that can match, few enough to load them all: the index position and, per id,
    /// the index key that named it.
    Few(usize, BTreeMap<Vec<u8>, sled::IVec>),
    /// The ids of every key that can match: too many to load for one page, so the walk in sort
    /// order loads only records whose id is among them.
    Many(HashSet<Vec<u8>>),
}

/// One range filter's index range, read so far.
struct Scan {
    index: usize,
    iter: sled::Iter,
    keys: Vec<sled::IVec>,
}

impl SledKeyStore {
    /// The candidates of `query`'s range filters, from the smaller of their index ranges.
    pub(crate) fn range_candidates(&self, query: &SearchQuery) -> Result<Candidates, StoreError> {
        let mut scans = Vec::with_capacity(2);
        if let Some(before) = query.expires_before {
            let end = layout::time_bytes(before).to_vec();
            scans.push(Scan {
                index: EXPIRY,
                iter: self.indexes[EXPIRY].range(..end),
                keys: Vec::new(),
            });
        }
        if let Some(since) = query.not_used_since {
            scans.push(Scan {
                index: LAST_USED,
                iter: self.last_used.range(..layout::last_used_range_end(since)),
                keys: Vec::new(),
            });
        }
        while scans.iter().any(|scan| scan.keys.len() <= MAX_CANDIDATES) {
            for scan in &mut scans {
                if scan.keys.len() > MAX_CANDIDATES {
                    continue;
                }
                match scan.iter.next() {
                    None => return candidates(scan.index, std::mem::take(&mut scan.keys)),
                    Some(item) => scan.keys.push(item.map_err(|err| self.error("search", err))?.0),
                }
            }
        }
        Ok(Candidates::Unnarrowed)
    }
}

/// The candidates named by every key of one index range.
fn candidates(index: usize, keys: Vec<sled::IVec>) -> Result<Candidates, StoreError> {
    let id = |key: &sled::IVec| {
        layout::id_of(index, key).map(<[u8]>::to_vec).ok_or_else(|| {
            StoreError::corrupt(
                None,
                format!("malformed key {key:?} in {}", layout::index_name(index)),
            )
        })
    };
    if keys.len() <= FEW_CANDIDATES {
        let mut hits = BTreeMap::new();
        for key in keys {
            let _first = hits.insert(id(&key)?, key);
        }
        Ok(Candidates::Few(index, hits))
    } else {
        keys.iter()
            .map(id)
            .collect::<Result<_, _>>()
            .map(Candidates::Many)
    }
}
