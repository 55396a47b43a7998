//! The full conformance suite (the core and every optional domain) on the in-memory store.

use auth_memory::MemoryStore;

auth_core::conformance_tests!(
    memory,
    || async { MemoryStore::new() },
    domains = [organizations, api_keys, totp, passkeys, sso, scim],
    plant_parent = |store: MemoryStore, group, parent| async move {
        store.plant_group_parent(group, parent);
    }
);
