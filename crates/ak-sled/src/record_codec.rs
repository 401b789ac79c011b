//! The versioned record encoding: `[FORMAT_VERSION] ++ serde_json(KeyRecord)`.
//!
//! Public only so a fuzz target can call [`decode`] on arbitrary bytes; not a stable API.
//! [`decode`] never panics: anything it cannot read is a [`StoreError::Corrupt`].

use ak_core::{KeyRecord, StoreError};

/// The only record format version this crate writes and reads.
pub const RECORD_FORMAT_VERSION: u8 = 1;

/// Encodes a record as `[RECORD_FORMAT_VERSION] ++ serde_json(record)`.
pub fn encode(record: &KeyRecord) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![RECORD_FORMAT_VERSION];
    serde_json::to_writer(&mut out, record).map_err(|err| StoreError::Corrupt {
        id: Some(record.id().to_owned()),
        reason: "the record cannot be encoded as JSON".into(),
        source: Some(Box::new(err)),
    })?;
    Ok(out)
}

/// Decodes the stored bytes of the record `id`; the decoded record must carry that id.
pub fn decode(id: &str, bytes: &[u8]) -> Result<KeyRecord, StoreError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(StoreError::corrupt(Some(id), "empty record"));
    };
    if version != RECORD_FORMAT_VERSION {
        return Err(StoreError::corrupt(
            Some(id),
            format!(
                "unknown record format version {version} (this ak-sled reads version \
                 {RECORD_FORMAT_VERSION})"
            ),
        ));
    }
    let record: KeyRecord = serde_json::from_slice(body).map_err(|err| StoreError::Corrupt {
        id: Some(id.to_owned()),
        reason: "the record is not valid JSON for a key record".into(),
        source: Some(Box::new(err)),
    })?;
    if record.id() != id {
        return Err(StoreError::corrupt(
            Some(id),
            format!("the record stored under this id has id {:?}", record.id()),
        ));
    }
    Ok(record)
}
