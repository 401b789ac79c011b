//! The signing-key conformance suite against the in-memory store.

ak_testkit::signing_key_conformance!(ak_testkit::signing::memory_factory());
