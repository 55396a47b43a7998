//! The clock jumping forward and backward (docs/security.md, "Clock"): expiries are points
//! in time, so a forward jump ages everything by the jump and a backward jump of `J`
//! extends what is alive by at most `J`; a backward jump never refills a rate limit, never
//! undoes a revocation or a consumed code, and never lets a cache entry outlive its
//! lifetime plus the jump.

use time::Duration;

use crate::conformance::{Env, Harness, PASSWORD, assert_code, meta};
use crate::rate_limit::RateLimit;
use crate::verification::Purpose;
use crate::{Answer, CoreStore, ErrorCode, Secret};

/// How far the clock is set back in these behaviours.
const JUMP: Duration = Duration::hours(1);

pub async fn a_forward_jump_ages_sessions_and_a_backward_one_extends_them_by_the_jump_at_most<
    S: CoreStore + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::with_config(h.store, |c| {
        c.session.idle_timeout = Duration::hours(2);
        c.session.absolute_timeout = Duration::hours(5);
        c.session.touch_interval = Duration::minutes(1);
    });
    let t0 = env.auth.now();
    let sessions = env.auth.sessions();
    let idle = env.user("idle@example.com").await;
    let idle = idle.session_token.expose();
    sessions.validate(idle).await.unwrap();

    // Set back: still valid, and a use "before" its last use records nothing, so the
    // idle end stays where the last real use put it.
    env.clock.set(t0 - JUMP);
    sessions.validate(idle).await.unwrap();
    env.clock
        .set(t0 + Duration::hours(2) - Duration::seconds(1));
    sessions.validate(idle).await.unwrap();
    // That use slid the idle end to 4 h; a forward jump past it ends the session.
    env.clock.set(t0 + Duration::hours(4));
    assert_code(sessions.validate(idle).await, ErrorCode::SessionExpired);

    // Used often, a session still ends at its absolute end, and a backward jump after that
    // brings it back only while the clock is before that end (by at most the jump).
    env.clock.set(t0);
    let kept = env.sign_in("idle@example.com").await;
    let kept = kept.session_token.expose();
    for hour in 1..=4 {
        env.clock.set(t0 + Duration::hours(hour));
        sessions.validate(kept).await.unwrap();
    }
    env.clock.set(t0 + Duration::hours(5));
    assert_code(sessions.validate(kept).await, ErrorCode::SessionExpired);
    env.clock.set(t0 + Duration::hours(5) - JUMP);
    let back = sessions.validate(kept).await.unwrap();
    assert_eq!(back.session.expires_at, t0 + Duration::hours(5));
    assert!(back.session.idle_expires_at <= t0 + Duration::hours(6));
    env.clock.set(t0 + Duration::hours(5));
    assert_code(sessions.validate(kept).await, ErrorCode::SessionExpired);
}

pub async fn a_backward_jump_never_revives_a_signed_out_session_on_any_node<
    S: CoreStore + Clone,
>(
    h: Harness<S>,
) {
    let a = Env::new(h.store);
    let b = a.node(h.peer);
    let t0 = a.auth.now();
    let signed_in = a.user("cached@example.com").await;
    let token = signed_in.session_token.expose();
    // Node B caches the session at t0.
    b.auth.sessions().validate(token).await.unwrap();
    assert!(b.auth.sessions().validate_cached(token).is_some());
    // The clock is set back, then node A signs the session out. B's entry was cached "in
    // the future": it is a miss, so B asks the store instead of trusting it for its
    // lifetime plus the jump.
    a.clock.set(t0 - JUMP);
    assert!(b.auth.sessions().validate_cached(token).is_none());
    a.auth.sessions().sign_out(token, &meta()).await.unwrap();
    assert_code(
        b.auth.sessions().validate(token).await,
        ErrorCode::SessionRevoked,
    );
    a.clock.set(t0);
    assert_code(
        b.auth.sessions().validate(token).await,
        ErrorCode::SessionRevoked,
    );
}

pub async fn a_refresh_token_stays_single_use_whatever_the_clock_does<S: CoreStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let t0 = env.auth.now();
    let first = env.user("refresh@example.com").await;
    let second = env
        .auth
        .sessions()
        .refresh(first.refresh_token.expose(), &meta())
        .await
        .unwrap();
    env.clock.set(t0 - JUMP);
    // Replaying the rotated token before the time it was rotated is still a reuse.
    assert_code(
        env.auth
            .sessions()
            .refresh(first.refresh_token.expose(), &meta())
            .await,
        ErrorCode::RefreshTokenReused,
    );
    assert_code(
        env.auth
            .sessions()
            .validate(second.session_token.expose())
            .await,
        ErrorCode::SessionRevoked,
    );
    // A forward jump past the absolute end ends a fresh session's refresh token too.
    env.clock.set(t0);
    let fresh = env.sign_in("refresh@example.com").await;
    env.advance(env.auth.config().session.absolute_timeout);
    assert_code(
        env.auth
            .sessions()
            .refresh(fresh.refresh_token.expose(), &meta())
            .await,
        ErrorCode::SessionExpired,
    );
}

