//! The behaviour suite every storage adapter must pass.
//!
//! Each behaviour is one `async fn` generic over any [`Store`]; the
//! [`conformance_tests!`](crate::conformance_tests) macro expands to one `#[tokio::test]` per
//! behaviour, so `cargo test` names each behaviour per store:
//!
//! ```ignore
//! // tests/conformance.rs of a storage adapter (needs tokio as a dev-dependency and
//! // auth-core with feature "conformance"):
//! auth_core::conformance_tests!(memory, || async { auth_memory::MemoryStore::new() });
//!
//! // A store whose nodes need separate connections passes how to open a second one:
//! auth_core::conformance_tests!(postgres, || async { fresh_pg().await },
//!     peer = |store: PgStore| async move { store.reconnect().await });
//! ```
//!
//! The `peer` is a second handle on the same data, as another app node would hold; the
//! concurrency behaviours split their calls across both. Without it, the store is cloned.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod groups;
pub mod invites;
pub mod members;
pub mod pagination;
pub mod passwords;
pub mod permissions;
pub mod refresh;
pub mod sessions;
pub mod users;
pub mod verification;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use time::Duration;

use crate::{
    Auth, AuthConfig, RecordingMailer, RequestMeta, Secret, SecretKey, SignUp, SignUpOutcome,
    SignedIn, Store, TestClock,
};

/// Sets a group's parent directly in the store, bypassing the cycle check: how the suite
/// plants a cycle to see that walks report it instead of looping.
pub type PlantParent<S> = Arc<
    dyn Fn(S, crate::GroupId, Option<crate::GroupId>) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// The store under test and a second handle on the same data.
pub struct Harness<S> {
    /// The store.
    pub store: S,
    /// Another node's handle on the same data.
    pub peer: S,
    /// Writes a parent without checks (from the macro's `plant_parent = ...`).
    pub plant_parent: Option<PlantParent<S>>,
}

impl<S> Harness<S> {
    /// Plants `parent` as `group`'s parent without any check.
    pub async fn plant_parent(&self, group: crate::GroupId, parent: Option<crate::GroupId>)
    where
        S: Clone,
    {
        let plant = self
            .plant_parent
            .as_ref()
            .expect("this behaviour needs `plant_parent = ...` in conformance_tests!");
        plant(self.store.clone(), group, parent).await;
    }
}

/// Wraps a `plant_parent` closure for [`Harness`]; used by the macro.
#[doc(hidden)]
pub fn planter<S, F, Fut>(f: F) -> Option<PlantParent<S>>
where
    F: Fn(S, crate::GroupId, Option<crate::GroupId>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Some(Arc::new(move |s, g, p| Box::pin(f(s, g, p))))
}

/// The password every conformance user signs up with.
pub const PASSWORD: &str = "correct horse battery staple";

/// An `Auth` over the store under test, with a test clock and a recording mailer.
pub struct Env<S> {
    pub auth: Auth<S>,
    pub clock: TestClock,
    pub mailer: RecordingMailer,
    key: SecretKey,
    config: AuthConfig,
}

impl<S: Store + Clone> Env<S> {
    /// An environment with the test defaults (cheap hashing, audit into the store).
    pub fn new(store: S) -> Self {
        Self::with_config(store, |_| {})
    }

    /// An environment with edited configuration.
    pub fn with_config(store: S, edit: impl FnOnce(&mut AuthConfig)) -> Self {
        let mut config = AuthConfig::insecure_for_tests();
        edit(&mut config);
        Self::build(
            store,
            TestClock::new(),
            RecordingMailer::new(),
            SecretKey::generate(),
            config,
        )
    }

    fn build(
        store: S,
        clock: TestClock,
        mailer: RecordingMailer,
        key: SecretKey,
        config: AuthConfig,
    ) -> Self {
        let auth = Auth::builder(store)
            .clock(clock.clone())
            .mailer(mailer.clone())
            .secret_key(key.clone())
            .config(config.clone())
            .audit_to_store()
            .build()
            .expect("test configuration is valid");
        Self {
            auth,
            clock,
            mailer,
            key,
            config,
        }
    }

    /// Another app node on `store` (a peer handle), sharing clock, key, mailer and config.
    pub fn node(&self, store: S) -> Self {
        self.node_with(store, |_| {})
    }

    /// Another app node with edited configuration.
    pub fn node_with(&self, store: S, edit: impl FnOnce(&mut AuthConfig)) -> Self {
        let mut config = self.config.clone();
        edit(&mut config);
        Self::build(
            store,
            self.clock.clone(),
            self.mailer.clone(),
            self.key.clone(),
            config,
        )
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.auth.store()
    }

    /// Signs up `email` with [`PASSWORD`] and returns the signed-in result.
    pub async fn user(&self, email: &str) -> SignedIn {
        match self
            .auth
            .password()
            .sign_up(
                SignUp {
                    email: email.into(),
                    password: Secret::new(PASSWORD),
                    name: None,
                    extend: None,
                },
                &meta(),
            )
            .await
            .expect("sign-up succeeds")
        {
            SignUpOutcome::SignedIn(s) => *s,
            SignUpOutcome::VerificationRequired(_) => panic!("verification not expected"),
        }
    }

