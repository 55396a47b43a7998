//! The layer that carries an [`AuthState`] to the guards and extractors of every request,
//! and the slot where a request's principal is remembered once a store resolved it.
//!
//! The layer puts nothing in the request: its state is a task-local value, set while the
//! inner service is called and while its future runs, so a request costs no allocation
//! for it (an extensions insert costs four, and about a third of a microsecond). Only the
//! state travels that way; it is the app's, the same for every request it serves, so a
//! request made inside a handler sees nothing of the outer request's caller.

use std::sync::OnceLock;
use std::task::{Context, Poll};

use axum::http::Request;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use crate::principal::Principal;
use crate::state::AuthState;

tokio::task_local! {
    /// The state of the [`AuthLayer`] serving the current request.
    static LAYER_STATE: AuthState;
}

/// The state of the [`AuthLayer`] serving the current request, if any.
pub(crate) fn layer_state() -> Option<AuthState> {
    LAYER_STATE.try_with(AuthState::clone).ok()
}

/// A request's principal, remembered in its extensions once it was resolved through the
/// services (a cache miss: a store read, a rate limit spent, a session touched), so that a
/// guard and a handler do that once. A principal the caches answered is not remembered:
/// answering it again costs less than remembering it.
#[derive(Clone)]
pub(crate) struct RequestAuth {
    pub(crate) state: AuthState,
    pub(crate) principal: OnceLock<Option<Principal>>,
}

impl RequestAuth {
    pub(crate) fn new(state: AuthState) -> Self {
        Self {
            state,
            principal: OnceLock::new(),
        }
    }
}

/// A layer putting an [`AuthState`] in every request; see [`AuthState::layer`].
#[derive(Clone, Debug)]
pub struct AuthLayer {
    state: AuthState,
}

impl AuthLayer {
    pub(crate) fn new(state: AuthState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service of an [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    state: AuthState,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<AuthState, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // A guard decides in `call` already (a cache hit), the handler when polled.
        let inner = &mut self.inner;
        let future = LAYER_STATE.sync_scope(self.state.clone(), || inner.call(request));
        LAYER_STATE.scope(self.state.clone(), future)
    }
}
