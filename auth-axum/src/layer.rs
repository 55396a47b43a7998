//! The layer that carries an [`AuthState`] to the guards and extractors of every request,
//! and the slot where a request's principal is remembered once a store resolved it.
//!
//! The layer puts nothing in the request: its state is a thread-local value, current while
//! the inner service is called and while each poll of its future runs (and restored to
//! what it was afterwards, so layers nest and a request made inside a handler sees nothing
//! of the outer one). A request costs no allocation for it (an extensions insert costs
//! four, and about a third of a microsecond), and one reference count: the state is the
//! app's, the same for every request it serves.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use axum::http::Request;
use tower::{Layer, Service};

use crate::principal::Principal;
use crate::state::AuthState;

thread_local! {
    /// The state of the [`AuthLayer`] whose service or future runs on this thread now
    /// (empty outside one).
    static CURRENT: Cell<AuthState> = const { Cell::new(AuthState::empty()) };
}

/// The state of the [`AuthLayer`] serving the current request, if any.
pub(crate) fn layer_state() -> Option<AuthState> {
    CURRENT
        .try_with(|current| {
            let state = current.replace(AuthState::empty());
            let found = state.clone();
            current.set(state);
            found
        })
        .ok()
        .filter(|state| state.inner().is_some())
}

/// Runs `f` with `slot`'s state current, then makes the previous state current again (also
/// when `f` panics); `slot` holds its own state again afterwards. An empty `slot` changes
/// nothing: what is current stays current (a guard without a state of its own).
pub(crate) fn with_current<R>(slot: &mut AuthState, f: impl FnOnce() -> R) -> R {
    if slot.inner().is_none() {
        return f();
    }
    /// Swaps the slot back on the way out.
    struct Restore<'a>(&'a Cell<AuthState>);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            swap_current(self.0);
        }
    }
    fn swap_current(slot: &Cell<AuthState>) {
        // Fails only while the thread is being torn down; then neither swap happens.
        let _ = CURRENT.try_with(|current| current.swap(slot));
    }
    let slot = Cell::from_mut(slot);
    swap_current(slot);
    let _restore = Restore(slot);
    f()
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

/// A layer giving an [`AuthState`] to the guards and extractors of every request it
/// serves; see [`AuthState::layer`].
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
    type Future = AuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // A guard decides in `call` already (a cache hit), the handler when polled: the
        // state is current for both, and the future keeps the one clone.
        let mut state = self.state.clone();
        let inner = &mut self.inner;
        let future = with_current(&mut state, || inner.call(request));
        AuthFuture { state, future }
    }
}

pin_project_lite::pin_project! {
    /// The future of an [`AuthService`] (and of a [`RequireService`](crate::RequireService)):
    /// the inner service's, polled with the layer's state current (if it has one).
    pub struct AuthFuture<F> {
        state: AuthState,
        #[pin]
        future: F,
    }
}

impl<F> AuthFuture<F> {
    /// `future`, to be polled with `state` current.
    pub(crate) fn new(state: AuthState, future: F) -> Self {
        Self { state, future }
    }
}

impl<F: Future> Future for AuthFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        with_current(this.state, || future.poll(cx))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use auth_core::{Auth, SecretKey};
    use futures_util::FutureExt;

    use super::*;

    fn state(origin: &str) -> AuthState {
        let auth = Auth::builder(auth_memory::MemoryStore::new())
            .secret_key(SecretKey::generate())
            .build()
            .unwrap();
        AuthState::builder(auth, crate::HttpConfig::localhost(origin).unwrap()).build()
    }

    /// Which state is current: the origin of its config, or `None`.
    fn current_origin() -> Option<String> {
        layer_state().map(|s| s.config().unwrap().origin.to_string())
    }

    #[test]
    fn the_state_is_current_inside_only_and_nests() {
        let (mut a, mut b) = (
            state("http://localhost:3001"),
            state("http://localhost:3002"),
        );
        assert_eq!(current_origin(), None);
        with_current(&mut a, || {
            assert_eq!(current_origin().as_deref(), Some("http://localhost:3001"));
            with_current(&mut b, || {
                assert_eq!(current_origin().as_deref(), Some("http://localhost:3002"));
            });
            assert_eq!(current_origin().as_deref(), Some("http://localhost:3001"));
        });
        assert_eq!(current_origin(), None);
        // Each slot holds its own state again.
        assert_eq!(a.config().unwrap().origin, "http://localhost:3001");
        assert_eq!(b.config().unwrap().origin, "http://localhost:3002");
    }

    #[test]
    fn a_panic_inside_restores_the_previous_state() {
        let mut a = state("http://localhost:3001");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_current(&mut a, || panic!("inside"));
        }));
        assert!(caught.is_err());
        assert_eq!(current_origin(), None);
    }

    /// Reports the current state when called and when its future is polled (after
    /// yielding once).
    fn report(
        _: Request<()>,
    ) -> impl Future<Output = Result<(Option<String>, Option<String>), Infallible>> {
        let at_call = current_origin();
        async move {
            tokio::task::yield_now().await;
            Ok((at_call, current_origin()))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_request_future_sees_its_own_layer_state_when_polled() {
        let mut a = AuthLayer::new(state("http://localhost:3001")).layer(tower::service_fn(report));
        let mut b = AuthLayer::new(state("http://localhost:3002")).layer(tower::service_fn(report));
        let fa = a.call(Request::new(()));
        let fb = b.call(Request::new(()));
        assert_eq!(current_origin(), None, "nothing current between calls");
        // Polled interleaved: the first poll of each yields.
        let (ra, rb) = tokio::join!(fa, fb);
        let want = |o: &str| (Some(o.to_owned()), Some(o.to_owned()));
        assert_eq!(ra.unwrap(), want("http://localhost:3001"));
        assert_eq!(rb.unwrap(), want("http://localhost:3002"));
        assert_eq!(current_origin(), None);
        // One poll that completes (no yield) restores too.
        let mut c = AuthLayer::new(state("http://localhost:3003")).layer(tower::service_fn(
            |_: Request<()>| async { Ok::<_, Infallible>(current_origin()) },
        ));
        let seen = c.call(Request::new(())).now_or_never().unwrap().unwrap();
        assert_eq!(seen.as_deref(), Some("http://localhost:3003"));
        assert_eq!(current_origin(), None);
    }
}
