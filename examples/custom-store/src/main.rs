//! Runs a few sign-ins through `MeteredStore<MemoryStore>` and prints what the store saw.
//!
//! Run: `cargo run -p example-custom-store`

use auth_core::{Auth, RequestMeta, Secret, SecretKey, SignUp};
use auth_memory::MemoryStore;
use example_custom_store::MeteredStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = MeteredStore::new(MemoryStore::new());
    let auth = Auth::builder(store.clone())
        .secret_key(SecretKey::generate())
        .audit_to_store()
        .build()?;
    let meta = RequestMeta::none();
    auth.password()
        .sign_up(
            SignUp {
                email: "ada@example.com".into(),
                password: Secret::new("correct horse battery staple"),
                name: None,
                extend: None,
            },
            &meta,
        )
        .await?;
    for _ in 0..3 {
        let signed_in = auth
            .password()
            .sign_in(
                "ada@example.com",
                &Secret::new("correct horse battery staple"),
                &meta,
            )
            .await
            .and_then(auth_core::SignInOutcome::signed_in)?;
        for _ in 0..100 {
            auth.sessions()
                .validate(signed_in.session_token.expose())
                .await?;
        }
    }
    let stats = store.stats();
    println!(
        "{:<24} {:>6} {:>6} {:>12}",
        "store method", "calls", "errors", "mean"
    );
    for (method, stats) in &stats {
        let mean = stats.total / u32::try_from(stats.calls.max(1)).unwrap_or(u32::MAX);
        println!(
            "{method:<24} {:>6} {:>6} {:>12?}",
            stats.calls, stats.errors, mean
        );
    }
    let lookups = stats.get("find_session_by_token").map_or(0, |s| s.calls);
    println!(
        "300 validations made {lookups} session lookups in the store: the cache answered \
         the rest (a session is cached when it starts)."
    );
    Ok(())
}
