use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher as _, Version};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::accounts::PasswordHash;
use crate::error::{AuthError, ConfigError};
use crate::secret::Random;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Config {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Config {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Config {
    /// Very cheap parameters for tests only: NEVER in production.
    pub fn insecure_for_tests() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn params(&self) -> Result<Params, ConfigError> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|_| {
            ConfigError::Invalid {
                setting: "password.argon2",
                reason: "parameters out of Argon2's range",
            }
        })
    }
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordCheck {
    /// Correct; `needs_rehash` if the hash used other parameters than the current ones.
    Match { needs_rehash: bool },
    /// Wrong.
    Mismatch,
}

/// Hashes and verifies passwords with Argon2id.
#[derive(Debug, Clone)]
pub(crate) struct PasswordHasher {
    params: Params,
    /// A hash of a random password, checked against when the user is unknown so that an
    /// unknown email costs the same time as a wrong password.
    dummy: PasswordHash,
}

impl PasswordHasher {
    pub(crate) fn new(config: &Argon2Config, random: &dyn Random) -> Result<Self, ConfigError> {
        let params = config.params()?;
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let mut dummy_password = [0u8; 32];
        random.fill(&mut dummy_password);
        let dummy = argon2id(&params)
            .hash_password_with_salt(&dummy_password, &salt)
            .map_err(|_| ConfigError::Invalid {
                setting: "password.argon2",
                reason: "parameters out of Argon2's range",
            })?;
        Ok(Self {
            params,
            dummy: PasswordHash::new(dummy.to_string()),
        })
    }

    /// Hashes `password` with a fresh 128-bit salt. CPU-heavy: call off the async executor.
    pub(crate) fn hash(
        &self,
        password: &str,
        random: &dyn Random,
    ) -> Result<PasswordHash, AuthError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        with_memory(self.params.block_count(), |memory| {
            argon2id(&self.params).hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut out,
                memory,
            )
        })
        .map_err(failed)?;
        let phc = argon2::PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(failed)?,
            salt: Some(Salt::new(&salt).map_err(failed)?),
            hash: Some(Output::new(&out).map_err(failed)?),
        };
        Ok(PasswordHash::new(phc.to_string()))
    }

    /// Checks `password` against `stored`, with the algorithm, version and parameters
    /// recorded in it, comparing in constant time. CPU-heavy: call off the async executor.
    pub(crate) fn verify(&self, password: &str, stored: &PasswordHash) -> PasswordCheck {
        let Ok(parsed) = argon2::PasswordHash::new(stored.as_str()) else {
            return PasswordCheck::Mismatch;
        };
        if !matches_stored(password.as_bytes(), &parsed) {
            return PasswordCheck::Mismatch;
        }
        let current = Params::try_from(&parsed).ok();
        let same_params = current.is_some_and(|p| {
            p.m_cost() == self.params.m_cost()
                && p.t_cost() == self.params.t_cost()
                && p.p_cost() == self.params.p_cost()
        });
        let same_algorithm = parsed.algorithm.as_str() == argon2::ARGON2ID_IDENT.as_str()
            && parsed.version == Some(Version::V0x13.into());
        PasswordCheck::Match {
            needs_rehash: !(same_params && same_algorithm),
        }
    }

    /// Spends the time of one verification on a hash that matches nothing.
    pub(crate) fn verify_dummy(&self, password: &str) {
        let _ = self.verify(password, &self.dummy);
    }
}

/// The error of a hash that could not be made (never shows why).
fn failed<E>(_: E) -> AuthError {
    AuthError::internal("password hashing failed")
}

fn argon2id(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// Whether Argon2 of `password` under `stored`'s algorithm, version, parameters and salt
/// gives `stored`'s output (compared in constant time).
fn matches_stored(password: &[u8], stored: &argon2::PasswordHash) -> bool {
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(stored), &stored.salt, &stored.hash)
    else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = stored
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let computed = with_memory(params.block_count(), |memory| {
        Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password,
            salt.as_ref(),
            &mut out,
            memory,
        )
    });
    computed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

