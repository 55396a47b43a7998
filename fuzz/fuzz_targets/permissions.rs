//! Scope and permission strings: `Permission::parse` and `PermissionSet` (the parsers
//! behind API-key scopes, role policies and guards). The input is lines: the first ones
//! are patterns of a set, the last two are checked against it.
//!
//! Invariants: no panic; a permission that parses prints as the same text and parses back
//! to the same value; a set answers `can` exactly as a plain scan of its patterns would
//! (the hashed index of large sets included); `intersect` grants only what both sides
//! grant; a set with its own patterns added again is the same set.

#![no_main]

use auth_core::{Permission, PermissionSet};
use libfuzzer_sys::fuzz_target;

/// What a plain scan says.
fn scan(patterns: &[Permission], resource: &str, action: &str) -> bool {
    patterns.iter().any(|p| p.grants(resource, action))
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = auth_fuzz::text(data) else {
        return;
    };
    let mut parsed = Vec::new();
    for line in text.lines() {
        if let Ok(permission) = Permission::parse(line) {
            let printed = permission.to_string();
            assert_eq!(printed, line, "a valid permission prints as itself");
            assert_eq!(Permission::parse(&printed).ok(), Some(permission.clone()));
            // Serde goes through the same text.
            let json = serde_json::to_string(&permission).expect("a string");
            let back: Permission = serde_json::from_str(&json).expect("parses back");
            assert_eq!(back, permission);
            parsed.push(permission);
        }
    }
    let Some((query, patterns)) = parsed.split_last() else {
        return;
    };
    let Some((limit_query, patterns)) = patterns.split_last() else {
        return;
    };
    let set = PermissionSet::new(patterns.iter().cloned());
    // Every input pattern is granted by the set (kept, or covered by a broader one).
    for p in patterns {
        assert!(set.allows(p), "{p} lost from {:?}", set.patterns());
    }
    for probe in [query, limit_query] {
        let (r, a) = (probe.resource(), probe.action());
        assert_eq!(
            set.can(r, a),
            scan(patterns, r, a),
            "{probe} against {patterns:?}"
        );
    }
    let mut again = set.clone();
    again.extend(&set);
    assert_eq!(again, set, "adding a set's own patterns changes nothing");

    // The second-to-last line as a limit: the intersection grants only what both grant.
    let limit = PermissionSet::new([limit_query.clone(), query.clone()]);
    let both = set.intersect(&limit);
    let (r, a) = (query.resource(), query.action());
    assert_eq!(both.can(r, a), set.can(r, a) && limit.can(r, a), "{query}");
    for p in both.patterns() {
        assert!(set.allows(p) && limit.allows(p), "{p} is not in both");
    }
});
