//! Property tests of every parser that reads client input: arbitrary input never panics,
//! and what parses round-trips.

use auth_core::Email;
use auth_core::api_keys::KeyFormat;
use auth_core::pagination::{Direction, ListQuery};
use auth_core::permissions::{Permission, PermissionSet};
use auth_core::secret::OsRandom;
use auth_core::users::UserOrder;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn key_check_never_panics(input in any::<String>()) {
        let format = KeyFormat::new("sk", Some("live")).unwrap();
        let _ = format.check(&input);
        let _ = KeyFormat::default().check(&input);
    }

    #[test]
    fn key_check_never_panics_on_key_shaped_input(body in "[0-9A-Za-z_-]{0,60}") {
        let format = KeyFormat::new("sk", Some("live")).unwrap();
        let _ = format.check(&format!("sk_live_{body}"));
    }

    #[test]
    fn generated_keys_always_check(_seed in any::<u8>()) {
        let format = KeyFormat::new("sk", Some("test")).unwrap();
        let (key, start) = format.generate(&OsRandom);
        prop_assert!(format.check(key.expose()).is_ok());
        prop_assert!(key.expose().starts_with(&start));
    }

    #[test]
    fn scope_parser_never_panics(input in any::<String>()) {
        let _ = Permission::parse(&input);
    }

    #[test]
    fn valid_scopes_round_trip(resource in "[a-z0-9_.-]{1,20}|\\*", action in "[a-z0-9_.-]{1,20}|\\*") {
        let text = format!("{resource}:{action}");
        let p = Permission::parse(&text).unwrap();
        prop_assert_eq!(p.to_string(), text);
        let set = PermissionSet::new([p.clone()]);
        let concrete_resource = if resource == "*" { "anything" } else { resource.as_str() };
        let concrete_action = if action == "*" { "anything" } else { action.as_str() };
        prop_assert!(set.can(concrete_resource, concrete_action));
    }

    #[test]
    fn scope_checks_never_panic(patterns in proptest::collection::vec("[a-z*]{0,3}:[a-z*]{0,3}", 0..8),
                                resource in any::<String>(), action in any::<String>()) {
        let set = PermissionSet::new(patterns.iter().filter_map(|p| Permission::parse(p).ok()));
        let _ = set.can(&resource, &action);
    }

    #[test]
    fn scope_sets_answer_like_a_linear_scan(
        patterns in proptest::collection::vec("[ab*]{1,2}:[xy*]{1,2}", 0..24),
        resource in "[ab*]{1,2}",
        action in "[xy*]{1,2}",
    ) {
        let parsed: Vec<Permission> = patterns.iter().filter_map(|p| Permission::parse(p).ok()).collect();
        let set = PermissionSet::new(parsed.clone());
        let naive = parsed.iter().any(|p| p.grants(&resource, &action));
        prop_assert_eq!(set.can(&resource, &action), naive);
    }

    #[test]
    fn email_parser_never_panics(input in any::<String>()) {
        let _ = Email::parse(&input);
    }

    #[test]
    fn cursor_decoding_never_panics(input in any::<String>(), limit in any::<u32>()) {
        let _ = ListQuery::new((), UserOrder::CreatedAt)
            .direction(Direction::Desc)
            .limit(limit)
            .after(input)
            .validate();
    }
}
