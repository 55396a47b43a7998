use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::AuthError;
use crate::ids::UserId;
use crate::secret::{Random, SealedSecret, Secret, TokenHash};

/// The format version of a stored [`TotpFactor`]: how its seed is sealed and its
/// parameters are read. A later format is added beside this one, never in its place, so
/// existing enrolments keep working after an upgrade.
pub const TOTP_FORMAT_VERSION: u16 = 1;

/// Bytes of a new seed: 160 bits, RFC 4226's recommendation.
pub(crate) const SEED_BYTES: usize = 20;

/// The HMAC of a TOTP factor (RFC 6238). Authenticator apps all know SHA-1; several ignore
/// the others silently, so SHA-1 is the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum TotpAlgorithm {
    /// HMAC-SHA-1 (the default).
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl TotpAlgorithm {
    /// The stored and `otpauth://` name: `SHA1`, `SHA256`, `SHA512`.
    pub fn as_str(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }

    /// Parses [`Self::as_str`]'s form.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "SHA1" => Some(TotpAlgorithm::Sha1),
            "SHA256" => Some(TotpAlgorithm::Sha256),
            "SHA512" => Some(TotpAlgorithm::Sha512),
            _ => None,
        }
    }

    pub(crate) fn library(self) -> totp_rs::Algorithm {
        match self {
            TotpAlgorithm::Sha1 => totp_rs::Algorithm::SHA1,
            TotpAlgorithm::Sha256 => totp_rs::Algorithm::SHA256,
            TotpAlgorithm::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

/// Whether a factor is in use yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FactorState {
    /// Enrolled, waiting for a first valid code; not a second factor yet.
    Pending,
    /// Confirmed with a valid code: a second factor.
    Confirmed,
}

impl FactorState {
    /// The stored name: `pending`, `confirmed`.
    pub fn as_str(self) -> &'static str {
        match self {
            FactorState::Pending => "pending",
            FactorState::Confirmed => "confirmed",
        }
    }

    /// Parses [`Self::as_str`]'s form.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(FactorState::Pending),
            "confirmed" => Some(FactorState::Confirmed),
            _ => None,
        }
    }
}

/// How codes are computed: algorithm, digits and period. Together with the seed, what an
/// authenticator app is told by the `otpauth://` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpParams {
    /// The HMAC.
    pub algorithm: TotpAlgorithm,
    /// Digits of a code, 6 to 8.
    pub digits: u8,
    /// Seconds a code lasts (one step), 15 to 300.
    pub period: u32,
}

impl Default for TotpParams {
    fn default() -> Self {
        Self {
            algorithm: TotpAlgorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }
}

impl TotpParams {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !(6..=8).contains(&self.digits) {
            return Err("digits must be 6 to 8");
        }
        if !(15..=300).contains(&self.period) {
            return Err("period must be 15 to 300 seconds");
        }
        Ok(())
    }

    /// The step (RFC 6238's `T`) that `at` falls in: whole periods since the Unix epoch.
    pub fn step_at(&self, at: OffsetDateTime) -> i64 {
        at.unix_timestamp()
            .div_euclid(i64::from(self.period.max(1)))
    }

    /// The library's TOTP over `seed` (no issuer or account: those are for the URI only).
    fn totp(&self, seed: &[u8]) -> Result<totp_rs::Totp, AuthError> {
        self.validate()
            .map_err(|_| AuthError::internal("TOTP parameters are invalid"))?;
        totp_rs::Builder::new()
            .with_algorithm(self.algorithm.library())
            .with_digits(self.digits)
            .with_step_duration(u64::from(self.period))
            .with_skew(0)
            .with_secret(seed.to_vec())
            .build()
            .map_err(|_| AuthError::internal("TOTP seed is invalid"))
    }

    /// The code of `step` for `seed`: the one code path that computes codes (the RFC 6238
    /// test vectors go through it).
    pub fn code_at_step(&self, seed: &[u8], step: i64) -> Result<Secret, AuthError> {
        let totp = self.totp(seed)?;
        let time = seconds_of(step, self.period)?;
        Ok(Secret::new(totp.generate(time).to_string()))
    }

