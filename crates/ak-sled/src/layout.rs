//! The on-disk layout: tree names and the byte encoding of every index key.
//!
//! Public only so tests and fuzz targets can build (and damage) entries; not a stable API.
//!
//! Every index entry has an empty value; its key carries the indexed value and the record id, and
//! the id is always the last component, so it can hold any bytes:
//!
//! | tree | key |
//! | --- | --- |
//! | [`RECORDS`] | id → `[RECORD_FORMAT_VERSION] ++ postcard(record)` (the value; see `record_codec`) |
//! | [`MANAGEMENT_KEYS`] | id → `[1] ++ JSON(management key record)` (the value; no index) |
//! | [`WEBHOOKS`] | id → `[1] ++ JSON(webhook record)` (the value; no index) |
//! | [`SIGNING_KEYS`] | `set` → `[1] ++ u64be(version) ++ sealed set` (one value) |
//! | [`USAGE`] | id → `[1] ++ time(last used) ++ ip` (the value) |
//! | [`AUDIT_EVENTS`] | `time(occurred) ++ event id` → `[1] ++ JSON(event)` |
//! | [`AUDIT_IDS`] | event id → `time(occurred)` |
//! | [`AUDIT_BY_KEY`] | `u32be(len) ++ key id ++ time(occurred) ++ event id` |
//! | [`TENANT_INDEX`] | `u32be(len) ++ tenant id ++ id` |
//! | [`USER_INDEX`] | `u32be(len) ++ bound user id ++ id` (only bound keys) |
//! | [`CREATOR_INDEX`] | `u32be(len) ++ created by ++ id` |
//! | [`STATUS_INDEX`] | `status byte ++ time(created) ++ id` |
//! | [`CREATED_INDEX`] | `time(created) ++ id` |
//! | [`NAME_INDEX`] | `escaped(name) ++ id` |
//! | [`EXPIRY_INDEX`] | `time(expires) ++ id` (only keys with an expiry) |
//! | [`LAST_USED_INDEX`] | `[0] ++ id` (never used) or `[1] ++ time(last used) ++ id` |
//!
//! [`LAST_USED_INDEX`] has exactly one entry per record: it is derived from [`USAGE`], not from
//! the record, so it is not among [`INDEXES`] (whose keys [`index_keys`] derives from a record).
//! A never-used key sorts before every used one, so "never used, or last used before `t`" is the
//! one range `..[1] ++ time(t)` ([`last_used_range_end`]).
//!
//! `time(t)` is the 8-byte big-endian form of `t` with its sign bit flipped, so byte order is
//! numeric order. `escaped(name)` writes the name with every `0x00` byte as `0x00 0xFF` and ends
//! it with `0x00 0x01`, so byte order of keys is (name, id) order and a name never runs into the
//! id. Length prefixes make the other components unambiguous.

use ak_core::{KeyRecord, KeyStatus, StoreError};

/// The tree name of index `index`: a position in [`INDEXES`], or [`LAST_USED`].
pub(crate) fn index_name(index: usize) -> &'static str {
    INDEXES.get(index).copied().unwrap_or(LAST_USED_INDEX)
}