thread_local! {
    /// This thread's Argon2 memory, kept from one hash to the next.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` over `blocks` blocks of this thread's Argon2 memory, which is kept for the
/// thread's next hash rather than freed: freeing a 19 MiB buffer makes glibc raise its
/// mmap threshold, after which every thread's arena keeps freed memory (a peak of 430 MB
/// under a sign-in flood against 65 MB; docs/benchmarks.md). On the hashing pool's
/// threads that is one buffer per worker, the size of the largest cost met.
fn with_memory<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        f(memory.get_mut(..blocks).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::OsRandom;

    fn hasher(config: Argon2Config) -> PasswordHasher {
        PasswordHasher::new(&config, &OsRandom).unwrap()
    }

    #[test]
    fn hashes_verify_and_carry_argon2id_parameters() {
        let h = hasher(Argon2Config::insecure_for_tests());
        let hash = h.hash("correct horse battery", &OsRandom).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_eq!(
            h.verify("correct horse battery", &hash),
            PasswordCheck::Match {
                needs_rehash: false
            }
        );
        assert_eq!(h.verify("wrong", &hash), PasswordCheck::Mismatch);
        assert_eq!(
            h.verify("x", &PasswordHash::new("garbage".into())),
            PasswordCheck::Mismatch
        );
    }

    #[test]
    fn hashes_match_argon2s_own_on_reused_memory() {
        use argon2::PasswordVerifier as _;
        let h = hasher(Argon2Config::insecure_for_tests());
        // Leave this thread's memory dirty first.
        let _ = h.hash("something else entirely", &OsRandom).unwrap();
        let ours = h.hash("correct horse battery", &OsRandom).unwrap();
        let parsed = argon2::PasswordHash::new(ours.as_str()).unwrap();
        // argon2's own verifier accepts our hash...
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        // ...and recomputes the very same PHC string from its salt.
        let salt = parsed.salt.unwrap();
        let theirs = argon2id(&h.params)
            .hash_password_with_salt(b"correct horse battery", salt.as_ref())
            .unwrap();
        assert_eq!(theirs.to_string(), ours.as_str());
        // Its hashes (other parameters, other algorithm) verify with ours.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(128, 2, 1, None).unwrap(),
        )
        .hash_password_with_salt(b"pw", &[7u8; 16])
        .unwrap();
        let stored = PasswordHash::new(argon2i.to_string());
        assert_eq!(
            h.verify("pw", &stored),
            PasswordCheck::Match { needs_rehash: true }
        );
        assert_eq!(h.verify("pW", &stored), PasswordCheck::Mismatch);
    }

    #[test]
    fn default_parameters_are_owasps() {
        let h = hasher(Argon2Config::default());
        let hash = h.hash("pw", &OsRandom).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn changed_parameters_ask_for_a_rehash() {
        let old = hasher(Argon2Config::insecure_for_tests());
        let hash = old.hash("pw", &OsRandom).unwrap();
        let new = hasher(Argon2Config {
            memory_kib: 128,
            ..Argon2Config::insecure_for_tests()
        });
        assert_eq!(
            new.verify("pw", &hash),
            PasswordCheck::Match { needs_rehash: true }
        );
    }

    #[test]
    fn salts_differ() {
        let h = hasher(Argon2Config::insecure_for_tests());
        assert_ne!(
            h.hash("pw", &OsRandom).unwrap(),
            h.hash("pw", &OsRandom).unwrap()
        );
    }

    #[test]
    fn out_of_range_parameters_are_a_config_error() {
        let bad = Argon2Config {
            memory_kib: 1,
            iterations: 0,
            parallelism: 0,
        };
        assert!(PasswordHasher::new(&bad, &OsRandom).is_err());
    }
}
