//! [`SigningKeyStore`] on PostgreSQL: the one-row `signing_keys` table.

use ak_core::signing::{SIGNING_KEYS_RECORD_ID, SigningKeyStore, StoredSigningKeys, signing_keys_conflict};
use ak_core::{BackendErrorKind, StoreError};

use crate::error::backend;
use crate::store::PgStore;

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

impl SigningKeyStore for PgStore {
    fn load_signing_keys(&self) -> Result<Option<StoredSigningKeys>, StoreError> {
        let sql = format!(
            "SELECT version, sealed FROM {} WHERE id = 1",
            self.table("signing_keys")
        );
        self.read("load signing keys", |db| {
            let Some(row) = db.query_opt(&sql, &[])? else {
                return Ok(None);
            };
            Ok(Some(StoredSigningKeys {
                version: stored_version(row.get(0))?,
                sealed: row.get(1),
            }))
        })
    }

    fn replace_signing_keys(&self, expected: Option<u64>, sealed: &[u8]) -> Result<u64, StoreError> {
        // The stored version fits an i64, so an `expected` that does not can only conflict.
        let expected_i64 = match expected.map(i64::try_from) {
            None => None,
            Some(Ok(version)) => Some(version),
            Some(Err(_)) => return Err(signing_keys_conflict(expected)),
        };
        let next = match expected_i64 {
            None => 1,
            Some(version) => version.checked_add(1).ok_or_else(|| {
                backend(
                    BackendErrorKind::Other,
                    format!("signing keys: no version after {version} fits PostgreSQL"),
                    None,
                )
            })?,
        };
        let table = self.table("signing_keys");
        let sql = match expected_i64 {
            // Of racing first replaces, the later INSERT waits for the earlier to commit and then
            // does nothing.
            None => format!(
                "INSERT INTO {table} (id, version, sealed) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING"
            ),
            Some(_) => format!("UPDATE {table} SET version = $1, sealed = $2 WHERE id = 1 AND version = $3"),
        };
        self.write("replace signing keys", |tx| {
            let changed = match expected_i64 {
                None => tx.execute(&sql, &[&next, &sealed])?,
                Some(version) => tx.execute(&sql, &[&next, &sealed, &version])?,
            };
            if changed != 1 {
                return Err(signing_keys_conflict(expected).into());
            }
            Ok(u64::try_from(next).map_err(|_| signing_keys_conflict(expected))?)
        })
    }
}
