//! GCRA buckets in the store: exact across nodes, refusals that change nothing, resets and
//! purges.

use std::sync::Arc;

use time::Duration;

use crate::CoreStore;
use crate::conformance::{Env, Harness};
use crate::rate_limit::RateLimit;

fn per_minute(max: u32) -> RateLimit {
    RateLimit {
        max,
        window: Duration::MINUTE,
    }
}

/// Sends `count` concurrent takes of `bucket`, alternating between the two nodes' stores;
/// returns how many were admitted.
async fn burst<S: CoreStore + Clone>(
    a: &Arc<Env<S>>,
    b: &Arc<Env<S>>,
    bucket: &str,
    limit: RateLimit,
    count: usize,
) -> usize {
    let mut tasks = Vec::new();
    for i in 0..count {
        let node = Arc::clone(if i % 2 == 0 { a } else { b });
        let bucket = bucket.to_owned();
        tasks.push(tokio::spawn(async move {
            let now = node.auth.now();
            node.store().take_rate_limit(&bucket, &limit, now).await
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().allowed {
            admitted += 1;
        }
    }
    admitted
}

pub async fn a_burst_is_exactly_max_across_nodes_then_one_per_interval<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let a = Arc::new(Env::new(h.store));
    let b = Arc::new(a.node(h.peer));
    let limit = per_minute(10);
    assert_eq!(burst(&a, &b, "gcra", limit, 64).await, 10, "a burst of max");
    a.advance(Duration::seconds(5));
    assert_eq!(
        burst(&a, &b, "gcra", limit, 16).await,
        0,
        "nothing back yet"
    );
    a.advance(Duration::seconds(1));
    assert_eq!(
        burst(&a, &b, "gcra", limit, 16).await,
        1,
        "one per window/max"
    );
    a.advance(Duration::minutes(5));
    assert_eq!(
        burst(&a, &b, "gcra", limit, 64).await,
        10,
        "whole again, no more"
    );
    assert_eq!(
        burst(&a, &b, "other", limit, 16).await,
        10,
        "buckets are independent"
    );
}

pub async fn refusals_change_nothing_and_say_when_to_come_back<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let limit = per_minute(2);
    let now = env.auth.now();
    let store = env.store();
    let first = store.take_rate_limit("r", &limit, now).await.unwrap();
    assert!(first.allowed);
    assert_eq!(first.remaining, 1);
    assert_eq!(first.reset_at, now + Duration::seconds(30));
    let second = store.take_rate_limit("r", &limit, now).await.unwrap();
    assert_eq!((second.allowed, second.remaining), (true, 0));
    assert_eq!(second.reset_at, now + Duration::MINUTE);
    // However often a refused caller retries, the allowance comes back on time.
    for _ in 0..5 {
        let refused = store.take_rate_limit("r", &limit, now).await.unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.reset_at, now + Duration::seconds(30));
        assert_eq!(refused.retry_after(now), Duration::seconds(30));
    }
    let later = now + Duration::seconds(30);
    assert!(
        store
            .take_rate_limit("r", &limit, later)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !store
            .take_rate_limit("r", &limit, later)
            .await
            .unwrap()
            .allowed
    );
}

pub async fn a_reset_gives_the_whole_allowance_back<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let limit = per_minute(3);
    let now = env.auth.now();
    let store = env.store();
    for _ in 0..3 {
        assert!(
            store
                .take_rate_limit("x", &limit, now)
                .await
                .unwrap()
                .allowed
        );
    }
    assert!(
        !store
            .take_rate_limit("x", &limit, now)
            .await
            .unwrap()
            .allowed
    );
    store.reset_rate_limit("x").await.unwrap();
    store.reset_rate_limit("never-taken").await.unwrap();
    for _ in 0..3 {
        assert!(
            store
                .take_rate_limit("x", &limit, now)
                .await
                .unwrap()
                .allowed
        );
    }
    assert!(
        !store
            .take_rate_limit("x", &limit, now)
            .await
            .unwrap()
            .allowed
    );
}

pub async fn purges_remove_only_whole_buckets<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let limit = per_minute(1);
    let now = env.auth.now();
    let store = env.store();
    assert!(
        store
            .take_rate_limit("b", &limit, now)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !store
            .take_rate_limit("b", &limit, now)
            .await
            .unwrap()
            .allowed
    );
    let half = now + Duration::seconds(30);
    assert_eq!(store.purge_rate_limits(half).await.unwrap(), 0);
    assert!(
        !store
            .take_rate_limit("b", &limit, half)
            .await
            .unwrap()
            .allowed,
        "a purge keeps a bucket still spent"
    );
    let later = now + Duration::minutes(2);
    assert_eq!(store.purge_rate_limits(later).await.unwrap(), 1);
    assert_eq!(store.purge_rate_limits(later).await.unwrap(), 0);
    assert!(
        store
            .take_rate_limit("b", &limit, later)
            .await
            .unwrap()
            .allowed
    );
}

pub async fn purge_expired_deletes_what_ended<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let limit = per_minute(1);
    let now = env.auth.now();
    assert!(
        env.store()
            .take_rate_limit("p", &limit, now)
            .await
            .unwrap()
            .allowed
    );
    let before = env.auth.purge_expired().await.unwrap();
    assert_eq!(before.rate_limits, 0, "still spent");
    env.advance(Duration::minutes(2));
    let after = env.auth.purge_expired().await.unwrap();
    assert_eq!(after.rate_limits, 1);
}

pub async fn a_peek_answers_as_a_take_would_and_takes_nothing<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let limit = per_minute(2);
    let now = env.auth.now();
    let store = env.store();
    let fresh = store.peek_rate_limit("k", &limit, now).await.unwrap();
    assert_eq!((fresh.allowed, fresh.remaining), (true, 1));
    for _ in 0..10 {
        assert!(
            store
                .peek_rate_limit("k", &limit, now)
                .await
                .unwrap()
                .allowed
        );
    }
    assert!(
        store
            .take_rate_limit("k", &limit, now)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        store
            .take_rate_limit("k", &limit, now)
            .await
            .unwrap()
            .allowed
    );
    let spent = store.peek_rate_limit("k", &limit, now).await.unwrap();
    assert!(!spent.allowed);
    assert_eq!(spent.reset_at, now + Duration::seconds(30));
    let later = now + Duration::seconds(30);
    assert!(
        store
            .peek_rate_limit("k", &limit, later)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        store
            .take_rate_limit("k", &limit, later)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !store
            .peek_rate_limit("k", &limit, later)
            .await
            .unwrap()
            .allowed
    );
}
