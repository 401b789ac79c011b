//! How many bytes of heap a decoded token holds, for the byte bound of the verified-token cache.
//!
//! Counted from the values themselves, not from the token's length: decoding turns every JSON
//! scalar into a 32-byte `Value` and every non-empty object into at least one B-tree node of
//! several hundred bytes, so 8 KiB of claims like `[{"a":0},{"a":0},...]` hold hundreds of KiB.
//! Every allocation is counted at its requested size plus [`ALLOCATION_OVERHEAD`] for the
//! allocator's header and rounding; `tests/cache_memory.rs` checks the total against what a
//! counting allocator sees.

use std::collections::BTreeMap;
use std::mem::size_of;

use serde_json::{Map, Value};

use crate::claims::{Audience, SessionClaims, TenantClaims};

/// Bytes the allocator spends beyond each allocation's requested size (its header, and rounding
/// up to 16 bytes), as glibc's malloc does.
pub(crate) const ALLOCATION_OVERHEAD: usize = 32;

/// Entries a B-tree node holds at most (std's `B = 6`, capacity `2B - 1`).
const NODE_CAPACITY: usize = 11;
/// Entries a B-tree node holds at least, except the root.
const NODE_MINIMUM: usize = 5;

/// Heap bytes of `claims` as held in an `Arc` (the `Arc`'s own allocation included).
pub(crate) fn claims_weight(claims: &SessionClaims) -> usize {
    let mut bytes = allocation(2 * size_of::<usize>() + size_of::<SessionClaims>());
    bytes += string(&claims.iss) + string(&claims.sub) + string(&claims.jti);
    bytes += match &claims.aud {
        None => 0,
        Some(Audience::Single(aud)) => string(aud),
        Some(Audience::Many(auds)) => strings(auds),
    };
    bytes += claims.roles.as_ref().map_or(0, strings);
    bytes += claims.permissions.as_ref().map_or(0, strings);
    bytes += claims.dct.as_ref().map_or(0, string);
    bytes += claims.tenants.as_ref().map_or(0, tenants);
    bytes += claims.nsec.as_ref().map_or(0, object);
    bytes + object(&claims.custom)
}

fn allocation(size: usize) -> usize {
    if size == 0 { 0 } else { size + ALLOCATION_OVERHEAD }
}

fn string(text: &String) -> usize {
    allocation(text.capacity())
}

fn strings(list: &Vec<String>) -> usize {
    allocation(list.capacity() * size_of::<String>()) + list.iter().map(string).sum::<usize>()
}

/// An upper bound on the nodes of a B-tree map of `len` entries whose entries take `entry`
/// bytes: every node at least [`NODE_MINIMUM`] full but the root, internal nodes with edges.
fn tree_nodes(len: usize, entry: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let leaf = 2 * size_of::<usize>() + NODE_CAPACITY * entry;
    let internal = leaf + (NODE_CAPACITY + 1) * size_of::<usize>();
    let nodes = 1 + len / NODE_MINIMUM;
    nodes * allocation(internal)
}

fn tenants(map: &BTreeMap<String, TenantClaims>) -> usize {
    tree_nodes(map.len(), size_of::<String>() + size_of::<TenantClaims>())
        + map
            .iter()
            .map(|(id, tenant)| string(id) + strings(&tenant.roles) + strings(&tenant.permissions))
            .sum::<usize>()
}

/// A JSON object: its map (a B-tree, or an index map with serde_json's `preserve_order`, which
/// the same bound covers) and everything in it. Iterative, so depth costs no stack.
fn object(map: &Map<String, Value>) -> usize {
    let mut bytes = 0;
    let mut objects = vec![map];
    let mut arrays: Vec<&Vec<Value>> = Vec::new();
    loop {
        if let Some(map) = objects.pop() {
            bytes += tree_nodes(map.len(), size_of::<String>() + size_of::<Value>());
            for (name, value) in map {
                bytes += string(name) + value_children(value, &mut objects, &mut arrays);
            }
        } else if let Some(array) = arrays.pop() {
            bytes += allocation(array.capacity() * size_of::<Value>());
            for value in array {
                bytes += value_children(value, &mut objects, &mut arrays);
            }
        } else {
            return bytes;
        }
    }
}

/// The heap bytes `value` holds itself, queueing the containers in it.
fn value_children<'a>(
    value: &'a Value,
    objects: &mut Vec<&'a Map<String, Value>>,
    arrays: &mut Vec<&'a Vec<Value>>,
) -> usize {
    match value {
        Value::String(text) => string(text),
        Value::Object(map) => {
            objects.push(map);
            0
        }
        Value::Array(array) => {
            arrays.push(array);
            0
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}
