//! [`ManagementKeyStore`] on SQLite: the `management_keys` table.

use ak_core::StoreError;
use ak_core::management::{ManagementKeyRecord, ManagementKeyStore};

use crate::json_table::JsonTable;
use crate::store::SqliteKeyStore;

const TABLE: JsonTable = JsonTable {
    table: "management_keys",
    kind: "management key",
};

fn decode(id: &str, body: &str) -> Result<ManagementKeyRecord, StoreError> {
    ManagementKeyRecord::from_stored_json(id, body.as_bytes())
}

impl ManagementKeyStore for SqliteKeyStore {
    fn insert_management_key(&self, record: &ManagementKeyRecord) -> Result<(), StoreError> {
        TABLE.insert(self, record.id(), record)
    }

    fn get_management_key(&self, id: &str) -> Result<Option<ManagementKeyRecord>, StoreError> {
        TABLE.get(self, id, decode)
    }

    fn list_management_keys(&self) -> Result<Vec<ManagementKeyRecord>, StoreError> {
        TABLE.list(self, decode)
    }

    fn delete_management_key(&self, id: &str) -> Result<bool, StoreError> {
        TABLE.delete(self, id)
    }
}
