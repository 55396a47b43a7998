//! Known-bad passwords: the offline list of common passwords every new password is checked
//! against, and the app's optional k-anonymity [`BreachCheck`] (the model of the Have I Been
//! Pwned range API: only the first 5 hexadecimal characters of the password's SHA-1 leave
//! the process).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Mutex;

use async_trait::async_trait;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::BoxError;

/// Whether `password` is one of the ~100 000 most common passwords (the list of the
/// `passwords` crate), as given or lower-cased (`Password` is as weak as `password`).
pub fn is_common(password: &str) -> bool {
    if passwords::analyzer::is_common_password(password) {
        return true;
    }
    let lower = Zeroizing::new(password.to_lowercase());
    *lower != password && passwords::analyzer::is_common_password(lower.as_str())
}

/// One breached hash of a range: its SHA-1 suffix and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachedSuffix {
    /// The 35 hexadecimal characters after the 5 of the prefix (either case).
    pub suffix: String,
    /// How many times it appears in breaches (0: padding, not a breach).
    pub count: u64,
}

impl BreachedSuffix {
    /// Parses a Have I Been Pwned range answer (`SUFFIX:COUNT` lines; malformed lines are
    /// skipped).
    pub fn parse_range(body: &str) -> Vec<Self> {
        body.lines()
            .filter_map(|line| {
                let (suffix, count) = line.trim().split_once(':')?;
                Some(Self {
                    suffix: suffix.to_owned(),
                    count: count.trim().parse().ok()?,
                })
            })
            .collect()
    }
}

/// A breach database the app plugs in with
/// [`AuthBuilder::breach_check`](crate::AuthBuilder::breach_check), asked about every new
/// password (sign-up, change, reset) after the offline list. It receives only the first 5
/// characters of the password's SHA-1 (upper-case hexadecimal) and answers every breached
/// suffix in that range, so it never learns the password or its hash. An HTTP
/// implementation is `GET https://api.pwnedpasswords.com/range/{prefix}` (with
/// `Add-Padding: true`) and [`BreachedSuffix::parse_range`]. If it fails, the password is
/// accepted and a warning logged: an outage of the breach service does not stop sign-ups.
#[async_trait]
pub trait BreachCheck: Send + Sync {
    /// The breached hashes whose SHA-1 starts with `prefix` (5 upper-case hexadecimal
    /// characters).
    async fn range(&self, prefix: &str) -> Result<Vec<BreachedSuffix>, BoxError>;
}

#[async_trait]
impl<T: BreachCheck + ?Sized> BreachCheck for std::sync::Arc<T> {
    async fn range(&self, prefix: &str) -> Result<Vec<BreachedSuffix>, BoxError> {
        T::range(self, prefix).await
    }
}

/// Whether `checker` knows `password` from a breach.
pub(crate) async fn is_breached(
    checker: &dyn BreachCheck,
    password: &str,
) -> Result<bool, BoxError> {
    let hex = sha1_hex(password);
    let (prefix, suffix) = hex.split_at(5);
    let range = checker.range(prefix).await?;
    Ok(range.iter().any(|entry| {
        entry.count > 0
            && bool::from(
                entry
                    .suffix
                    .to_ascii_uppercase()
                    .as_bytes()
                    .ct_eq(suffix.as_bytes()),
            )
    }))
}

/// The SHA-1 of `password` in upper-case hexadecimal (zeroized on drop).
fn sha1_hex(password: &str) -> Zeroizing<String> {
    let digest = Sha1::digest(password.as_bytes());
    let mut hex = Zeroizing::new(String::with_capacity(40));
    for byte in digest.iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02X}");
    }
    hex
}

/// A [`BreachCheck`] over a fixed list of passwords, answering as the range API does and
/// remembering the prefixes it was asked: a test double, or an offline deny-list of the
/// app's own.
#[derive(Default)]
pub struct BreachList {
    hashes: HashSet<String>,
    asked: Mutex<Vec<String>>,
}

impl BreachList {
    /// A list of these breached passwords.
    pub fn new<'a>(passwords: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            hashes: passwords
                .into_iter()
                .map(|p| sha1_hex(p).to_string())
                .collect(),
            asked: Mutex::default(),
        }
    }

    /// The prefixes asked so far, oldest first.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl std::fmt::Debug for BreachList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachList")
            .field("hashes", &self.hashes.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl BreachCheck for BreachList {
    async fn range(&self, prefix: &str) -> Result<Vec<BreachedSuffix>, BoxError> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(prefix.to_owned());
        }
        Ok(self
            .hashes
            .iter()
            .filter_map(|hash| hash.strip_prefix(prefix))
            .map(|suffix| BreachedSuffix {
                suffix: suffix.to_owned(),
                count: 1,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_common_passwords_are_known_and_good_ones_are_not() {
        for common in ["12345678", "password", "Password", "PASSWORD", "qwerty123"] {
            assert!(is_common(common), "{common}");
        }
        for fine in [
            "correct horse battery staple",
            "a brand new passphrase",
            "tr0ub4dor&3x!q",
        ] {
            assert!(!is_common(fine), "{fine}");
        }
    }

    #[test]
    fn sha1_is_the_known_vector() {
        // SHA-1("password"), as the range API lists it: prefix 5BAA6.
        assert_eq!(
            sha1_hex("password").as_str(),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
    }

    #[test]
    fn range_answers_parse() {
        let parsed = BreachedSuffix::parse_range(
            "1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\nnot a line\r\nABC:0\n",
        );
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].count, 9_545_824);
        assert_eq!(parsed[1].count, 0);
    }

    #[tokio::test]
    async fn a_breach_is_found_by_its_prefix_alone() {
        let list = BreachList::new(["hunter2 but longer"]);
        assert!(is_breached(&list, "hunter2 but longer").await.unwrap());
        assert!(!is_breached(&list, "something else entirely").await.unwrap());
        let asked = list.asked();
        assert_eq!(asked.len(), 2);
        assert!(asked.iter().all(|p| p.len() == 5));
        // Padding entries (count 0) are not breaches.
        struct Padding;
        #[async_trait]
        impl BreachCheck for Padding {
            async fn range(&self, _: &str) -> Result<Vec<BreachedSuffix>, BoxError> {
                Ok(BreachedSuffix::parse_range(
                    "1E4C9B93F3F0682250B6CF8331B7EE68FD8:0",
                ))
            }
        }
        assert!(!is_breached(&Padding, "password").await.unwrap());
    }
}
