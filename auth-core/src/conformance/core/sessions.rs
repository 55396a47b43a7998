//! Sessions: validation, expiry, revocation, listing.

use crate::Caller;
use time::Duration;

use crate::conformance::{Env, Harness, assert_code, meta};
use crate::sessions::SessionOrder;
use crate::{Aal, CoreStore, ErrorCode, ListQuery};

pub async fn validate_returns_session_and_user<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("v@example.com").await;
    let me = env
        .auth
        .sessions()
        .validate(signed_in.session_token.expose())
        .await
        .unwrap();
    assert_eq!(*me.user, signed_in.user);
    assert_eq!(me.session.id, signed_in.session.id);
    assert_eq!(me.session.aal, Aal::Aal1);
    assert_eq!(me.session.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(me.session.user_agent.as_deref(), Some("conformance/1.0"));
    let config = &env.auth.config().session;
    assert_eq!(
        me.session.expires_at,
        env.auth.now() + config.absolute_timeout
    );
    assert_eq!(
        me.session.idle_expires_at,
        env.auth.now() + config.idle_timeout
    );
    // Only the hash is stored.
    let stored = env
        .store()
        .get_session(signed_in.session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.token_hash,
        crate::TokenHash::of(signed_in.session_token.expose())
    );
}

pub async fn malformed_and_unknown_tokens<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.user("m@example.com").await;
    let sessions = env.auth.sessions();
    let megabyte = "a".repeat(1 << 20);
    for bad in [
        "",
        "short",
        "not base64 at all, but 43 characters long..",
        &megabyte,
    ] {
        assert_code(sessions.validate(bad).await, ErrorCode::InvalidToken);
    }
    let unknown = crate::secret::generate_token(&crate::secret::OsRandom);
    assert_code(
        sessions.validate(unknown.expose()).await,
        ErrorCode::NotSignedIn,
    );
}

pub async fn idle_expiry_slides_with_use<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.session.idle_timeout = Duration::hours(1);
        c.session.absolute_timeout = Duration::days(1);
        c.session.touch_interval = Duration::minutes(1);
    });
    let signed_in = env.user("idle@example.com").await;
    let token = signed_in.session_token.expose();
    // Used every 50 minutes, the session outlives its 1-hour idle timeout several times.
    for _ in 0..4 {
        env.advance(Duration::minutes(50));
        env.auth.sessions().validate(token).await.unwrap();
    }
    // Then 61 minutes of silence.
    env.advance(Duration::minutes(61));
    assert_code(
        env.auth.sessions().validate(token).await,
        ErrorCode::SessionExpired,
    );
}

pub async fn absolute_expiry_holds_despite_use<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.session.idle_timeout = Duration::hours(1);
        c.session.absolute_timeout = Duration::hours(3);
    });
    let signed_in = env.user("abs@example.com").await;
    let token = signed_in.session_token.expose();
    for _ in 0..5 {
        env.advance(Duration::minutes(30));
        env.auth.sessions().validate(token).await.unwrap();
    }
    env.advance(Duration::minutes(30));
    assert_code(
        env.auth.sessions().validate(token).await,
        ErrorCode::SessionExpired,
    );
}

pub async fn expired_session_is_refused_even_when_cached<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.session.idle_timeout = Duration::minutes(10);
        c.session.touch_interval = Duration::minutes(5);
    });
    let signed_in = env.user("cached@example.com").await;
    let token = signed_in.session_token.expose();
    env.auth.sessions().validate(token).await.unwrap();
    // The cache entry is fresh in wall-clock time, but the session clock says expired.
    env.advance(Duration::minutes(10));
    assert_code(
        env.auth.sessions().validate(token).await,
        ErrorCode::SessionExpired,
    );
}

