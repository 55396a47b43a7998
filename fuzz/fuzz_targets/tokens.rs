//! Session, refresh, verification and invite tokens as clients present them (`is_token`,
//! the shape check before any lookup, and `TokenHash`, what stores keep), typed ids from
//! paths and bodies, and the small enums read back from stores.
//!
//! Invariants: no panic; `is_token` holds exactly for 43 base64url characters; a stored
//! hash read back from text prints as the same text; every id or enum that parses prints
//! to text that parses to the same value.

#![no_main]

use std::fmt::Debug;
use std::str::FromStr;

use auth_core::invites::InviteStatus;
use auth_core::members::MemberStatus;
use auth_core::secret::{TOKEN_CHARS, TokenHash, is_token};
use auth_core::sessions::Aal;
use auth_core::{
    AccountId, ApiKeyId, AuditEventId, GroupId, InviteId, MemberId, Purpose, SessionId, UserId,
    VerificationId,
};
use libfuzzer_sys::fuzz_target;

/// `parse(print(parse(text))) == parse(text)` for a typed id.
fn id_round_trip<T>(text: &str)
where
    T: FromStr + ToString + PartialEq + Debug,
{
    if let Ok(id) = text.parse::<T>() {
        let printed = id.to_string();
        let again = printed.parse::<T>().ok();
        assert_eq!(again.as_ref(), Some(&id), "{text:?} -> {printed:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = auth_fuzz::text(data) else {
        return;
    };

    let shaped = text.len() == TOKEN_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    assert_eq!(is_token(text), shaped, "{text:?}");

    if let Some(hash) = TokenHash::from_base64(text) {
        assert_eq!(hash.to_base64(), text, "a stored hash reads back as itself");
        assert_eq!(TokenHash::from_slice(hash.as_bytes()), Some(hash));
    }
    // Hashing any presented text is total, and the same text hashes the same.
    assert_eq!(TokenHash::of(text), TokenHash::of(text));

    id_round_trip::<UserId>(text);
    id_round_trip::<AccountId>(text);
    id_round_trip::<SessionId>(text);
    id_round_trip::<VerificationId>(text);
    id_round_trip::<GroupId>(text);
    id_round_trip::<MemberId>(text);
    id_round_trip::<InviteId>(text);
    id_round_trip::<ApiKeyId>(text);
    id_round_trip::<AuditEventId>(text);

    if let Some(aal) = Aal::parse(text) {
        assert_eq!(aal.as_str(), text);
    }
    if let Some(purpose) = Purpose::parse(text) {
        assert_eq!(purpose.as_str(), text);
    }
    if let Some(status) = MemberStatus::parse(text) {
        assert_eq!(status.as_str(), text);
    }
    if let Some(status) = InviteStatus::parse(text) {
        assert_eq!(status.as_str(), text);
    }
});
