//! The record a store decodes when a presented key's id is unknown, so that a miss costs what a
//! hit does ([`KeyStore::decode_decoy`](crate::KeyStore::decode_decoy)).
//!
//! A wrong secret for a stored key costs a point lookup that finds the record, the decoding of
//! that record, and one argon2id run; an unknown id costs a lookup that finds nothing and the
//! decoy argon2id run (`SecretHasher::verify_decoy`). Without more, the decode is the
//! difference between the two, and it tells a prober which ids exist. On an unknown id the key
//! manager therefore has the store decode this record, one of a key in its rotation grace period
//! (the costliest failure, as the decoy hash is) with the decoy hashes, the way it decodes a
//! record it found: the SQL stores decode its JSON body as they decode their own. A store whose
//! found and missing lookups cost about the same (the memory store, sled) does nothing.

use std::hint::black_box;

use serde_json::{Map, Value};

use crate::model::{AccessKey, GraceSecret, KeyRecord, KeyStatus, KeyTenant};

/// The id inside the decoy record (well-formed, never issued: ids are random).
const DECOY_ID: &str = "K2decoy0000000000000000000000";

/// A stored record body to decode on an unknown id (see the [module docs](self)). Made by the key
/// manager; a store only decodes it.
#[derive(Debug, Clone)]
pub struct DecoyRecord {
    json: String,
}

impl DecoyRecord {
    /// The decoy for a hasher whose decoy hashes are `current` and `previous` (so that its
    /// strings have the lengths of this manager's hashes).
    pub(crate) fn new(current: &str, previous: &str) -> Self {
        let record = KeyRecord {
            key: AccessKey {
                id: DECOY_ID.to_owned(),
                name: "decoy access key".to_owned(),
                description: String::new(),
                role_names: vec!["decoy-role".to_owned()],
                key_tenants: vec![KeyTenant::new("decoy-tenant", ["decoy-role"])],
                status: KeyStatus::Active,
                created_time: 1_700_000_000,
                expire_time: None,
                created_by: "decoy".to_owned(),
                bound_user_id: None,
                custom_claims: Map::from_iter([("decoy".to_owned(), Value::from("claim"))]),
                custom_attributes: Map::new(),
                permitted_ips: Vec::new(),
                last_used_time: None,
                last_used_ip: None,
            },
            secret_hash: current.to_owned(),
            previous_secret: Some(GraceSecret {
                secret_hash: previous.to_owned(),
                valid_until: i64::MAX,
            }),
            version: 1,
        };
        // Serialising plain strings, numbers and maps of strings cannot fail.
        let json = serde_json::to_string(&record).unwrap_or_default();
        Self { json }
    }

    /// Decodes the decoy's JSON body with [`KeyRecord::from_stored_str`], as the stores that keep
    /// JSON text bodies (SQLite, PostgreSQL) decode theirs, and throws the record away.
    pub fn decode_json(&self) {
        drop(black_box(self.decoded()));
    }

    fn decoded(&self) -> Option<KeyRecord> {
        KeyRecord::from_stored_str(DECOY_ID, black_box(&self.json)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_decodes_in_full_as_a_key_in_its_grace_period() {
        let decoy = DecoyRecord::new("$argon2id$current", "$argon2id$previous");
        // A decoy that failed to decode would stop at the first error and spend nothing.
        let record = decoy.decoded().expect("the decoy decodes");
        assert_eq!(record.id(), DECOY_ID);
        assert_eq!(record.secret_hash, "$argon2id$current");
        assert_eq!(
            record.previous_secret.map(|grace| grace.secret_hash),
            Some("$argon2id$previous".to_owned())
        );
        assert!(crate::validate::id("id", DECOY_ID).is_ok());
    }
}