    /// The step among `step - skew ..= step + skew` whose code is `code`, if any. Each
    /// candidate is compared in constant time (the library compares tokens with
    /// `constant_time_eq`); a code of the wrong shape matches nothing.
    pub fn matching_step(
        &self,
        seed: &[u8],
        code: &str,
        step: i64,
        skew: u8,
    ) -> Result<Option<i64>, AuthError> {
        if code.len() != usize::from(self.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let totp = self.totp(seed)?;
        let skew = i64::from(skew);
        let mut found = None;
        // Every candidate is computed and compared, so the time taken does not tell which
        // one matched.
        for candidate in (step - skew)..=(step + skew) {
            let Ok(time) = seconds_of(candidate, self.period) else {
                continue;
            };
            let expected = totp.generate(time).to_string();
            let equal: bool =
                subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into();
            if equal && found.is_none() {
                found = Some(candidate);
            }
        }
        Ok(found)
    }
}

/// The first second of `step`.
fn seconds_of(step: i64, period: u32) -> Result<u64, AuthError> {
    step.checked_mul(i64::from(period))
        .and_then(|t| u64::try_from(t).ok())
        .ok_or_else(|| AuthError::internal("TOTP step out of range"))
}

/// A user's TOTP second factor as stored: at most one per user.
#[derive(Clone, PartialEq)]
pub struct TotpFactor {
    /// The user.
    pub user_id: UserId,
    /// [`TOTP_FORMAT_VERSION`] when it was stored.
    pub format_version: u16,
    /// The seed, sealed with the app's [`SecretBox`](crate::secret::SecretBox) (the key id
    /// is part of it), bound to the context [`TotpFactor::seal_context`].
    pub seed: SealedSecret,
    /// How codes are computed.
    pub params: TotpParams,
    /// Pending until confirmed with a valid code.
    pub state: FactorState,
    /// When it was enrolled.
    pub created_at: OffsetDateTime,
    /// When it was confirmed.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last step whose code was accepted (set on confirmation and each verification):
    /// a code is accepted only for a later step, so none is accepted twice.
    pub last_step: Option<i64>,
    /// When a code was last accepted.
    pub last_used_at: Option<OffsetDateTime>,
}

impl TotpFactor {
    /// The `SecretBox` context a user's seed is sealed under: a sealed seed copied to
    /// another user's row does not open there.
    pub fn seal_context(user_id: UserId) -> String {
        format!("totp:{user_id}")
    }

    /// Whether it is confirmed (a second factor in use).
    pub fn is_confirmed(&self) -> bool {
        self.state == FactorState::Confirmed
    }
}

impl fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpFactor")
            .field("user_id", &self.user_id)
            .field("format_version", &self.format_version)
            .field("seed", &self.seed)
            .field("params", &self.params)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// What [`TotpStore::put_pending_totp`](super::TotpStore::put_pending_totp) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutPendingOutcome {
    /// Stored (replacing an earlier pending factor, if any).
    Stored,
    /// Refused: the user has a confirmed factor.
    AlreadyConfirmed,
}

/// What [`TotpStore::confirm_totp`](super::TotpStore::confirm_totp) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfirmOutcome {
    /// Confirmed, and the recovery codes installed.
    Confirmed,
    /// Refused: no pending factor with that seed (none, replaced, or confirmed already).
    NotPending,
}

/// Characters of a recovery code, without separators: 32 of base32 (RFC 4648, lower
/// case), 160 random bits.
pub(crate) const RECOVERY_CODE_CHARS: usize = 32;
const RECOVERY_CODE_BYTES: usize = 20;
const RECOVERY_GROUP: usize = 4;
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// New recovery codes, shown once: 160 random bits each, written as eight groups of four
/// base32 characters (`abcd-efgh-...`). The store keeps only their SHA-256.
pub struct RecoveryCodes {
    codes: Vec<Secret>,
}

impl RecoveryCodes {
    /// `count` new codes from `random`, with the hashes to store.
    pub(crate) fn generate(random: &dyn Random, count: usize) -> (Self, Vec<TokenHash>) {
        let mut codes = Vec::with_capacity(count);
        let mut hashes = Vec::with_capacity(count);
        for _ in 0..count {
            let mut bytes = zeroize::Zeroizing::new([0u8; RECOVERY_CODE_BYTES]);
            random.fill(bytes.as_mut());
            let plain = base32(bytes.as_ref());
            hashes.push(TokenHash::of(&plain));
            let mut shown = String::with_capacity(plain.len() + plain.len() / RECOVERY_GROUP);
            for (i, c) in plain.chars().enumerate() {
                if i > 0 && i % RECOVERY_GROUP == 0 {
                    shown.push('-');
                }
                shown.push(c);
            }
            codes.push(Secret::new(shown));
            drop(zeroize::Zeroizing::new(plain));
        }
        (Self { codes }, hashes)
    }

    /// The codes, to show the user once.
    pub fn codes(&self) -> &[Secret] {
        &self.codes
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodes")
            .field("count", &self.codes.len())
            .finish()
    }
}

/// The hash a typed recovery code is looked up by, or `None` when it cannot be one.
/// Separators and spaces are ignored, case too, and `0`/`1` read as `o`/`l` (base32 has
/// neither digit), so a code copied with or without its dashes works.
pub(crate) fn recovery_code_hash(typed: &str) -> Option<TokenHash> {
    if typed.len() > 4 * RECOVERY_CODE_CHARS {
        return None;
    }
    let mut plain = zeroize::Zeroizing::new(String::with_capacity(RECOVERY_CODE_CHARS));
    for c in typed.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' | '\t' => continue,
            '0' => 'o',
            '1' => 'l',
            c @ ('a'..='z' | '2'..='7') => c,
            _ => return None,
        };
        plain.push(c);
    }
    (plain.len() == RECOVERY_CODE_CHARS).then(|| TokenHash::of(&plain))
}

