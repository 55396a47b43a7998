//! A walk through the library over the in-memory store: sign-up, sign-in, validation,
//! refresh (and what happens when a refresh token is replayed), listing and revoking
//! sessions, a password reset by emailed code, and deleting the user.
//!
//! Run: `cargo run -p example-quickstart`

use auth_core::sessions::SessionOrder;
use auth_core::verification::Purpose;
use auth_core::{
    Answer, Auth, Caller, ListQuery, RecordingMailer, RequestMeta, Secret, SecretKey,
    SignInOutcome, SignUp, SignUpOutcome,
};
use auth_memory::MemoryStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mailer = RecordingMailer::new();
    let auth = Auth::builder(MemoryStore::new())
        .secret_key(SecretKey::generate())
        .mailer(mailer.clone())
        // A demo reads its mailer right after each request; production keeps the default
        // outbox, which mails off the request path.
        .outbox(auth_core::verification::InlineOutbox)
        .audit_to_store()
        .build()?;
    let laptop = RequestMeta::none()
        .with_ip([192, 0, 2, 10].into())
        .with_user_agent("Firefox on a laptop");
    let phone = RequestMeta::none()
        .with_ip([198, 51, 100, 7].into())
        .with_user_agent("Mobile app");

    println!("1. Sign up ada@example.com with a password (Argon2id).");
    let SignUpOutcome::SignedIn(first) = auth
        .password()
        .sign_up(
            SignUp {
                email: "Ada@Example.com".into(),
                password: Secret::new("correct horse battery staple"),
                name: Some("Ada Lovelace".into()),
                extend: None,
            },
            &laptop,
        )
        .await?
    else {
        return Err("this app does not require email verification".into());
    };
    println!(
        "   user {} ({}), session {}",
        first.user.id, first.user.email, first.session.id
    );
    println!(
        "   the session token is shown once: {:?}",
        first.session_token
    );

    println!("2. A wrong password and an unknown email fail the same way:");
    for (email, password) in [
        ("ada@example.com", "wrong password"),
        ("bob@example.com", "correct horse battery staple"),
    ] {
        let err = auth
            .password()
            .sign_in(email, &Secret::new(password), &laptop)
            .await
            .unwrap_err();
        println!("   {email}: {} ({})", err.code(), err);
    }

    println!("3. Sign in again from a phone; each device has its own session.");
    // A user who holds a second factor (TOTP, a passkey) gets a challenge instead of a
    // session, completed with `auth.totp()` or `auth.passkeys()`; Ada has none yet.
    let phone_session = match auth
        .password()
        .sign_in(
            "ada@example.com",
            &Secret::new("correct horse battery staple"),
            &phone,
        )
        .await?
    {
        SignInOutcome::SignedIn(done) => *done,
        SignInOutcome::MfaRequired(challenge) => {
            return Err(format!("a second factor is needed: {:?}", challenge.factors).into());
        }
    };
    let me = auth
        .sessions()
        .validate(phone_session.session_token.expose())
        .await?;
    println!(
        "   validated: {} signed in at {}",
        me.user.email,
        me.session.aal.as_str()
    );

    println!("4. The phone refreshes: new session token, new refresh token.");
    let refreshed = auth
        .sessions()
        .refresh(phone_session.refresh_token.expose(), &phone)
        .await?;
    let old = auth
        .sessions()
        .validate(phone_session.session_token.expose())
        .await;
    println!("   old session token now: {}", old.unwrap_err().code());

    println!("5. Someone replays the old refresh token:");
    let replay = auth
        .sessions()
        .refresh(phone_session.refresh_token.expose(), &phone)
        .await
        .unwrap_err();
    println!("   {} — the whole phone session is revoked:", replay.code());
    let after = auth
        .sessions()
        .validate(refreshed.session_token.expose())
        .await;
    println!("   newest phone token now: {}", after.unwrap_err().code());

    println!("6. Ada's active sessions (she asks, with her laptop session):");
    let ada = first.caller();
    let page = auth
        .sessions()
        .list(
            &ada,
            first.user.id,
            ListQuery::new((), SessionOrder::CreatedAt),
        )
        .await?;
    for s in &page.items {
        println!(
            "   {} from {} ({})",
            s.id,
            s.ip.as_deref().unwrap_or("?"),
            s.user_agent.as_deref().unwrap_or("?")
        );
    }

    println!("7. Ada forgot her password; the reset code arrives by email.");
    auth.password().forgot("ada@example.com", &laptop).await?;
    let mail = mailer
        .last("ada@example.com", Purpose::ResetPassword)
        .ok_or("no reset email")?;
    auth.password()
        .reset(
            Answer::Code {
                email: "ada@example.com",
                code: mail.code.expose(),
            },
            &Secret::new("a new, longer passphrase"),
            &laptop,
        )
        .await?;
    let laptop_now = auth.sessions().validate(first.session_token.expose()).await;
    println!(
        "   password reset; every session revoked (laptop: {})",
        laptop_now.unwrap_err().code()
    );

    println!("8. The app (a trusted caller) deletes the user with everything that was theirs.");
    let app = Caller::System;
    auth.users()
        .delete(&app, first.user.id, true, &laptop)
        .await?;
    let gone = auth.users().get(&app, first.user.id).await.unwrap_err();
    println!("   {}", gone.code());

    let events = auth
        .audit()
        .list(&app, ListQuery::new(Default::default(), Default::default()))
        .await?;
    println!("The audit log recorded {} events:", events.items.len());
    for e in events.items {
        let status = e.error_code.unwrap_or_else(|| "ok".into());
        println!("   {:<30} {status}", e.action);
    }
    Ok(())
}
