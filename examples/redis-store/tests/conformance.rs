//! The core conformance suite against Redis: `AUTH_TEST_REDIS_URL=redis://127.0.0.1:6379
//! cargo test -p example-redis-store`. Without the variable every behaviour says SKIPPED.
//!
//! The core always runs, so a core-only store names no `domains` (`domains = [core]` would
//! be a second `core` module). Each behaviour gets a fresh random key prefix; the peer is a second connection on the
//! same prefix, as another app node would hold.

mod common;

auth_core::conformance_tests!(
    redis,
    || async { common::fresh_store().await },
    peer = |store: example_redis_store::RedisStore| async move {
        store.reconnect().await.expect("a second connection")
    },
    skip_unless_env = "AUTH_TEST_REDIS_URL"
);