/// RFC 4648 base32, lower case, no padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_char(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(base32_char(buffer << (5 - bits)));
    }
    out
}

fn base32_char(index: u32) -> char {
    BASE32
        .get((index & 31) as usize)
        .map_or('a', |&b| char::from(b))
}

/// The seed in base32 (RFC 4648, upper case, no padding): what a user types into an
/// authenticator app that cannot scan the QR code.
pub(crate) fn seed_base32(seed: &[u8]) -> Secret {
    Secret::new(base32(seed).to_ascii_uppercase())
}

/// The state of a user's TOTP factor, for their settings page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpStatus {
    /// Whether the user has a factor at all (pending or confirmed).
    pub enrolled: bool,
    /// Whether it is confirmed: TOTP is a second factor of the account.
    pub confirmed: bool,
    /// When it was confirmed.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub confirmed_at: Option<OffsetDateTime>,
    /// Unused recovery codes left.
    pub recovery_codes_left: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the seeds are the ASCII digits `1234567890` repeated to 20,
    /// 32 and 64 bytes; 8 digits; period 30.
    #[test]
    fn rfc_6238_test_vectors() {
        let seed =
            |len: usize| -> Vec<u8> { b"1234567890".iter().copied().cycle().take(len).collect() };
        let cases: &[(i64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for &(time, sha1, sha256, sha512) in cases {
            for (algorithm, len, expected) in [
                (TotpAlgorithm::Sha1, 20, sha1),
                (TotpAlgorithm::Sha256, 32, sha256),
                (TotpAlgorithm::Sha512, 64, sha512),
            ] {
                let params = TotpParams {
                    algorithm,
                    digits: 8,
                    period: 30,
                };
                let at = OffsetDateTime::from_unix_timestamp(time).unwrap();
                let step = params.step_at(at);
                let code = params.code_at_step(&seed(len), step).unwrap();
                assert_eq!(code.expose(), expected, "{algorithm:?} at {time}");
                assert_eq!(
                    params.matching_step(&seed(len), expected, step, 1).unwrap(),
                    Some(step)
                );
            }
        }
    }

    #[test]
    fn matching_step_takes_one_step_either_way_and_no_more() {
        let params = TotpParams::default();
        let seed = [7u8; SEED_BYTES];
        let code = |step| {
            params
                .code_at_step(&seed, step)
                .unwrap()
                .expose()
                .to_owned()
        };
        let now = 1_000_000;
        for offset in -1..=1 {
            assert_eq!(
                params
                    .matching_step(&seed, &code(now + offset), now, 1)
                    .unwrap(),
                Some(now + offset)
            );
        }
        for offset in [-3, -2, 2, 3] {
            assert_eq!(
                params
                    .matching_step(&seed, &code(now + offset), now, 1)
                    .unwrap(),
                None
            );
        }
        for wrong in ["", "12345", "1234567", "12345a", "+12345", " 12345"] {
            assert_eq!(params.matching_step(&seed, wrong, now, 1).unwrap(), None);
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"fo"), "mzxq");
        assert_eq!(base32(b"foo"), "mzxw6");
        assert_eq!(base32(b"foob"), "mzxw6yq");
        assert_eq!(base32(b"fooba"), "mzxw6ytb");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn recovery_codes_are_read_back_however_typed() {
        let (codes, hashes) = RecoveryCodes::generate(&crate::secret::OsRandom, 10);
        assert_eq!(codes.len(), 10);
        for (code, hash) in codes.codes().iter().zip(&hashes) {
            let shown = code.expose();
            assert_eq!(shown.len(), 39, "{shown}");
            assert_eq!(recovery_code_hash(shown), Some(*hash));
            assert_eq!(recovery_code_hash(&shown.to_uppercase()), Some(*hash));
            assert_eq!(recovery_code_hash(&shown.replace('-', " ")), Some(*hash));
            assert_eq!(recovery_code_hash(&shown.replace('o', "0")), Some(*hash));
        }
        let distinct: std::collections::HashSet<_> = hashes.iter().collect();
        assert_eq!(distinct.len(), 10);
        assert_eq!(recovery_code_hash("abcd"), None);
        assert_eq!(recovery_code_hash(&"a".repeat(33)), None);
        assert_eq!(recovery_code_hash(&format!("{}!", "a".repeat(32))), None);
        assert_eq!(recovery_code_hash(&"-".repeat(1000)), None);
        assert!(!format!("{codes:?}").contains(codes.codes()[0].expose()));
    }
}
