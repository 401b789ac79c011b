//! The webhook conformance suite against the in-memory store.

ak_testkit::webhook_conformance!(ak_testkit::webhook::memory_factory());
