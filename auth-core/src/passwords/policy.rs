use serde::{Deserialize, Serialize};

use crate::error::{AuthError, ConfigError};

/// What a new password must satisfy. Checked before any hashing, so a 1 MB password costs
/// nothing but the length check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// Fewest characters. Default 12, as OWASP ASVS 4.0.3 (2.1.1) asks; NIST SP 800-63B
    /// allows 8 where the password is not the only factor.
    pub min_chars: usize,
    /// Most characters (at least 64 per NIST; bounded to keep hashing cheap to refuse).
    pub max_chars: usize,
    /// Refuse the ~100 000 most common passwords (`PASSWORD_TOO_COMMON`), as NIST SP
    /// 800-63B asks. Default `true`.
    #[serde(default = "refuse_common_default")]
    pub refuse_common: bool,
}

fn refuse_common_default() -> bool {
    true
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 12,
            max_chars: 128,
            refuse_common: true,
        }
    }
}

impl PasswordPolicy {
    pub(crate) fn validate_config(&self) -> Result<(), ConfigError> {
        if self.min_chars < 1 || self.max_chars < self.min_chars || self.max_chars > 1024 {
            return Err(ConfigError::Invalid {
                setting: "password.policy",
                reason: "need 1 <= min_chars <= max_chars <= 1024",
            });
        }
        Ok(())
    }

    /// Checks a new password; `email` is refused as a password, and so is a common one
    /// (unless `refuse_common` is off).
    pub fn check(&self, password: &str, email: &str) -> Result<(), AuthError> {
        // Bytes bound first: a multi-megabyte string is refused without counting characters.
        if password.len() > self.max_chars * 4 || password.chars().count() > self.max_chars {
            return Err(AuthError::WeakPassword(
                format!("must be at most {} characters", self.max_chars).into(),
            ));
        }
        if password.chars().count() < self.min_chars {
            return Err(AuthError::WeakPassword(
                format!("must be at least {} characters", self.min_chars).into(),
            ));
        }
        if password.trim().is_empty() {
            return Err(AuthError::WeakPassword("must not be blank".into()));
        }
        if password.eq_ignore_ascii_case(email) {
            return Err(AuthError::WeakPassword(
                "must not be the email address".into(),
            ));
        }
        if self.refuse_common && super::breach::is_common(password) {
            return Err(AuthError::PasswordTooCommon);
        }
        Ok(())
    }

    /// Whether a password presented at sign-in is even worth hashing: anything longer than
    /// the policy allows cannot match a stored password.
    pub(crate) fn may_match(&self, password: &str) -> bool {
        !password.is_empty() && password.len() <= self.max_chars * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn policy_bounds_are_enforced() {
        let p = PasswordPolicy::default();
        assert!(p.check("long enough pw", "a@b.c").is_ok());
        for bad in [
            "",
            "short",
            "        ",
            &"x".repeat(129),
            &"x".repeat(1 << 20),
            "a@example.com",
        ] {
            let err = p.check(bad, "a@example.com").unwrap_err();
            assert_eq!(err.code(), ErrorCode::WeakPassword, "{:.20}", bad);
            assert!(!err.to_string().contains(bad) || bad.is_empty());
        }
        assert!(p.check(&"é".repeat(128), "a@b.c").is_ok());
        // Short ones, under an 8-character minimum (the common list is mostly short).
        let p = PasswordPolicy { min_chars: 8, ..p };
        for common in ["12345678", "iloveyou", "Password1"] {
            let err = p.check(common, "a@b.c").unwrap_err();
            assert_eq!(err.code(), ErrorCode::PasswordTooCommon, "{common}");
            assert!(!err.to_string().contains(common));
        }
        let lenient = PasswordPolicy {
            refuse_common: false,
            ..p
        };
        assert!(lenient.check("12345678", "a@b.c").is_ok());
    }
}