pub async fn cached_validation_answers_only_what_validate_would<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| {
        c.session.idle_timeout = Duration::minutes(10);
        c.session.touch_interval = Duration::minutes(5);
    });
    let sessions = env.auth.sessions();
    let signed_in = env.user("fast@example.com").await;
    let token = signed_in.session_token.expose();
    assert!(sessions.validate_cached("garbage").is_none());
    let validated = sessions.validate(token).await.unwrap();
    let hit = sessions.validate_cached(token).expect("a cache hit");
    assert_eq!(hit.session.id, validated.session.id);
    // A touch is due: the synchronous path steps aside so `validate` records the use.
    env.advance(Duration::minutes(5));
    assert!(sessions.validate_cached(token).is_none());
    sessions.validate(token).await.unwrap();
    assert!(sessions.validate_cached(token).is_some());
    // Expired by the injected clock: no answer from the cache.
    env.advance(Duration::minutes(10));
    assert!(sessions.validate_cached(token).is_none());
    // Signed out: gone from the cache at once.
    let other = env.user("fast2@example.com").await;
    let token = other.session_token.expose();
    sessions.validate(token).await.unwrap();
    sessions.sign_out(token, &meta()).await.unwrap();
    assert!(sessions.validate_cached(token).is_none());
}

pub async fn use_is_written_at_most_once_per_touch_interval<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.session.touch_interval = Duration::minutes(5);
    });
    let signed_in = env.user("touch@example.com").await;
    let token = signed_in.session_token.expose();
    let created = signed_in.session.last_seen_at;
    let last_seen = || async {
        env.store()
            .get_session(signed_in.session.id)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at
    };
    env.advance(Duration::minutes(4));
    env.auth.sessions().validate(token).await.unwrap();
    assert_eq!(last_seen().await, created, "within the interval: no write");
    env.advance(Duration::minutes(2));
    let me = env.auth.sessions().validate(token).await.unwrap();
    assert_eq!(last_seen().await, created + Duration::minutes(6));
    assert_eq!(me.session.last_seen_at, created + Duration::minutes(6));
}

pub async fn sign_out_revokes<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let signed_in = env.user("out@example.com").await;
    let token = signed_in.session_token.expose();
    env.auth.sessions().validate(token).await.unwrap();
    env.auth.sessions().sign_out(token, &meta()).await.unwrap();
    assert_code(
        env.auth.sessions().validate(token).await,
        ErrorCode::SessionRevoked,
    );
    // Idempotent.
    env.auth.sessions().sign_out(token, &meta()).await.unwrap();
    assert_code(
        env.auth.sessions().sign_out("garbage", &meta()).await,
        ErrorCode::InvalidToken,
    );
}

pub async fn list_shows_only_the_users_active_sessions<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| c.session.idle_timeout = Duration::hours(2));
    let a1 = env.user("a@example.com").await;
    env.advance(Duration::hours(1));
    let a2 = env.sign_in("a@example.com").await;
    let a3 = env.sign_in("a@example.com").await;
    env.user("b@example.com").await;
    env.auth
        .sessions()
        .sign_out(a3.session_token.expose(), &meta())
        .await
        .unwrap();
    let ids = |page: crate::Page<crate::Session>| {
        page.items.into_iter().map(|s| s.id).collect::<Vec<_>>()
    };
    let page = env
        .auth
        .sessions()
        .list(
            &Caller::System,
            a1.user.id,
            ListQuery::new((), SessionOrder::CreatedAt),
        )
        .await
        .unwrap();
    assert_eq!(ids(page), [a1.session.id, a2.session.id]);
    // An hour later the first session idled out.
    env.advance(Duration::minutes(61));
    let page = env
        .auth
        .sessions()
        .list(
            &Caller::System,
            a1.user.id,
            ListQuery::new((), SessionOrder::CreatedAt),
        )
        .await
        .unwrap();
    assert_eq!(ids(page), [a2.session.id]);
}

