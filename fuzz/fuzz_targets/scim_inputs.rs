//! What a SCIM directory sends that the server parses before any store is touched: a
//! `filter` query, a PATCH `path`, a PatchOp request applied to a user and to a group,
//! and a User or Group resource checked against its schema. The first byte picks the
//! input; the rest is its text (a filter, a path) or its JSON (a request, a resource).
//!
//! Invariants: no panic; a parsed filter or path prints back to text that parses to the
//! same tree; a patched or normalised document normalises again to itself (what the
//! server stores is what it would accept).

#![no_main]

use auth_core::scim::document::{Document, normalize};
use auth_core::scim::patch::{apply, parse_request};
use auth_core::scim::schema::{GROUP_TYPE, ResourceType, USER_TYPE};
use auth_core::scim::{Filter, PatchPath};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn user() -> Document {
    normalize(
        &USER_TYPE,
        &json!({
            "userName": "ada@example.com",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Byron"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
        }),
    )
    .expect("the seed user is valid")
}

fn group() -> Document {
    normalize(
        &GROUP_TYPE,
        &json!({"displayName": "Eng", "members": [{"value": "a"}, {"value": "b"}]}),
    )
    .expect("the seed group is valid")
}

/// A document the server would store normalises to itself.
fn check_stable(rt: &ResourceType, doc: &Document) {
    let again = normalize(rt, &Value::Object(doc.clone()))
        .unwrap_or_else(|e| panic!("a stored document is refused: {e}: {doc:?}"));
    assert_eq!(&again, doc, "normalising a stored document changes it");
}

fn check_patch(rt: &ResourceType, mut doc: Document, body: &Value) {
    let Ok(operations) = parse_request(body) else {
        return;
    };
    if apply(rt, &mut doc, &operations).is_ok() {
        check_stable(rt, &doc);
    }
}

/// Text that parses prints back to text that parses to the same tree.
fn check_printed<T, E>(bytes: &[u8], parse: fn(&str) -> Result<T, E>)
where
    T: std::fmt::Display + std::fmt::Debug + PartialEq,
    E: std::fmt::Display,
{
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(tree) = parse(text) {
        let printed = tree.to_string();
        let again = parse(&printed)
            .unwrap_or_else(|e| panic!("{text:?} prints as {printed:?}, refused: {e}"));
        assert_eq!(again, tree, "{text:?} prints as {printed:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => check_printed(rest, Filter::parse),
        1 => check_printed(rest, PatchPath::parse),
        choice => {
            let Ok(body) = serde_json::from_slice::<Value>(rest) else {
                return;
            };
            match choice {
                2 => check_patch(&USER_TYPE, user(), &body),
                3 => check_patch(&GROUP_TYPE, group(), &body),
                _ => {
                    for rt in [&USER_TYPE, &GROUP_TYPE] {
                        if let Ok(doc) = normalize(rt, &body) {
                            check_stable(rt, &doc);
                        }
                    }
                }
            }
        }
    }
});
