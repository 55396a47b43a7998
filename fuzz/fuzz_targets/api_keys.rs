//! API key parsing: `KeyFormat::check` (shape and checksum, before any lookup) and
//! `looks_like_key` on any text, under the default format and a prefixed one.
//!
//! Invariants: no panic; a key that passes has exactly the format's length, its head, and
//! only ASCII alphanumerics after it; a generated key passes and looks like a key; a
//! passing key with any one character changed after the head fails.

#![no_main]

use auth_core::api_keys::KeyFormat;
use auth_core::secret::OsRandom;
use libfuzzer_sys::fuzz_target;

fn formats() -> [KeyFormat; 3] {
    [
        KeyFormat::default(),
        KeyFormat::new("sk", Some("live")).expect("a valid format"),
        KeyFormat::new("acme0", Some("test")).expect("a valid format"),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = auth_fuzz::text(data) else {
        return;
    };
    for format in formats() {
        let head_len = format.key_len() - 49;
        if format.check(text).is_ok() {
            assert_eq!(text.len(), format.key_len(), "{text:?}");
            assert!(format.looks_like_key(text), "{text:?}");
            assert!(
                text.bytes()
                    .skip(head_len)
                    .all(|b| b.is_ascii_alphanumeric()),
                "{text:?}"
            );
            // One typo after the head: the checksum catches it.
            let at = head_len + usize::from(data.first().copied().unwrap_or(0)) % 49;
            let mut typo = text.as_bytes().to_vec();
            typo[at] = if typo[at] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(typo).expect("ASCII stays UTF-8");
            assert!(format.check(&typo).is_err(), "{text:?} -> {typo:?}");
        }
    }
    // Generated keys pass (cheap enough to do once in a while).
    if data.len() == 1 {
        for format in formats() {
            let (key, start) = format.generate(&OsRandom);
            assert!(format.check(key.expose()).is_ok());
            assert!(key.expose().starts_with(&start));
        }
    }
});
