//! Refresh tokens: rotation, reuse detection, concurrency.

use std::sync::Arc;

use time::Duration;

use crate::conformance::{Env, Harness, assert_code, meta};
use crate::{CoreStore, ErrorCode};

pub async fn refresh_rotates_both_tokens<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let first = env.user("r@example.com").await;
    env.advance(Duration::minutes(10));
    let second = env
        .auth
        .sessions()
        .refresh(first.refresh_token.expose(), &meta())
        .await
        .unwrap();
    assert_eq!(second.session.id, first.session.id, "same session");
    assert_ne!(second.session_token, first.session_token);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.session.last_seen_at, env.auth.now());
    assert_code(
        env.auth
            .sessions()
            .validate(first.session_token.expose())
            .await,
        ErrorCode::NotSignedIn,
    );
    env.auth
        .sessions()
        .validate(second.session_token.expose())
        .await
        .unwrap();
    let third = env
        .auth
        .sessions()
        .refresh(second.refresh_token.expose(), &meta())
        .await
        .unwrap();
    env.auth
        .sessions()
        .validate(third.session_token.expose())
        .await
        .unwrap();
}

pub async fn reused_refresh_token_revokes_the_session<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let first = env.user("reuse@example.com").await;
    let second = env
        .auth
        .sessions()
        .refresh(first.refresh_token.expose(), &meta())
        .await
        .unwrap();
    // The client uses its new session token: now this node's cache holds it.
    env.auth
        .sessions()
        .validate(second.session_token.expose())
        .await
        .unwrap();
    // An attacker replays the first refresh token.
    assert_code(
        env.auth
            .sessions()
            .refresh(first.refresh_token.expose(), &meta())
            .await,
        ErrorCode::RefreshTokenReused,
    );
    // The whole family is dead: the legitimate client's newer tokens too.
    assert_code(
        env.auth
            .sessions()
            .validate(second.session_token.expose())
            .await,
        ErrorCode::SessionRevoked,
    );
    assert_code(
        env.auth
            .sessions()
            .refresh(second.refresh_token.expose(), &meta())
            .await,
        ErrorCode::SessionRevoked,
    );
    // Other sessions of the user are untouched.
    let other = env.sign_in("reuse@example.com").await;
    env.auth
        .sessions()
        .validate(other.session_token.expose())
        .await
        .unwrap();
}

pub async fn refresh_after_expiry_fails<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.session.idle_timeout = Duration::hours(1);
        c.session.absolute_timeout = Duration::hours(2);
    });
    let idle = env.user("idle@example.com").await;
    env.advance(Duration::minutes(61));
    assert_code(
        env.auth
            .sessions()
            .refresh(idle.refresh_token.expose(), &meta())
            .await,
        ErrorCode::SessionExpired,
    );
    // Refreshing keeps a session alive until its absolute expiry, not beyond.
    let mut current = env.sign_in("idle@example.com").await;
    for step in [40, 40, 39] {
        env.advance(Duration::minutes(step));
        current = env
            .auth
            .sessions()
            .refresh(current.refresh_token.expose(), &meta())
            .await
            .unwrap();
    }
    // 119 minutes in: one more minute reaches the 2-hour absolute expiry.
    env.advance(Duration::minutes(1));
    assert_code(
        env.auth
            .sessions()
            .refresh(current.refresh_token.expose(), &meta())
            .await,
        ErrorCode::SessionExpired,
    );
}

pub async fn refresh_of_revoked_session_fails<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("rev@example.com").await;
    env.auth
        .sessions()
        .sign_out(signed_in.session_token.expose(), &meta())
        .await
        .unwrap();
    assert_code(
        env.auth
            .sessions()
            .refresh(signed_in.refresh_token.expose(), &meta())
            .await,
        ErrorCode::SessionRevoked,
    );
}

pub async fn unknown_and_malformed_refresh_tokens<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("u@example.com").await;
    let unknown = crate::secret::generate_token(&crate::secret::OsRandom);
    for bad in ["", "nope", &"x".repeat(1 << 20), unknown.expose()] {
        assert_code(
            env.auth.sessions().refresh(bad, &meta()).await,
            ErrorCode::RefreshTokenInvalid,
        );
    }
    // A session token is not a refresh token.
    assert_code(
        env.auth
            .sessions()
            .refresh(signed_in.session_token.expose(), &meta())
            .await,
        ErrorCode::RefreshTokenInvalid,
    );
}

pub async fn concurrent_refreshes_exactly_one_wins<S: CoreStore + Clone>(h: Harness<S>) {
    let node_a = Arc::new(Env::new(h.store));
    let node_b = Arc::new(node_a.node(h.peer));
    let signed_in = node_a.user("race@example.com").await;
    let token = Arc::new(signed_in.refresh_token.expose().to_owned());
    let mut tasks = Vec::new();
    for i in 0..50 {
        let node = if i % 2 == 0 {
            Arc::clone(&node_a)
        } else {
            Arc::clone(&node_b)
        };
        let token = Arc::clone(&token);
        tasks.push(tokio::spawn(async move {
            node.auth.sessions().refresh(&token, &meta()).await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert!(
                matches!(
                    e.code(),
                    ErrorCode::RefreshTokenReused | ErrorCode::SessionRevoked
                ),
                "unexpected {e}"
            ),
        }
    }
    assert_eq!(won, 1, "exactly one refresh wins");
}