async fn mail_verification_code<S: CoreStore + Clone>(
    env: &Env<S>,
    user: crate::UserId,
    email: &str,
) -> crate::verification::OutgoingEmail {
    env.auth
        .email()
        .send_verification(user, &meta())
        .await
        .unwrap();
    env.mailer.last(email, Purpose::VerifyEmail).unwrap()
}

pub async fn codes_expire_at_their_time_and_stay_single_use_after_a_backward_jump<
    S: CoreStore + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let t0 = env.auth.now();
    let email = "code@example.com";
    let user = env.user(email).await.user;
    let ttl = env.auth.config().verification.ttl;
    // A forward jump of its lifetime expires a code.
    let late = mail_verification_code(&env, user.id, email).await;
    env.clock.set(t0 + ttl);
    assert_code(
        env.auth
            .email()
            .verify(Answer::Link(late.link_token.expose()), &meta())
            .await,
        ErrorCode::CodeExpired,
    );
    // A code sent, then the clock set back: it works (its end is a point in time, so it
    // lived at most its lifetime plus the jump), once.
    env.clock.set(t0);
    let mail = mail_verification_code(&env, user.id, email).await;
    assert_eq!(mail.expires_at, t0 + ttl);
    env.clock.set(t0 - JUMP);
    let answer = || Answer::Code {
        email,
        code: mail.code.expose(),
    };
    let verified = env.auth.email().verify(answer(), &meta()).await.unwrap();
    assert!(verified.email_verified);
    env.clock.set(t0 - JUMP - JUMP);
    assert_code(
        env.auth.email().verify(answer(), &meta()).await,
        ErrorCode::CodeInvalid,
    );
    assert_code(
        env.auth
            .email()
            .verify(Answer::Link(mail.link_token.expose()), &meta())
            .await,
        ErrorCode::CodeInvalid,
    );
}

pub async fn a_backward_jump_never_refills_a_rate_limit<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let limit = RateLimit {
        max: 4,
        window: Duration::MINUTE,
    };
    let interval = Duration::seconds(15);
    let t0 = env.auth.now();
    let store = env.store();
    let mut admitted = 0;
    for _ in 0..10 {
        admitted += u32::from(
            store
                .take_rate_limit("jump", &limit, t0)
                .await
                .unwrap()
                .allowed,
        );
    }
    assert_eq!(admitted, limit.max, "a burst of max");
    // From an hour back up to the moment the first unit comes back, nothing is admitted,
    // however many times it is asked.
    for back in [
        JUMP,
        Duration::minutes(10),
        Duration::MINUTE,
        Duration::SECOND,
    ] {
        for at in [t0 - back, t0 + interval - back] {
            let decision = store.take_rate_limit("jump", &limit, at).await.unwrap();
            assert!(!decision.allowed, "admitted at {at} after a backward jump");
            assert_eq!(decision.reset_at, t0 + interval, "the refusal says when");
        }
    }
    assert!(
        store
            .take_rate_limit("jump", &limit, t0 + interval)
            .await
            .unwrap()
            .allowed
    );
    // A forward jump of a whole window gives back the whole allowance, and no more.
    let later = t0 + Duration::hours(3);
    let mut admitted = 0;
    for _ in 0..10 {
        admitted += u32::from(
            store
                .take_rate_limit("jump", &limit, later)
                .await
                .unwrap()
                .allowed,
        );
    }
    assert_eq!(admitted, limit.max);
}

pub async fn a_backward_jump_keeps_a_locked_account_locked<S: CoreStore + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    env.user("locked@example.com").await;
    let t0 = env.auth.now();
    let max = env.auth.config().sign_in_limit.unwrap().max;
    let sign_in = |password: &'static str| {
        let auth = env.auth.clone();
        async move {
            auth.password()
                .sign_in("locked@example.com", &Secret::new(password), &meta())
                .await
                .and_then(crate::SignInOutcome::signed_in)
        }
    };
    for _ in 0..max {
        assert_code(sign_in("wrong guess").await, ErrorCode::InvalidCredentials);
    }
    assert_code(sign_in("wrong guess").await, ErrorCode::RateLimited);
    for back in [Duration::minutes(1), JUMP, Duration::days(1)] {
        env.clock.set(t0 - back);
        assert_code(sign_in("wrong guess").await, ErrorCode::RateLimited);
        assert_code(sign_in(PASSWORD).await, ErrorCode::RateLimited);
    }
    // The allowance comes back on the original schedule.
    env.clock
        .set(t0 + env.auth.config().sign_in_limit.unwrap().window);
    sign_in(PASSWORD).await.unwrap();
}
