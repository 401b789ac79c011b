//! The last-used conformance suite against the in-memory store.

ak_testkit::key_usage_conformance!(ak_testkit::usage::memory_factory());
