//! The shared conformance suite against the in-memory store.

ak_testkit::keystore_conformance!(ak_testkit::memory_factory());
