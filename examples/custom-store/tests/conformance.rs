//! The wrapper changes nothing: the full conformance suite passes through it.

use auth_memory::MemoryStore;
use example_custom_store::MeteredStore;

auth_core::conformance_tests!(
    metered_memory,
    || async { MeteredStore::new(MemoryStore::new()) },
    domains = [organizations, api_keys, totp],
    plant_parent = |store: MeteredStore<MemoryStore>, group, parent| async move {
        store.inner().plant_group_parent(group, parent);
    }
);

#[tokio::test]
async fn calls_are_counted() {
    use auth_core::{UserId, UserStore};
    let store = MeteredStore::new(MemoryStore::new());
    assert!(store.get_user(UserId::new()).await.unwrap().is_none());
    assert!(store.get_user(UserId::new()).await.unwrap().is_none());
    let stats = store.stats();
    assert_eq!(stats["get_user"].calls, 2);
    assert_eq!(stats["get_user"].errors, 0);
    assert_eq!(stats.len(), 1);
}
