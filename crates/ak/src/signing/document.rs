//! The signing-key document: every key of the shared set with its activation time.
//!
//! Stored (sealed) as JSON, `{"format":1,"keys":[{"jwk":<private JWK>,"activateAt":<unix s>,
//! "createdAt":<unix s>}, ...]}`, the private JWKs in the same form as the key-set file
//! ([`KeySet::to_json`]). Which key signs is not stored: at any instant it is the newest key
//! whose activation time has passed, so every node picks the same one without talking to the
//! others, and a staged key starts signing on its own at its time.

use std::sync::Arc;

use ak_core::limits::MAX_SIGNING_KEYS;
use ak_token::{Jwk, KeySet, SigningKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::SigningKeysError;

const FORMAT: u32 = 1;

/// Where a key of the shared set stands at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SigningKeyStatus {
    /// It signs new tokens (and verifies).
    Signing,
    /// Published in the JWKS and verifying; it starts signing at its activation time.
    Pending,
    /// Published and verifying only: a newer key signs.
    Verifying,
}

/// One key of the shared set, as listed: no private material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyInfo {
    /// The key id (RFC 7638 thumbprint), the `kid` of its tokens and of its JWK.
    pub kid: String,
    /// When it starts (or started) signing, unix seconds.
    pub activate_at: i64,
    /// When it was added to the set, unix seconds.
    pub created_at: i64,
    /// Its status at the time of listing.
    pub status: SigningKeyStatus,
}

#[derive(Debug, Clone)]
struct Entry {
    key: Arc<SigningKey>,
    activate_at: i64,
    created_at: i64,
}

/// The decoded set. Never empty.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    entries: Vec<Entry>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    format: u32,
    keys: Vec<EntryOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryOut<'a> {
    jwk: &'a Jwk,
    activate_at: i64,
    created_at: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    format: u32,
    keys: Vec<EntryIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EntryIn {
    jwk: Jwk,
    activate_at: i64,
    created_at: i64,
}

impl Document {
    /// A set of one key, signing from `now`.
    pub(crate) fn first(key: SigningKey, now: i64) -> Self {
        Self {
            entries: vec![Entry {
                key: Arc::new(key),
                activate_at: now,
                created_at: now,
            }],
        }
    }

    /// The set of a key-set file: its active key signs from `now`, the others (in the file's
    /// order) activated earlier, so they only verify.
    pub(crate) fn from_key_set(keys: &KeySet, now: i64) -> Self {
        let entries = keys
            .iter()
            .zip(0i64..)
            .map(|(key, age)| Entry {
                key: Arc::new(key.clone()),
                activate_at: now.saturating_sub(age),
                created_at: now,
            })
            .collect();
        Self { entries }
    }