/// The tree holding the records, keyed by id.
pub const RECORDS: &str = "ak/records";
/// The tree holding management-key records, keyed by id (value: `[1] ++ JSON`).
pub const MANAGEMENT_KEYS: &str = "ak/management-keys";
/// The tree holding webhook records, keyed by id (value: `[1] ++ JSON`).
pub const WEBHOOKS: &str = "ak/webhooks";
/// The tree holding the sealed signing-key set, under [`SIGNING_KEYS_KEY`].
pub const SIGNING_KEYS: &str = "ak/signing-keys";
/// The key of the sealed signing-key set in [`SIGNING_KEYS`] (value:
/// `[1] ++ u64be(version) ++ sealed`).
pub const SIGNING_KEYS_KEY: &[u8] = b"set";
/// The tree holding the last use of each key, keyed by id (value: `[1] ++ time(last used) ++
/// ip`); apart from the records so a use never rewrites a record.
pub const USAGE: &str = "ak/usage";
/// The tree holding audit events, keyed `time(occurred) ++ id` (value: `[1] ++ JSON`).
pub const AUDIT_EVENTS: &str = "ak/audit/events";
/// The tree mapping each audit event id to `time(occurred)`, so appends are idempotent.
pub const AUDIT_IDS: &str = "ak/audit/ids";
/// The audit key index: `u32be(len) ++ key id ++ time(occurred) ++ event id` (empty values).
pub const AUDIT_BY_KEY: &str = "ak/audit/by-key";
/// The tree holding the store format marker.
pub const META: &str = "ak/meta";
/// The key of the format marker in [`META`].
pub const FORMAT_KEY: &[u8] = b"format";
/// The tenant index.
pub const TENANT_INDEX: &str = "ak/index/tenant";
/// The bound-user index.
pub const USER_INDEX: &str = "ak/index/bound-user";
/// The created-by index.
pub const CREATOR_INDEX: &str = "ak/index/created-by";
/// The status index (status, then created time).
pub const STATUS_INDEX: &str = "ak/index/status";
/// The created-time index.
pub const CREATED_INDEX: &str = "ak/index/created-time";
/// The name index.
pub const NAME_INDEX: &str = "ak/index/name";
/// The expiry-time index (only keys with an expiry).
pub const EXPIRY_INDEX: &str = "ak/index/expire-time";
/// The last-used index: one entry per record, [`never_used_key`] or [`used_key`].
pub const LAST_USED_INDEX: &str = "ak/index/last-used";

/// Every index tree, in the order [`index_keys`] returns their keys.
pub const INDEXES: [&str; INDEX_COUNT] = [
    TENANT_INDEX,
    USER_INDEX,
    CREATOR_INDEX,
    STATUS_INDEX,
    CREATED_INDEX,
    NAME_INDEX,
    EXPIRY_INDEX,
];

/// How many index trees derived from records there are (the last-used index is not one).
pub const INDEX_COUNT: usize = 7;

/// Position of the tenant index in [`INDEXES`].
pub(crate) const TENANT: usize = 0;
/// Position of the bound-user index in [`INDEXES`].
pub(crate) const USER: usize = 1;
/// Position of the created-by index in [`INDEXES`].
pub(crate) const CREATOR: usize = 2;
/// Position of the status index in [`INDEXES`].
pub(crate) const STATUS: usize = 3;
/// Position of the created-time index in [`INDEXES`].
pub(crate) const CREATED: usize = 4;
/// Position of the name index in [`INDEXES`].
pub(crate) const NAME: usize = 5;
/// Position of the expiry-time index in [`INDEXES`].
pub(crate) const EXPIRY: usize = 6;
/// The position [`id_of`] and the search use for [`LAST_USED_INDEX`], just past [`INDEXES`].
pub(crate) const LAST_USED: usize = INDEX_COUNT;

/// The first byte of a [`LAST_USED_INDEX`] key of a key never used.
pub const NEVER_USED: u8 = 0;
/// The first byte of a [`LAST_USED_INDEX`] key of a key used at least once.
pub const USED: u8 = 1;

/// Length of an encoded created time.
pub const TIME_LEN: usize = 8;

/// `u32be(len) ++ bytes`: the prefix every key of one value shares in a length-prefixed index.
pub fn component(value: &str) -> Result<Vec<u8>, StoreError> {
    let len = u32::try_from(value.len())
        .map_err(|_| StoreError::corrupt(None, "an indexed value is longer than 4 GiB"))?;
    let mut out = Vec::with_capacity(4 + value.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value.as_bytes());
    Ok(out)
}

/// A key of a length-prefixed index (tenant, bound user, created by).
pub fn prefixed_key(value: &str, id: &str) -> Result<Vec<u8>, StoreError> {
    let mut key = component(value)?;
    key.extend_from_slice(id.as_bytes());
    Ok(key)
}

/// `time(t)`: big-endian with the sign bit flipped, so byte order is numeric order.
pub fn time_bytes(time: i64) -> [u8; TIME_LEN] {
    // XOR with i64::MIN flips the sign bit of the two's-complement form.
    (time ^ i64::MIN).to_be_bytes()
}

/// The byte a status is stored as.
pub fn status_byte(status: KeyStatus) -> u8 {
    match status {
        KeyStatus::Active => 0,
        KeyStatus::Inactive => 1,
    }
}

