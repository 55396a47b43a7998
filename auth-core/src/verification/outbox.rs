//! The outbox: where a request hands the work of an email, so it never waits for the
//! mailer, and the time it takes does not tell whether an address has an account.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

/// The work of one email, taken off the request path: storing its code and handing it to
/// the [`Mailer`](super::Mailer) (or nothing at all, for an address without an account:
/// the request hands one over either way). Failures are logged inside; [`Delivery::run`]
/// does the work.
pub struct Delivery(Pin<Box<dyn Future<Output = ()> + Send + 'static>>);

impl Delivery {
    pub(crate) fn new(work: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(Box::pin(work))
    }

    /// A delivery that sends nothing.
    pub(crate) fn nothing() -> Self {
        Self::new(async {})
    }

    /// Does the work.
    pub async fn run(self) {
        self.0.await;
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Delivery")
    }
}

/// Where the library hands [`Delivery`]s (password reset, sign-in codes, sign-up mail).
/// Set with [`AuthBuilder::outbox`](crate::AuthBuilder::outbox); the default is
/// [`SpawnOutbox`]. Implement it to use a queue of your own (a durable job queue, a worker
/// you run): `submit` must not wait for the delivery to finish.
#[async_trait]
pub trait Outbox: Send + Sync + fmt::Debug {
    /// Takes a delivery, to be run later.
    async fn submit(&self, delivery: Delivery);
}

/// The default outbox: runs each delivery as its own task on the tokio runtime, at most
/// `max_in_flight` at a time (default 1024); beyond that a delivery is dropped and logged
/// (a mailer that far behind is down, and waiting for it would put it back on the request
/// path).
#[derive(Debug, Clone)]
pub struct SpawnOutbox {
    in_flight: Arc<Semaphore>,
}

impl SpawnOutbox {
    /// An outbox running at most `max_in_flight` deliveries at once.
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
        }
    }
}

impl Default for SpawnOutbox {
    fn default() -> Self {
        Self::new(1024)
    }
}

#[async_trait]
impl Outbox for SpawnOutbox {
    async fn submit(&self, delivery: Delivery) {
        match Arc::clone(&self.in_flight).try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    delivery.run().await;
                    drop(permit);
                });
            }
            Err(_) => tracing::error!("mail outbox full: an email was dropped"),
        }
    }
}

/// Runs each delivery before `submit` returns. The mailer is then back on the request
/// path, and its timing shows whether an address has an account: for tests and demos that
/// read the mailer right after a request, not for production.
#[derive(Debug, Clone, Copy, Default)]
pub struct InlineOutbox;

#[async_trait]
impl Outbox for InlineOutbox {
    async fn submit(&self, delivery: Delivery) {
        delivery.run().await;
    }
}

#[async_trait]
impl<T: Outbox + ?Sized> Outbox for Arc<T> {
    async fn submit(&self, delivery: Delivery) {
        T::submit(self, delivery).await;
    }
}
