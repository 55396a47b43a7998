//! An organization that requires a second factor: members act in it (and below it) only
//! from a session that passed one, can still leave, and an `aal1` session cannot turn the
//! requirement on (it would lock itself out).

use super::groups::{group, named};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::groups::{GroupPatch, NewGroup};
use crate::members::NewMember;
use crate::{Aal, Caller, ErrorCode, OrganizationStore};

pub async fn an_organization_requiring_mfa_refuses_sessions_without_a_second_factor<
    S: OrganizationStore + Clone,
>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let user = env.user("member@example.com").await.user;
    let org = group(&env, "Secure Org", None).await;
    let team = group(&env, "Team", Some(org.id)).await;
    let elsewhere = group(&env, "Elsewhere", None).await;
    let mut memberships = Vec::new();
    for g in [org.id, elsewhere.id] {
        let membership = env
            .auth
            .members()
            .add(
                &Caller::System,
                NewMember {
                    group_id: g,
                    user_id: user.id,
                    role: Some("member".into()),
                    status: None,
                    extend: None,
                },
                &meta(),
            )
            .await
            .unwrap();
        memberships.push(membership);
    }
    let aal1 = env.caller(user.id).await;
    env.auth.members().access(&aal1, team.id).await.unwrap();
    let updated = env
        .auth
        .groups()
        .update(
            &Caller::System,
            org.id,
            GroupPatch {
                require_mfa: Some(true),
                ..GroupPatch::default()
            },
            &meta(),
        )
        .await
        .unwrap();
    assert!(updated.require_mfa);
    let stored = env
        .auth
        .groups()
        .get(&Caller::System, org.id)
        .await
        .unwrap();
    assert!(stored.require_mfa, "the flag is stored");
    // Refused in the organization and below it (the user holds no factor: enrol one) ...
    for g in [org.id, team.id] {
        assert_code(
            env.auth.members().access(&aal1, g).await,
            ErrorCode::MfaEnrollmentRequired,
        );
    }
    assert_code(
        env.auth
            .members()
            .list(
                &aal1,
                crate::ListQuery::new(
                    crate::members::MemberFilter {
                        group_id: Some(org.id),
                        ..Default::default()
                    },
                    crate::members::MemberOrder::CreatedAt,
                ),
            )
            .await,
        ErrorCode::MfaEnrollmentRequired,
    );
    // ... audited where a change was refused ...
    let rename = GroupPatch {
        name: Some("Renamed".into()),
        ..GroupPatch::default()
    };
    assert_code(
        env.auth
            .groups()
            .update(&aal1, team.id, rename, &meta())
            .await,
        ErrorCode::MfaEnrollmentRequired,
    );
    assert_eq!(
        env.audit_failures(&["group.update"]).await,
        [Some("MFA_ENROLLMENT_REQUIRED".into())]
    );
    // ... not elsewhere ...
    env.auth
        .members()
        .access(&aal1, elsewhere.id)
        .await
        .unwrap();
    // ... and an aal2 session passes.
    let aal2 = env
        .auth
        .sessions()
        .start(user.clone(), Aal::Aal2, &meta())
        .await
        .unwrap()
        .caller();
    env.auth.members().access(&aal2, team.id).await.unwrap();
    // The member can still leave.
    env.auth
        .members()
        .remove(&aal1, org.id, memberships[0].id, &meta())
        .await
        .unwrap();
}

pub async fn turning_the_requirement_on_needs_a_second_factor<S: OrganizationStore + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let owner = env.user("owner@example.com").await;
    let aal1 = owner.caller();
    let required = NewGroup {
        require_mfa: true,
        ..named("Strict")
    };
    assert_code(
        env.auth
            .groups()
            .create(&aal1, required.clone(), &meta())
            .await,
        ErrorCode::MfaRequired,
    );
    let org = env
        .auth
        .groups()
        .create(&aal1, named("Lax"), &meta())
        .await
        .unwrap();
    let on = GroupPatch {
        require_mfa: Some(true),
        ..GroupPatch::default()
    };
    assert_code(
        env.auth
            .groups()
            .update(&aal1, org.id, on.clone(), &meta())
            .await,
        ErrorCode::MfaRequired,
    );
    assert_eq!(
        env.audit_failures(&["group.create", "group.update"]).await,
        [Some("MFA_REQUIRED".into()), Some("MFA_REQUIRED".into())]
    );
    // From a session that passed a second factor, it may.
    let aal2 = env
        .auth
        .sessions()
        .start(owner.user.clone(), Aal::Aal2, &meta())
        .await
        .unwrap()
        .caller();
    let strict = env
        .auth
        .groups()
        .update(&aal2, org.id, on, &meta())
        .await
        .unwrap();
    assert!(strict.require_mfa);
    let created = env
        .auth
        .groups()
        .create(&aal2, required, &meta())
        .await
        .unwrap();
    assert!(created.require_mfa);
}
