//! The layer that carries an [`AuthState`] into every request, with a slot for the
//! request's principal once an extractor or a guard resolved it.

use std::sync::OnceLock;
use std::task::{Context, Poll};

use axum::http::Request;
use tower::{Layer, Service};

use crate::principal::Principal;
use crate::state::AuthState;

/// What [`AuthLayer`] puts in each request's extensions (or the first extractor, when the
/// state came from the router's state): the state, and the one place the request's
/// principal is remembered once resolved (so a guard and a handler validate once).
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
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        request
            .extensions_mut()
            .insert(RequestAuth::new(self.state.clone()));
        self.inner.call(request)
    }
}
