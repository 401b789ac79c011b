//! [`SigningKeyStore`] on SQLite: the one-row `signing_keys` table.

use ak_core::signing::{SIGNING_KEYS_RECORD_ID, SigningKeyStore, StoredSigningKeys, signing_keys_conflict};
use ak_core::{BackendErrorKind, StoreError};
use rusqlite::OptionalExtension;

use crate::error::backend;
use crate::store::SqliteKeyStore;

fn stored_version(version: i64) -> Result<u64, StoreError> {
    u64::try_from(version)
        .ok()
        .filter(|version| *version > 0)
        .ok_or_else(|| {
            StoreError::corrupt(
                Some(SIGNING_KEYS_RECORD_ID),
                format!("stored version {version} is not positive"),
            )
        })
}

impl SigningKeyStore for SqliteKeyStore {
    fn load_signing_keys(&self) -> Result<Option<StoredSigningKeys>, StoreError> {
        self.read("load signing keys", |conn, fail| {
            let row = conn
                .prepare_cached("SELECT version, sealed FROM signing_keys WHERE id = 1")
                .and_then(|mut stmt| {
                    stmt.query_row([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)))
                        .optional()
                })
                .map_err(fail)?;
            row.map(|(version, sealed)| {
                Ok(StoredSigningKeys {
                    version: stored_version(version)?,
                    sealed,
                })
            })
            .transpose()
        })
    }

    fn replace_signing_keys(&self, expected: Option<u64>, sealed: &[u8]) -> Result<u64, StoreError> {
        self.write("replace signing keys", |tx, fail| {
            let current = tx
                .prepare_cached("SELECT version FROM signing_keys WHERE id = 1")
                .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)).optional())
                .map_err(fail)?
                .map(stored_version)
                .transpose()?;
            if current != expected {
                return Err(signing_keys_conflict(expected));
            }
            // The stored version came from an i64, so only i64::MAX itself has no successor.
            let next = expected.map_or(Some(1), |version| version.checked_add(1));
            let next = next.and_then(|next| i64::try_from(next).ok()).ok_or_else(|| {
                backend(
                    BackendErrorKind::Other,
                    format!("signing keys: no version after {expected:?} fits SQLite"),
                    None,
                )
            })?;
            tx.prepare_cached(
                "INSERT INTO signing_keys (id, version, sealed) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, sealed = excluded.sealed",
            )
            .and_then(|mut stmt| stmt.execute(rusqlite::params![next, sealed]))
            .map_err(fail)?;
            u64::try_from(next).map_err(|_| signing_keys_conflict(expected))
        })
    }
}
