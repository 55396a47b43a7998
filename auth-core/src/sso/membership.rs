//! The membership an SSO sign-in gives in the connection's organization, and the role
//! the identity provider's groups map to.

// Used by the protocol flows (features `oidc`, `saml`) and the conformance suite; a
// build with none of them keeps the SSO set-up only.
#![cfg_attr(
    not(any(feature = "oidc", feature = "saml", feature = "conformance")),
    allow(dead_code)
)]

use std::collections::BTreeMap;

use super::SsoConnection;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::AuthError;
use crate::ids::UserId;
use crate::members::{Member, MemberPatch, NewMember};
use crate::permissions::Policy;
use crate::store::SsoDomain;

/// The role the person's IdP `groups` map to through `mapping`, if any. When several
/// groups map, the role that includes the most roles of the policy wins (in the default
/// policy owner > admin > member); a tie goes to the first role name in byte order. Roles
/// the policy no longer defines are skipped.
pub(crate) fn mapped_role(
    policy: &Policy,
    mapping: &BTreeMap<String, String>,
    groups: &[String],
) -> Option<String> {
    let rank = |role: &str| policy.roles().filter(|r| policy.implies(role, r)).count();
    groups
        .iter()
        .filter_map(|group| mapping.get(group))
        .filter(|role| policy.has(role))
        .min_by(|a, b| rank(b).cmp(&rank(a)).then_with(|| a.cmp(b)))
        .cloned()
}

impl<S: SsoDomain> super::Sso<'_, S> {
    /// Makes `user_id` a member of the connection's organization: added when missing with
    /// the mapped role, else the connection's default role, else the policy's default; an
    /// existing membership takes the mapped role when the mapping names one that differs
    /// (it is left as is when no group maps, and when the change would remove the
    /// organization's last owner). Written through the members service, so `member.add`
    /// and `member.update` are audited as the app's.
    pub(crate) async fn ensure_membership(
        &self,
        connection: &SsoConnection,
        user_id: UserId,
        groups: &[String],
        meta: &RequestMeta,
    ) -> Result<Member, AuthError> {
        let policy = self.auth.policy();
        let mapped = mapped_role(policy, &connection.role_mapping, groups);
        let members = self.auth.members();
        let store = self.auth.store();
        let existing = match store
            .get_member_by_user(connection.group_id, user_id)
            .await?
        {
            Some(member) => member,
            None => {
                let role = mapped
                    .clone()
                    .or_else(|| connection.default_role.clone())
                    .filter(|role| policy.has(role))
                    .unwrap_or_else(|| policy.default_role().to_owned());
                let new = NewMember {
                    group_id: connection.group_id,
                    user_id,
                    role: Some(role),
                    status: None,
                    extend: None,
                };
                match members.add(&Caller::System, new, meta).await {
                    Err(AuthError::DuplicateMembership) => store
                        .get_member_by_user(connection.group_id, user_id)
                        .await?
                        .ok_or(AuthError::NotFound(crate::error::Entity::Member))?,
                    other => return other,
                }
            }
        };
        let Some(role) = mapped.filter(|role| *role != existing.role) else {
            return Ok(existing);
        };
        let patch = MemberPatch {
            role: Some(role),
            ..MemberPatch::default()
        };
        match members
            .update(
                &Caller::System,
                connection.group_id,
                existing.id,
                patch,
                meta,
            )
            .await
        {
            Err(AuthError::LastOwner) => Ok(existing),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mapping(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(g, r)| ((*g).to_owned(), (*r).to_owned()))
            .collect()
    }

    #[test]
    fn the_highest_mapped_role_wins() {
        let policy = Policy::default();
        let map = mapping(&[("eng", "member"), ("leads", "admin"), ("gone", "nope")]);
        let groups = |g: &[&str]| g.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            mapped_role(&policy, &map, &groups(&["eng"])).as_deref(),
            Some("member")
        );
        assert_eq!(
            mapped_role(&policy, &map, &groups(&["eng", "leads"])).as_deref(),
            Some("admin")
        );
        assert_eq!(mapped_role(&policy, &map, &groups(&["gone"])), None);
        assert_eq!(mapped_role(&policy, &map, &groups(&["other"])), None);
    }
}
