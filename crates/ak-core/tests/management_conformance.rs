//! The management-key conformance suite against the in-memory store.

ak_testkit::management_key_conformance!(ak_testkit::management::memory_factory());