/// A created-time index key.
pub fn created_key(created: i64, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(TIME_LEN + id.len());
    key.extend_from_slice(&time_bytes(created));
    key.extend_from_slice(id.as_bytes());
    key
}

/// A [`LAST_USED_INDEX`] key of a key never used: `[0] ++ id`.
pub fn never_used_key(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + id.len());
    key.push(NEVER_USED);
    key.extend_from_slice(id.as_bytes());
    key
}

/// A [`LAST_USED_INDEX`] key of a key last used at `time`: `[1] ++ time(time) ++ id`.
pub fn used_key(time: i64, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + TIME_LEN + id.len());
    key.push(USED);
    key.extend_from_slice(&created_key(time, id));
    key
}

/// The [`LAST_USED_INDEX`] key of a key with this last use (`None`: never used).
pub fn last_used_key(last_used: Option<i64>, id: &str) -> Vec<u8> {
    match last_used {
        None => never_used_key(id),
        Some(time) => used_key(time, id),
    }
}

/// The exclusive end of the [`LAST_USED_INDEX`] keys of keys never used or last used before
/// `since`: every key below it, and no other, matches `notUsedSince = since`.
pub fn last_used_range_end(since: i64) -> Vec<u8> {
    let mut end = Vec::with_capacity(1 + TIME_LEN);
    end.push(USED);
    end.extend_from_slice(&time_bytes(since));
    end
}

/// An [`EXPIRY_INDEX`] key.
pub fn expiry_key(expires: i64, id: &str) -> Vec<u8> {
    created_key(expires, id)
}

/// A status index key.
pub fn status_key(status: KeyStatus, created: i64, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + TIME_LEN + id.len());
    key.push(status_byte(status));
    key.extend_from_slice(&created_key(created, id));
    key
}

/// A name index key.
pub fn name_key(name: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 2 + id.len());
    for &byte in name.as_bytes() {
        key.push(byte);
        if byte == 0 {
            key.push(0xFF);
        }
    }
    key.extend_from_slice(&[0x00, 0x01]);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The id at the end of a name index key, or `None` if the key is malformed.
pub fn id_of_name_key(key: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    while at + 1 < key.len() {
        if key[at] == 0 {
            match key[at + 1] {
                0x01 => return Some(&key[at + 2..]),
                0xFF => at += 2,
                _ => return None,
            }
        } else {
            at += 1;
        }
    }
    None
}

/// The id at the end of a key of index `index` (a position in [`INDEXES`], or the last-used index),
/// or `None` if the key is malformed.
pub fn id_of(index: usize, key: &[u8]) -> Option<&[u8]> {
    match index {
        TENANT | USER | CREATOR => {
            let len = u32::from_be_bytes(key.get(..4)?.try_into().ok()?);
            key.get(4 + usize::try_from(len).ok()?..)
        }
        STATUS => key.get(1 + TIME_LEN..),
        CREATED | EXPIRY => key.get(TIME_LEN..),
        NAME => id_of_name_key(key),
        LAST_USED => match *key.first()? {
            NEVER_USED => key.get(1..),
            USED => key.get(1 + TIME_LEN..),
            _ => None,
        },
        _ => None,
    }
}

/// Every index key of `record`, per index tree in [`INDEXES`] order.
pub fn index_keys(record: &KeyRecord) -> Result<[Vec<Vec<u8>>; INDEX_COUNT], StoreError> {
    let key = &record.key;
    let id = key.id.as_str();
    let mut tenants = Vec::with_capacity(key.key_tenants.len());
    for tenant in key.tenant_ids() {
        let entry = prefixed_key(tenant, id)?;
        if !tenants.contains(&entry) {
            tenants.push(entry);
        }
    }
    let users = match &key.bound_user_id {
        Some(user) => vec![prefixed_key(user, id)?],
        None => Vec::new(),
    };
    Ok([
        tenants,
        users,
        vec![prefixed_key(&key.created_by, id)?],
        vec![status_key(key.status, key.created_time, id)],
        vec![created_key(key.created_time, id)],
        vec![name_key(&key.name, id)],
        key.expire_time
            .map(|expires| expiry_key(expires, id))
            .into_iter()
            .collect(),
    ])
}
