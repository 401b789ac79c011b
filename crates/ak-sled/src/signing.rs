//! [`SigningKeyStore`] on sled: the tree `ak/signing-keys`, one value under the key `set`.

use ak_core::StoreError;
use ak_core::signing::{SIGNING_KEYS_RECORD_ID, SigningKeyStore, StoredSigningKeys, signing_keys_conflict};

use crate::{SledKeyStore, layout};

/// The format byte in front of the stored value: `[1] ++ u64be(version) ++ sealed`.
const SIGNING_FORMAT: u8 = 1;

fn encode(version: u64, sealed: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(9 + sealed.len());
    bytes.push(SIGNING_FORMAT);
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes.extend_from_slice(sealed);
    bytes
}

fn decode(bytes: &[u8]) -> Result<StoredSigningKeys, StoreError> {
    let corrupt = |why: &str| StoreError::corrupt(Some(SIGNING_KEYS_RECORD_ID), why.to_owned());
    let Some((&SIGNING_FORMAT, rest)) = bytes.split_first() else {
        return Err(corrupt("unknown signing-key value format"));
    };
    let (version, sealed) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("truncated signing-key value"))?;
    let version = u64::from_be_bytes(*version);
    if version == 0 {
        return Err(corrupt("stored version 0"));
    }
    Ok(StoredSigningKeys {
        version,
        sealed: sealed.to_vec(),
    })
}

impl SledKeyStore {
    fn signing_tree(&self) -> Result<sled::Tree, StoreError> {
        self.db
            .open_tree(layout::SIGNING_KEYS)
            .map_err(|err| self.error("opening the signing keys", err))
    }
}

impl SigningKeyStore for SledKeyStore {
    fn load_signing_keys(&self) -> Result<Option<StoredSigningKeys>, StoreError> {
        let value = self
            .signing_tree()?
            .get(layout::SIGNING_KEYS_KEY)
            .map_err(|err| self.error("loading the signing keys", err))?;
        value.map(|bytes| decode(&bytes)).transpose()
    }

    fn replace_signing_keys(&self, expected: Option<u64>, sealed: &[u8]) -> Result<u64, StoreError> {
        let tree = self.signing_tree()?;
        let current = tree
            .get(layout::SIGNING_KEYS_KEY)
            .map_err(|err| self.error("loading the signing keys", err))?;
        let current_version = current
            .as_deref()
            .map(decode)
            .transpose()?
            .map(|keys| keys.version);
        if current_version != expected {
            return Err(signing_keys_conflict(expected));
        }
        let next = expected
            .map_or(Some(1), |version| version.checked_add(1))
            .ok_or_else(|| signing_keys_conflict(expected))?;
        // The swap succeeds only if the value is still the one whose version was checked, so a
        // racing replace of the same version makes exactly one of them win.
        let swapped = tree
            .compare_and_swap(layout::SIGNING_KEYS_KEY, current, Some(encode(next, sealed)))
            .map_err(|err| self.error("replacing the signing keys", err))?;
        if swapped.is_err() {
            return Err(signing_keys_conflict(expected));
        }
        self.make_durable("replacing the signing keys")?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_values_are_corrupt_not_panics() {
        for bytes in [&b""[..], b"\x02", b"\x01\x00\x00", &encode(0, b"x")] {
            assert!(
                matches!(decode(bytes), Err(StoreError::Corrupt { .. })),
                "{bytes:?}"
            );
        }
        let keys = decode(&encode(7, b"sealed")).unwrap();
        assert_eq!((keys.version, keys.sealed.as_slice()), (7, &b"sealed"[..]));
    }
}