    /// Signs in `email` with [`PASSWORD`].
    pub async fn sign_in(&self, email: &str) -> SignedIn {
        self.auth
            .password()
            .sign_in(email, &Secret::new(PASSWORD), &meta())
            .await
            .expect("sign-in succeeds")
    }

    /// Moves the test clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// Request metadata used by the suite.
pub fn meta() -> RequestMeta {
    RequestMeta::none()
        .with_ip(std::net::IpAddr::from([127, 0, 0, 1]))
        .with_user_agent("conformance/1.0")
        .with_request_id("req-conformance")
}

/// Asserts that `result` failed with `code`.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, crate::AuthError>,
    code: crate::ErrorCode,
) {
    match result {
        Ok(value) => panic!("expected {code}, got Ok({value:?})"),
        Err(error) => assert_eq!(error.code(), code, "{error}"),
    }
}

/// Expands to one `#[tokio::test]` per conformance behaviour for a store; see the
/// [module docs](crate::conformance).
#[macro_export]
macro_rules! conformance_tests {
    ($name:ident, $factory:expr $(,)?) => {
        $crate::conformance_tests!(@go $name, None::<&str>, $factory,
            |store| async move { ::std::clone::Clone::clone(&store) }, None);
    };
    ($name:ident, $factory:expr, plant_parent = $plant:expr $(,)?) => {
        $crate::conformance_tests!(@go $name, None::<&str>, $factory,
            |store| async move { ::std::clone::Clone::clone(&store) },
            $crate::conformance::planter($plant));
    };
    ($name:ident, $factory:expr, peer = $peer:expr, plant_parent = $plant:expr $(,)?) => {
        $crate::conformance_tests!(@go $name, None::<&str>, $factory, $peer,
            $crate::conformance::planter($plant));
    };
    // Stores that need a service: every test is skipped, saying so, unless `$var` is set.
    ($name:ident, skip_unless_env = $var:literal, $factory:expr, peer = $peer:expr,
        plant_parent = $plant:expr $(,)?) => {
        $crate::conformance_tests!(@go $name, Some($var), $factory, $peer,
            $crate::conformance::planter($plant));
    };
    (@go $name:ident, $skip:expr, $factory:expr, $peer:expr, $plant:expr) => {
        $crate::__conformance_list!(@cases $name, $factory, $peer, $skip, $plant);
    };
}