pub async fn revoke_one_and_revoke_others<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let s1 = env.user("r@example.com").await;
    let s2 = env.sign_in("r@example.com").await;
    let s3 = env.sign_in("r@example.com").await;
    let s4 = env.sign_in("r@example.com").await;
    let sessions = env.auth.sessions();
    sessions
        .revoke(&s1.caller(), s2.session.id, &meta())
        .await
        .unwrap();
    assert_code(
        sessions.validate(s2.session_token.expose()).await,
        ErrorCode::SessionRevoked,
    );
    let current = sessions.validate(s3.session_token.expose()).await.unwrap();
    let revoked = sessions.revoke_others(&current, &meta()).await.unwrap();
    assert_eq!(revoked, 2, "s1 and s4");
    for gone in [&s1, &s4] {
        assert_code(
            sessions.validate(gone.session_token.expose()).await,
            ErrorCode::SessionRevoked,
        );
    }
    sessions.validate(s3.session_token.expose()).await.unwrap();
    assert_code(
        sessions
            .revoke_all(&b_caller(&env).await, s1.user.id, &meta())
            .await,
        ErrorCode::UserNotFound,
    );
    assert_eq!(
        sessions
            .revoke_all(&s3.caller(), s1.user.id, &meta())
            .await
            .unwrap(),
        1
    );
    assert_code(
        sessions.validate(s3.session_token.expose()).await,
        ErrorCode::SessionRevoked,
    );
}

/// A session of another user, as a caller.
async fn b_caller<S: CoreStore + Clone>(env: &Env<S>) -> Caller {
    env.user("someone-else@example.com").await.caller()
}

pub async fn revoke_of_another_users_session_is_not_found<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = env.user("a@example.com").await;
    let b = env.user("b@example.com").await;
    assert_code(
        env.auth
            .sessions()
            .revoke(&a.caller(), b.session.id, &meta())
            .await,
        ErrorCode::SessionNotFound,
    );
    assert_code(
        env.auth
            .sessions()
            .revoke(&a.caller(), crate::SessionId::new(), &meta())
            .await,
        ErrorCode::SessionNotFound,
    );
    env.auth
        .sessions()
        .validate(b.session_token.expose())
        .await
        .unwrap();
}

pub async fn revocation_on_one_node_is_seen_by_an_uncached_node<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let node_a = Env::new(h.store);
    let node_b = node_a.node_with(h.peer, |c| c.session.cache_ttl = Duration::ZERO);
    let signed_in = node_a.user("n@example.com").await;
    let token = signed_in.session_token.expose();
    node_b.auth.sessions().validate(token).await.unwrap();
    node_a
        .auth
        .sessions()
        .sign_out(token, &meta())
        .await
        .unwrap();
    assert_code(
        node_b.auth.sessions().validate(token).await,
        ErrorCode::SessionRevoked,
    );
}

pub async fn purge_deletes_ended_sessions<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::with_config(h.store, |c| {
        c.session.idle_timeout = Duration::hours(1);
    });
    let old = env.user("p@example.com").await;
    let revoked = env.sign_in("p@example.com").await;
    env.auth
        .sessions()
        .sign_out(revoked.session_token.expose(), &meta())
        .await
        .unwrap();
    env.advance(Duration::minutes(90));
    let live = env.sign_in("p@example.com").await;
    let purged = env.auth.sessions().purge(env.auth.now()).await.unwrap();
    assert_eq!(purged, 2);
    assert!(
        env.store()
            .get_session(old.session.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.store()
            .get_session(revoked.session.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.store()
            .get_session(live.session.id)
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn every_sign_in_gets_a_new_session<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let a = env.user("s@example.com").await;
    let b = env.sign_in("s@example.com").await;
    assert_ne!(a.session.id, b.session.id);
    assert_ne!(a.session_token, b.session_token);
    // Both stay valid: signing in on one device does not sign out another.
    env.auth
        .sessions()
        .validate(a.session_token.expose())
        .await
        .unwrap();
    env.auth
        .sessions()
        .validate(b.session_token.expose())
        .await
        .unwrap();
}
