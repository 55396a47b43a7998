//! The full conformance suite on the in-memory store.

auth_core::conformance_tests!(memory, || async { auth_memory::MemoryStore::new() });
