//! A bound on concurrent password hashing.
//!
//! Each Argon2id computation holds its memory (19 MiB by default) and a blocking thread for
//! tens of milliseconds, so unbounded concurrent sign-ins (unknown emails included: they
//! hash a dummy) exhaust memory and threads. The pool lets `workers` hashes run at once and
//! `queue` more wait for a worker; anyone beyond is refused at once with
//! [`AuthError::Overloaded`] instead of waiting without end.
//!
//! The workers are `workers` long-lived threads of the pool's own (started on first use,
//! ended when the `Auth` is dropped), not tokio's blocking pool, whose threads come and
//! go: each keeps its Argon2 memory for the next hash (see `hasher`), so the pool holds
//! `workers` buffers in all (docs/benchmarks.md, "hash flood").

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::error::{AuthError, ConfigError};

/// How many password hashes run at once, and how many may wait for one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HashingLimits {
    /// Hashes computed at once, 1 to 1024; each holds Argon2's memory and a thread while
    /// it runs. Default `None`: the number of CPUs (`std::thread::available_parallelism`).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Calls that may wait for a worker, 0 to 100 000; any more are refused at once with
    /// `OVERLOADED`. Default `None`: four times `workers`.
    #[serde(default)]
    pub queue: Option<usize>,
}

impl HashingLimits {
    /// Limits of `workers` at once and `queue` waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        Self {
            workers: Some(workers),
            queue: Some(queue),
        }
    }

    /// The number of workers: the setting, or the number of CPUs.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// The length of the wait queue: the setting, or four times the workers.
    pub fn queue(&self) -> usize {
        self.queue
            .unwrap_or_else(|| self.workers().saturating_mul(4))
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1024).contains(&self.workers()) || self.queue() > 100_000 {
            return Err(ConfigError::Invalid {
                setting: "password.hashing",
                reason: "need 1 <= workers <= 1024 and queue <= 100000",
            });
        }
        Ok(())
    }
}

/// A unit of work for a worker thread.
type Job = Box<dyn FnOnce() + Send>;

/// Runs password hashing on `workers` threads of its own, with at most `queue` callers
/// waiting for one.
#[derive(Debug)]
pub(crate) struct HashPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    workers: usize,
    /// The workers' job channel, opened (and the threads started) on first use.
    jobs: OnceLock<Sender<Job>>,
}

impl HashPool {
    pub(crate) fn new(limits: &HashingLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.workers())),
            waiting: AtomicUsize::new(0),
            queue: limits.queue(),
            workers: limits.workers(),
            jobs: OnceLock::new(),
        }
    }

    /// Runs `work` on a worker thread once one is free; `OVERLOADED` at once if every
    /// worker is busy and the queue is full. A caller that gives up (its future is
    /// dropped) leaves the queue; work already started finishes and frees its worker.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let permit = self.admit().await?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        // The permit travels with the job, and is given back before the answer, so a
        // caller that is answered can call again at once. A job that panics loses its
        // answer (the caller gets an internal error), not the worker.
        let job: Job = Box::new(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(work));
            drop(permit);
            if let Ok(result) = result {
                let _ = reply.send(result);
            }
        });
        self.sender()?.send(job).map_err(|_| closed())?;
        answer
            .await
            .map_err(|_| AuthError::internal("password hashing task failed"))
    }

    /// The job channel, starting the worker threads on first use.
    fn sender(&self) -> Result<&Sender<Job>, AuthError> {
        if let Some(jobs) = self.jobs.get() {
            return Ok(jobs);
        }
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..self.workers {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("auth-hash-{i}"))
                .spawn(move || work_loop(&receiver))
                .map_err(|_| AuthError::internal("cannot start a password hashing thread"))?;
        }
        // Another caller may have started a set meanwhile: theirs is kept, and this set
        // ends at once, its sender dropped.
        Ok(self.jobs.get_or_init(|| sender))
    }

    /// A worker's permit: at once if one is free, after waiting in the queue if it has
    /// room, else `OVERLOADED`.
    pub(crate) async fn admit(&self) -> Result<OwnedSemaphorePermit, AuthError> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => return Ok(permit),
            Err(TryAcquireError::Closed) => return Err(closed()),
            Err(TryAcquireError::NoPermits) => {}
        }
        let _place = self.enter_queue().ok_or(AuthError::Overloaded)?;
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| closed())
    }

    /// Callers waiting for a worker now.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    fn enter_queue(&self) -> Option<QueuePlace<'_>> {
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.queue).then_some(n + 1)
            })
            .ok()
            .map(|_| QueuePlace(&self.waiting))
    }
}

/// A worker: runs jobs until the pool is dropped (its channel closes).
fn work_loop(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

fn closed() -> AuthError {
    AuthError::internal("password hashing pool closed")
}

/// A place in the wait queue, given back when dropped (admitted or given up).
struct QueuePlace<'a>(&'a AtomicUsize);

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    /// Yields until `pool` has `n` callers waiting (no clock involved).
    async fn until_waiting(pool: &HashPool, n: usize) {
        while pool.waiting() != n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn beyond_the_workers_and_the_queue_callers_are_refused_at_once() {
        let pool = Arc::new(HashPool::new(&HashingLimits::new(2, 1)));
        let busy = [pool.admit().await.unwrap(), pool.admit().await.unwrap()];
        // The third waits in the queue...
        let queued = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.run(|| 7).await }
        });
        until_waiting(&pool, 1).await;
        // ...and the fourth is refused without waiting.
        let refused = pool.run(|| 8).await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::Overloaded);
        // A freed worker serves the queued caller; then there is room again.
        drop(busy);
        assert_eq!(queued.await.unwrap().unwrap(), 7);
        assert_eq!(pool.waiting(), 0);
        assert_eq!(pool.run(|| 9).await.unwrap(), 9);
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_leaves_the_queue() {
        let pool = Arc::new(HashPool::new(&HashingLimits::new(1, 1)));
        let busy = pool.admit().await.unwrap();
        let waiting = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.run(|| ()).await }
        });
        until_waiting(&pool, 1).await;
        waiting.abort();
        until_waiting(&pool, 0).await;
        drop(busy);
        pool.run(|| ()).await.unwrap();
    }

    #[tokio::test]
    async fn work_runs_on_the_pools_own_threads() {
        let pool = HashPool::new(&HashingLimits::new(2, 0));
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.is_some_and(|n| n.starts_with("auth-hash-")));
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_caller_and_not_the_pool() {
        let pool = HashPool::new(&HashingLimits::new(1, 0));
        let failed = pool.run(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert_eq!(failed.code(), ErrorCode::Internal);
        assert_eq!(pool.run(|| 5).await.unwrap(), 5);
    }

    #[test]
    fn defaults_follow_the_cpus_and_bad_limits_are_refused() {
        let limits = HashingLimits::default();
        assert!(limits.workers() >= 1);
        assert_eq!(limits.queue(), limits.workers() * 4);
        assert!(limits.validate().is_ok());
        assert!(HashingLimits::new(0, 1).validate().is_err());
        assert!(HashingLimits::new(1, 1_000_000).validate().is_err());
        assert!(HashingLimits::new(1, 0).validate().is_ok());
    }
}
