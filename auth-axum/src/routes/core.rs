//! The core domain's routes: sign-up, sign-in, sign-out, refresh, email verification,
//! password reset, the signed-in user and their sessions. Served for every store.

use auth_core::CoreStore;
use axum::Router;
use axum::routing::{delete, get, post};
use utoipa::OpenApi;

use super::{Api, Domain, account, auth, sessions};
use crate::state::AuthState;

/// The core domain.
pub(crate) fn domain<S: CoreStore>() -> Domain {
    Domain {
        name: "core",
        routes: routes::<S>,
        doc: Doc::openapi,
    }
}

fn routes<S: CoreStore>(state: &AuthState) -> Option<Router> {
    let api = Api::<S>::of(state)?;
    let routes = Router::new()
        .route("/auth/sign-up", post(auth::sign_up::<S>))
        .route("/auth/sign-in", post(auth::sign_in::<S>))
        .route("/auth/sign-in/email", post(auth::sign_in_email::<S>))
        .route(
            "/auth/sign-in/email/send",
            post(auth::send_sign_in_code::<S>),
        )
        .route("/auth/sign-out", post(auth::sign_out::<S>))
        .route("/auth/refresh", post(auth::refresh::<S>))
        .route("/auth/verify-email", post(auth::verify_email::<S>))
        .route(
            "/auth/verify-email/send",
            post(auth::send_verification::<S>),
        )
        .route("/auth/password/forgot", post(auth::forgot_password::<S>))
        .route("/auth/password/reset", post(auth::reset_password::<S>))
        .route("/auth/password/change", post(account::change_password::<S>))
        .route(
            "/auth/me",
            get(auth::me)
                .patch(account::update_me::<S>)
                .delete(account::delete_me::<S>),
        )
        .route(
            "/auth/email/change",
            post(account::request_email_change::<S>),
        )
        .route(
            "/auth/email/change/confirm",
            post(account::confirm_email_change::<S>),
        )
        .route("/auth/accounts", get(account::list_accounts::<S>))
        .route("/auth/accounts/{id}", delete(account::unlink_account::<S>))
        .route("/auth/sessions", get(sessions::list_sessions::<S>))
        .route(
            "/auth/sessions/revoke-others",
            post(sessions::revoke_others::<S>),
        )
        .route("/auth/sessions/{id}", delete(sessions::revoke_session::<S>))
        .with_state(api);
    Some(routes)
}

/// The OpenAPI paths of the core domain.
#[derive(OpenApi)]
#[openapi(
    paths(
        auth::sign_up,
        auth::sign_in,
        auth::send_sign_in_code,
        auth::sign_in_email,
        auth::sign_out,
        auth::refresh,
        auth::send_verification,
        auth::verify_email,
        auth::forgot_password,
        auth::reset_password,
        account::change_password,
        account::update_me,
        account::delete_me,
        account::request_email_change,
        account::confirm_email_change,
        account::list_accounts,
        account::unlink_account,
        auth::me,
        sessions::list_sessions,
        sessions::revoke_session,
        sessions::revoke_others,
    ),
    tags(
        (name = "auth", description = "Sign-up, sign-in, email codes, passwords"),
        (name = "sessions", description = "Your sessions"),
        (name = "account", description = "Your account: password, profile, email, linked accounts, deletion"),
    )
)]
pub(crate) struct Doc;
