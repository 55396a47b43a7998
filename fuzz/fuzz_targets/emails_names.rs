//! Email and name validation as the services run it: `Email::parse` (trim, IDNA domain,
//! NFC lower-case local part), `Email::parse_with` under the ASCII policy, display names,
//! short texts, machine identifiers, image URLs and request metadata.
//!
//! Invariants: no panic; normalisation is idempotent (`normalise(normalise(x)) ==
//! normalise(x)`) for emails, names, texts, URLs and metadata; a normalised email is at
//! most 254 characters with an ASCII domain and no format or control characters; the
//! JSON form of an email parses the same as the text; an accepted name is trimmed,
//! bounded, and free of control and format characters.

#![no_main]

use auth_core::validate::{self, Email, EmailPolicy, MAX_EMAIL_CHARS, MAX_NAME_CHARS, is_format};
use libfuzzer_sys::fuzz_target;

fn check_email(text: &str) {
    let parsed = Email::parse(text);
    if let Ok(email) = &parsed {
        let normal = email.as_str();
        assert_eq!(
            Email::parse(normal).as_ref().ok(),
            Some(email),
            "{text:?} -> {normal:?} is not a fixed point"
        );
        assert!(normal.chars().count() <= MAX_EMAIL_CHARS, "{normal:?}");
        assert!(email.domain().is_ascii(), "{normal:?}");
        assert!(
            !normal.chars().any(|c| c.is_control() || is_format(c)),
            "{normal:?}"
        );
        assert_eq!(normal, normal.trim());
    }
    let strict = Email::parse_with(text, &EmailPolicy::ascii_local_part());
    match (&strict, &parsed) {
        (Ok(s), Ok(p)) => assert_eq!(s, p),
        (Ok(s), Err(_)) => panic!("{text:?}: the policy accepted {s:?} that parse refuses"),
        _ => {}
    }
    // The same address in a JSON body deserialises to the same value.
    let json = serde_json::to_string(text).expect("a string");
    let from_json = serde_json::from_str::<Email>(&json).ok();
    assert_eq!(from_json.as_ref(), parsed.as_ref().ok(), "{text:?}");
}

fn check_text(text: &str) {
    if let Ok(name) = validate::name(text) {
        assert_eq!(validate::name(&name).ok().as_ref(), Some(&name), "{text:?}");
        assert_eq!(name, name.trim());
        assert!(!name.is_empty() && name.chars().count() <= MAX_NAME_CHARS);
        assert!(
            !name.chars().any(|c| c.is_control() || is_format(c)),
            "{name:?}"
        );
    }
    if let Ok(short) = validate::text("field", text, 8) {
        assert_eq!(
            validate::text("field", &short, 8).ok().as_ref(),
            Some(&short)
        );
        assert!(short.chars().count() <= 8);
    }
    for dots in [false, true] {
        if let Ok(id) = validate::identifier("field", text, 64, dots) {
            assert_eq!(id, text);
            assert!(id.is_ascii() && !id.is_empty() && id.len() <= 64);
        }
    }
    if let Ok(url) = validate::image_url(text) {
        assert_eq!(validate::image_url(&url).ok().as_ref(), Some(&url));
        assert!(url.starts_with("https://") || url.starts_with("http://"));
    }
    let kept = validate::metadata(text, 32);
    assert!(kept.chars().count() <= 32 && !kept.chars().any(char::is_control));
    assert_eq!(validate::metadata(&kept, 32), kept);
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = auth_fuzz::text(data) else {
        return;
    };
    check_email(text);
    check_text(text);
});