/// The list of conformance behaviours, by module; expanded by [`conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_list {
    (@cases $name:ident, $factory:expr, $peer:expr, $skip:expr, $plant:expr) => {
        $crate::__conformance_cases!($name, $factory, $peer, $skip, $plant;
            users: [
                create_and_get,
                get_by_email_is_case_insensitive,
                duplicate_email_is_email_in_use,
                unknown_ids_are_not_found,
                update_changes_fields_and_email_clears_verification,
                update_to_a_taken_email_is_email_in_use,
                bad_input_is_refused,
                list_filters,
                list_orders,
                delete_cascades,
                delete_without_cascade_refuses_with_dependents,
                delete_without_cascade_succeeds_without_dependents,
            ],
            pagination: [
                empty_list,
                exactly_limit_has_no_next_cursor,
                pages_cover_every_row_once_with_equal_timestamps,
                descending_pages_cover_every_row_once,
                cursor_past_the_end_gives_an_empty_page,
                bad_limits_and_cursors_are_typed_errors,
            ],
            accounts: [
                link_and_find_user,
                linked_identity_cannot_be_linked_twice,
                link_needs_an_existing_user_and_an_external_provider,
                unlink_refuses_the_last_sign_in_method,
                unlink_of_someone_elses_account_is_not_found,
            ],
            passwords: [
                sign_up_signs_in,
                sign_up_with_taken_email_is_email_in_use,
                sign_up_rejects_bad_input,
                unknown_email_and_wrong_password_look_the_same,
                oversized_password_is_refused_without_hashing,
                verified_email_required_when_configured,
                sign_in_rehashes_when_parameters_change,
                rehash_never_undoes_a_password_change,
                change_revokes_every_session_and_starts_a_new_one,
                change_requires_the_current_password,
                reset_with_code_replaces_password_and_revokes_sessions,
                reset_with_link,
                forgot_for_unknown_email_sends_nothing,
                sign_in_is_throttled_per_address_and_client,
            ],
            sessions: [
                validate_returns_session_and_user,
                malformed_and_unknown_tokens,
                idle_expiry_slides_with_use,
                absolute_expiry_holds_despite_use,
                expired_session_is_refused_even_when_cached,
                cached_validation_answers_only_what_validate_would,
                use_is_written_at_most_once_per_touch_interval,
                sign_out_revokes,
                list_shows_only_the_users_active_sessions,
                revoke_one_and_revoke_others,
                revoke_of_another_users_session_is_not_found,
                revocation_on_one_node_is_seen_by_an_uncached_node,
                purge_deletes_ended_sessions,
                every_sign_in_gets_a_new_session,
            ],
            refresh: [
                refresh_rotates_both_tokens,
                reused_refresh_token_revokes_the_session,
                refresh_after_expiry_fails,
                refresh_of_revoked_session_fails,
                unknown_and_malformed_refresh_tokens,
                concurrent_refreshes_exactly_one_wins,
            ],
            verification: [
                verify_email_with_code,
                verify_email_with_link,
                wrong_codes_count_attempts_until_locked,
                concurrent_wrong_codes_never_exceed_the_attempt_limit,
                codes_expire,
                codes_are_single_use,
                a_new_code_replaces_the_old,
                verification_after_email_change_fails,
                sign_in_with_code_for_existing_user,
                sign_in_with_link,
                passwordless_sign_up_only_when_enabled,
                without_mailer_flows_are_not_configured,
                purge_deletes_old_verifications,
                emails_per_address_are_limited,
            ],
            audit: [
                sign_ins_and_failures_are_audited,
                audit_list_filters_and_paginates,
            ],
            groups: [
                create_get_and_get_by_slug,
                slugs_are_unique,
                create_validates_input,
                create_with_owner_adds_the_owner_atomically,
                update_renames_retags_and_moves,
                moves_that_would_make_a_cycle_are_refused,
                concurrent_opposite_moves_never_make_a_cycle,
                delete_cascades_to_descendants_members_and_invites,
                list_filters,
                list_orders_and_paginates,
                ancestors_nearest_first,
                ancestors_stop_at_max_depth,
                planted_cycle_is_reported_not_looped,
                descendants_breadth_first,
                a_64_level_chain_resolves,
            ],
            members: [
                add_get_and_list,
                duplicate_membership_is_refused,
                add_validates_group_user_and_role,
                update_and_remove,
                last_owner_cannot_be_removed_demoted_or_suspended,
                concurrent_owner_removals_keep_one_owner,
                groups_of_a_user,
                direct_membership_resolves_at_depth_zero,
                membership_is_inherited_from_the_nearest_ancestor,
                resolution_filters_by_role_and_status,
                require_refuses_non_members,
                user_deletion_respects_memberships,
                the_only_owner_cannot_be_deleted,
            ],
            permissions: [
                roles_grant_their_permissions_with_inheritance,
                permissions_union_along_the_chain,
                has_role_follows_role_includes,
                custom_policy_with_wildcards,
                bad_permission_strings_are_refused,
            ],
            invites: [
                create_returns_the_token_once,
                duplicate_pending_invite_is_refused,
                create_validates_input,
                accept_adds_the_membership,
                accept_twice_is_not_pending,
                revoked_invite_cannot_be_accepted,
                expired_invite_cannot_be_accepted,
                expired_invite_frees_the_email_for_a_new_one,
                email_bound_invite_needs_that_verified_email,
                accept_by_existing_member_is_duplicate,
                invite_without_group,
                list_filters_by_status_group_email_inviter_role,
                concurrent_accepts_make_exactly_one_membership,
                unknown_and_malformed_tokens,
            ],
            api_keys: [
                create_returns_the_key_once,
                verify_returns_owner_and_scopes,
                create_validates_input,
                keys_never_exceed_their_creator,
                malformed_and_unknown_keys_are_invalid,
                revoked_and_expired_keys_have_distinct_errors,
                revocation_on_one_node_is_seen_by_an_uncached_node,
                rotation_with_and_without_grace,
                rate_limit_holds_exactly_across_nodes,
                quota_is_used_up_and_refills,
                use_is_recorded_at_most_once_per_interval,
                cached_verification_answers_only_what_verify_would,
                list_filters_and_orders,
                update_takes_effect_at_once,
                remove_deletes_for_good,
                owners_deletion_deletes_their_keys,
                group_keys_survive_their_creator,
                changes_and_failures_are_audited,
                purge_removes_ended_rate_windows,
            ],
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($name:ident, $factory:expr, $peer:expr, $skip:expr, $plant:expr;
        $($module:ident : [$($case:ident),* $(,)?]),* $(,)?) => {
        mod $name {
            $(
                mod $module {
                    // The factory and peer expressions may name items of the invoking scope.
                    #[allow(unused_imports)]
                    use super::super::*;
                    $(
                        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $case() {
                            #[allow(clippy::redundant_pattern_matching)]
                            if let ::std::option::Option::Some(var) = $skip {
                                if ::std::env::var_os(var).is_none() {
                                    ::std::eprintln!(
                                        "SKIPPED {}::{}: set {} to run it",
                                        ::std::stringify!($name),
                                        ::std::stringify!($case),
                                        var
                                    );
                                    return;
                                }
                            }
                            let store = ($factory)().await;
                            let peer = ($peer)(::std::clone::Clone::clone(&store)).await;
                            $crate::conformance::$module::$case(
                                $crate::conformance::Harness {
                                    store,
                                    peer,
                                    plant_parent: $plant,
                                },
                            )
                            .await;
                        }
                    )*
                }
            )*
        }
    };
}
