use std::fmt;

use rand::Rng as _;

/// A source of cryptographically secure random bytes, injected so tests can substitute one.
pub trait Random: Send + Sync + fmt::Debug {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// The default [`Random`]: the thread-local CSPRNG of `rand`, seeded from the operating system.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        rand::rng().fill_bytes(dest);
    }
}
