//! The conformance suite every [`KeyStore`] runs.
//!
//! Cases are plain functions over a [`StoreFactory`] (which opens, and re-opens, one store), so
//! they can be called from anywhere:
//!
//! ```
//! let factory = ak_testkit::memory_factory();
//! ak_testkit::cases::concurrent_updates_of_one_version(&factory);
//! ak_testkit::lifecycle::rotation_without_and_with_grace(&factory);
//! ak_testkit::model::model_based(&factory);
//! ```
//!
//! [`keystore_conformance!`] turns every case into one `#[test]` for a backend, so a backend joins
//! with one line in its tests, e.g. `ak_testkit::keystore_conformance!(my_factory());`, where the
//! expression is evaluated afresh for each test.
//!
//! The suite covers every clause of the [`KeyStore`] contract ([`cases`]), concurrency, the key
//! manager's lifecycle rules on top of the store ([`lifecycle`]), and a model-based property test
//! ([`model`]) that runs random operation sequences, including re-opens, against the store and a
//! plain `BTreeMap`, comparing after every step. [`management_key_conformance!`] does the same for
//! [`ManagementKeyStore`](ak_core::management::ManagementKeyStore) ([`management`]), and
//! [`signing_key_conformance!`] for [`SigningKeyStore`](ak_core::SigningKeyStore) ([`signing`]),
//! [`audit_event_conformance!`] for [`AuditEventStore`](ak_core::audit::AuditEventStore) and the
//! recorder over it ([`audit`]), [`key_usage_conformance!`] for
//! [`KeyUsageStore`](ak_core::usage::KeyUsageStore) and the tracker over it ([`usage`]), and
//! [`webhook_conformance!`] for [`WebhookStore`](ak_core::webhook::WebhookStore) ([`webhook`]). It is a test
//! aid, not a stable API.

use std::sync::Arc;

use ak_core::{KeyStore, MemoryKeyStore};

pub mod audit;
pub mod cases;
pub mod fixtures;
pub mod lifecycle;
pub mod management;
pub mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod signing;
pub mod sync_trace;
pub mod usage;
pub mod webhook;

/// Opens a store. Each call after the previous handles were dropped re-opens the same storage,
/// which must then hold everything that was acknowledged before.
pub trait StoreFactory {
    /// Opens (or re-opens) the store.
    fn open(&self) -> Arc<dyn KeyStore>;
}

impl<F: Fn() -> Arc<dyn KeyStore>> StoreFactory for F {
    fn open(&self) -> Arc<dyn KeyStore> {
        self()
    }
}

/// A factory over one in-memory store ("re-opening" returns the same store).
pub fn memory_factory() -> impl StoreFactory {
    let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    move || Arc::clone(&store)
}

/// Expands to one `#[test]` per conformance case, each with a fresh factory from `$factory`.
#[macro_export]
macro_rules! keystore_conformance {
    ($factory:expr) => {
        $crate::__conformance_tests! { $factory;
            cases::get_unknown_is_none,
            cases::insert_then_get_round_trips_every_field,
            cases::insert_duplicate_is_already_exists,
            cases::update_replaces_and_increments_version,
            cases::update_with_stale_version_conflicts,
            cases::update_unknown_is_not_found,
            cases::set_status_changes_every_id_and_bumps_versions,
            cases::set_status_with_unknown_id_changes_nothing,
            cases::status_change_defeats_a_stale_update,
            cases::delete_removes_every_id,
            cases::delete_with_unknown_id_changes_nothing,
            cases::search_pages_through_everything,
            cases::search_filters,
            cases::search_sort_orders,
            cases::search_cursor_survives_concurrent_inserts,
            cases::search_follows_updated_and_deleted_records,
            cases::limits_round_trip,
            cases::reopen_keeps_everything,
            cases::concurrent_inserts_of_one_id,
            cases::concurrent_updates_of_one_version,
            cases::concurrent_reads_see_whole_records,
            lifecycle::create_authenticate_deactivate_activate,
            lifecycle::deleted_keys_never_authenticate,
            lifecycle::expired_keys_never_authenticate,
            lifecycle::rotation_without_and_with_grace,
            lifecycle::rotation_requires_active_unexpired,
            lifecycle::batches_are_all_or_nothing,
            lifecycle::update_keeps_absent_and_clears_empty,
            lifecycle::permitted_ips_fail_closed,
            lifecycle::revocation_survives_reopen,
            lifecycle::json_nesting_limit_at_and_past_its_edge,
            model::model_based,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($factory:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let factory = $factory;
                $crate::$module::$case(&factory);
            }
        )*
    };
}
