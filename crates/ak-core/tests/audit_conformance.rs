//! The audit conformance suite against the in-memory store.

ak_testkit::audit_event_conformance!(ak_testkit::audit::memory_factory());