    fn position_of_signer(&self, now: i64) -> usize {
        // The newest activated key; later entries win ties (they were added later). If none is
        // activated yet (only if clocks moved back), the one activating first.
        let activated = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.activate_at <= now)
            .max_by_key(|(position, entry)| (entry.activate_at, *position));
        match activated {
            Some((position, _)) => position,
            None => self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(position, entry)| (entry.activate_at, *position))
                .map_or(0, |(position, _)| position),
        }
    }

    /// The kid of the key that signs at `now`.
    #[cfg(test)]
    pub(crate) fn signer(&self, now: i64) -> &str {
        self.entries[self.position_of_signer(now)].key.kid()
    }

    /// The key set at `now`: the signer active, every other key verification-only.
    pub(crate) fn key_set(&self, now: i64) -> KeySet {
        let signer = self.position_of_signer(now);
        let mut others: Vec<&Entry> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(position, _)| *position != signer)
            .map(|(_, entry)| entry)
            .collect();
        // Oldest first, so that after rotating each in the newest is first among the older keys.
        others.sort_by_key(|entry| entry.activate_at);
        let mut set = KeySet::new((*self.entries[signer].key).clone());
        for entry in others {
            set.rotate((*entry.key).clone());
        }
        set.rotate((*self.entries[signer].key).clone());
        set
    }

    /// The earliest activation time after `now`, if a key is still pending.
    pub(crate) fn next_activation(&self, now: i64) -> Option<i64> {
        self.entries
            .iter()
            .map(|entry| entry.activate_at)
            .filter(|at| *at > now)
            .min()
    }

    /// Every key with its status at `now`, newest activation first.
    pub(crate) fn infos(&self, now: i64) -> Vec<SigningKeyInfo> {
        let signer = self.position_of_signer(now);
        let mut infos: Vec<SigningKeyInfo> = self
            .entries
            .iter()
            .enumerate()
            .map(|(position, entry)| SigningKeyInfo {
                kid: entry.key.kid().to_owned(),
                activate_at: entry.activate_at,
                created_at: entry.created_at,
                status: if position == signer {
                    SigningKeyStatus::Signing
                } else if entry.activate_at > now {
                    SigningKeyStatus::Pending
                } else {
                    SigningKeyStatus::Verifying
                },
            })
            .collect();
        infos.sort_by_key(|info| std::cmp::Reverse(info.activate_at));
        infos
    }

    /// Adds `key`, signing from `activate_at`.
    pub(crate) fn add(
        &mut self,
        key: SigningKey,
        activate_at: i64,
        now: i64,
    ) -> Result<(), SigningKeysError> {
        if self.entries.iter().any(|entry| entry.key.kid() == key.kid()) {
            return Err(SigningKeysError::DuplicateKid(key.kid().to_owned()));
        }
        if self.entries.len() >= MAX_SIGNING_KEYS {
            return Err(SigningKeysError::TooManyKeys);
        }
        self.entries.push(Entry {
            key: Arc::new(key),
            activate_at,
            created_at: now,
        });
        Ok(())
    }

    /// Adds every key of `keys` not yet in the set as verification-only (activated before every
    /// key already here); returns how many were added.
    pub(crate) fn merge_verifying(&mut self, keys: &KeySet, now: i64) -> Result<usize, SigningKeysError> {
        let earliest = self
            .entries
            .iter()
            .map(|entry| entry.activate_at)
            .min()
            .unwrap_or(now);
        let new: Vec<&SigningKey> = keys
            .iter()
            .filter(|key| !self.entries.iter().any(|entry| entry.key.kid() == key.kid()))
            .collect();
        if self.entries.len() + new.len() > MAX_SIGNING_KEYS {
            return Err(SigningKeysError::TooManyKeys);
        }
        for key in &new {
            self.entries.push(Entry {
                key: Arc::new((*key).clone()),
                activate_at: earliest.saturating_sub(1),
                created_at: now,
            });
        }
        Ok(new.len())
    }

    /// Removes the key `kid`, unless it is the one signing at `now`.
    pub(crate) fn retire(&mut self, kid: &str, now: i64) -> Result<(), SigningKeysError> {
        let Some(position) = self.entries.iter().position(|entry| entry.key.kid() == kid) else {
            return Err(SigningKeysError::UnknownKid(kid.to_owned()));
        };
        if position == self.position_of_signer(now) {
            return Err(SigningKeysError::RetireSigning(kid.to_owned()));
        }
        self.entries.remove(position);
        Ok(())
    }

    /// The JSON document; secret, zeroized on drop.
    pub(crate) fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let jwks: Vec<Jwk> = self
            .entries
            .iter()
            .map(|entry| entry.key.to_private_jwk())
            .collect();
        let file = FileOut {
            format: FORMAT,
            keys: self
                .entries
                .iter()
                .zip(&jwks)
                .map(|(entry, jwk)| EntryOut {
                    jwk,
                    activate_at: entry.activate_at,
                    created_at: entry.created_at,
                })
                .collect(),
        };
        // Sized up front so no reallocation leaves a copy of the private keys behind.
        let mut out = Zeroizing::new(Vec::with_capacity(64 + 320 * self.entries.len()));
        // Serializing plain structs of strings and integers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &file);
        out
    }

    /// Decodes a document written by [`to_json`](Self::to_json).
    pub(crate) fn from_json(json: &[u8]) -> Result<Self, SigningKeysError> {
        let file: FileIn = serde_json::from_slice(json).map_err(|_| SigningKeysError::Damaged)?;
        if file.format != FORMAT || file.keys.is_empty() || file.keys.len() > MAX_SIGNING_KEYS {
            return Err(SigningKeysError::Damaged);
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(file.keys.len());
        for entry in &file.keys {
            let key = SigningKey::from_jwk(&entry.jwk).map_err(|_| SigningKeysError::Damaged)?;
            if entries.iter().any(|e| e.key.kid() == key.kid()) {
                return Err(SigningKeysError::Damaged);
            }
            entries.push(Entry {
                key: Arc::new(key),
                activate_at: entry.activate_at,
                created_at: entry.created_at,
            });
        }
        Ok(Self { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed(&[n; 32])
    }

    #[test]
    fn the_newest_activated_key_signs_and_every_key_verifies() {
        let mut doc = Document::first(key(1), 100);
        doc.add(key(2), 700, 100).unwrap();
        assert_eq!(doc.signer(699), key(1).kid());
        assert_eq!(doc.signer(700), key(2).kid());
        assert_eq!(doc.next_activation(100), Some(700));
        assert_eq!(doc.next_activation(700), None);
        let before = doc.key_set(699);
        assert_eq!(before.active().kid(), key(1).kid());
        assert_eq!(before.kids().len(), 2);
        assert_eq!(doc.key_set(700).active().kid(), key(2).kid());
        let statuses: Vec<_> = doc.infos(699).into_iter().map(|i| i.status).collect();
        assert_eq!(statuses, [SigningKeyStatus::Pending, SigningKeyStatus::Signing]);
    }

    #[test]
    fn retire_refuses_the_signer_and_unknown_kids() {
        let mut doc = Document::first(key(1), 100);
        doc.add(key(2), 100, 100).unwrap();
        assert!(matches!(
            doc.retire(key(2).kid(), 100),
            Err(SigningKeysError::RetireSigning(_))
        ));
        assert!(matches!(
            doc.retire(key(9).kid(), 100),
            Err(SigningKeysError::UnknownKid(_))
        ));
        doc.retire(key(1).kid(), 100).unwrap();
        assert_eq!(doc.key_set(100).kids(), [key(2).kid()]);
    }

    #[test]
    fn the_key_limit_at_and_past_its_edge() {
        let mut doc = Document::first(key(0), 0);
        for n in 1..u8::try_from(MAX_SIGNING_KEYS).unwrap() {
            doc.add(key(n), 0, 0).unwrap();
        }
        assert!(matches!(
            doc.add(key(200), 0, 0),
            Err(SigningKeysError::TooManyKeys)
        ));
        let json = doc.to_json();
        assert_eq!(
            Document::from_json(&json).unwrap().entries.len(),
            MAX_SIGNING_KEYS
        );
    }

    #[test]
    fn json_round_trips_and_rejects_damage() {
        let mut doc = Document::first(key(1), 100);
        doc.add(key(2), 160, 120).unwrap();
        let back = Document::from_json(&doc.to_json()).unwrap();
        assert_eq!(back.infos(130), doc.infos(130));
        assert_eq!(back.key_set(200).active(), doc.key_set(200).active());
        for bad in [
            &b"{}"[..],
            b"{\"format\":2,\"keys\":[]}",
            b"{\"format\":1,\"keys\":[]}",
            b"nope",
        ] {
            assert!(matches!(Document::from_json(bad), Err(SigningKeysError::Damaged)));
        }
    }

    #[test]
    fn an_imported_file_keeps_its_signer() {
        let mut file = KeySet::new(key(1));
        file.rotate(key(2));
        let doc = Document::from_key_set(&file, 500);
        assert_eq!(doc.signer(500), key(2).kid());
        assert_eq!(doc.key_set(500).kids(), file.kids());
    }
}
