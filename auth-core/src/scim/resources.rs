//! The directory's requests, by resource kind: what the HTTP layer calls. Each change and
//! each refusal that matters to a security team is audited here (`scim.user.*`,
//! `scim.group.*`), once for both kinds.

use serde_json::Value;

use super::error::ScimError;
use super::query::ListParams;
use super::render::ScimResource;
use super::schema::{GROUP_TYPE, ResourceType, USER_TYPE};
use super::service::{Directory, Scim};
use super::users::ScimList;
use crate::context::RequestMeta;
use crate::store::ScimDomain;

/// `/Users` or `/Groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `/Users`: people, provisioned as library users and members of the organization.
    User,
    /// `/Groups`: groups, provisioned as child groups of the organization.
    Group,
}

impl ResourceKind {
    /// The resource type's description.
    pub fn resource_type(self) -> &'static ResourceType {
        match self {
            ResourceKind::User => &USER_TYPE,
            ResourceKind::Group => &GROUP_TYPE,
        }
    }

    /// The audit action of `verb` on this kind (`scim.user.create`).
    fn action(self, verb: &str) -> String {
        match self {
            ResourceKind::User => format!("scim.user.{verb}"),
            ResourceKind::Group => format!("scim.group.{verb}"),
        }
    }

    /// The audit subject of the resource `id`.
    fn subject(self, id: &str) -> Option<(&'static str, String)> {
        let kind = match self {
            ResourceKind::User => "scim_user",
            ResourceKind::Group => "scim_group",
        };
        Some((kind, id.to_owned()))
    }
}

/// How many times a change is tried when other changes to the same resource keep
/// winning the race.
const ATTEMPTS: usize = 8;

/// Runs `attempt`, and again when it lost a race with another change to the resource
/// (a 412) while the client named no version: without `If-Match` the client asked for
/// its change on whatever is current (two PATCHes adding members to one group at once
/// both succeed).
async fn retrying_races<T, Fut>(
    if_match: Option<&str>,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, ScimError>
where
    Fut: Future<Output = Result<T, ScimError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if error.status == 412 && if_match.is_none() => {
                if tries == ATTEMPTS {
                    // No precondition of the client's failed: say what happened.
                    return Err(ScimError::status(
                        409,
                        None,
                        "the resource kept changing while this request ran; retry it",
                    ));
                }
                tries += 1;
            }
            other => return other,
        }
    }
}

impl<S: ScimDomain> Scim<'_, S> {
    /// `POST /Users`, `POST /Groups`.
    pub async fn create(
        &self,
        kind: ResourceKind,
        directory: &Directory,
        body: &Value,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let result = match kind {
            ResourceKind::User => self.create_user(directory, body, meta).await,
            ResourceKind::Group => self.create_group(directory, body, meta).await,
        };
        let subject = result.as_ref().ok().and_then(|r| kind.subject(r.id()));
        self.audit_directory(directory, &kind.action("create"), subject, meta, &result)
            .await;
        result
    }

    /// `GET /Users/{id}`, `GET /Groups/{id}`.
    pub async fn get(
        &self,
        kind: ResourceKind,
        directory: &Directory,
        id: &str,
    ) -> Result<ScimResource, ScimError> {
        match kind {
            ResourceKind::User => self.get_user(directory, id).await,
            ResourceKind::Group => self.get_group(directory, id).await,
        }
    }

    /// `PUT /Users/{id}`, `PUT /Groups/{id}`: replaces every attribute (and a group's
    /// member list).
    pub async fn replace(
        &self,
        kind: ResourceKind,
        directory: &Directory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let result = retrying_races(if_match, || async move {
            match kind {
                ResourceKind::User => self.replace_user(directory, id, body, if_match, meta).await,
                ResourceKind::Group => {
                    self.replace_group(directory, id, body, if_match, meta)
                        .await
                }
            }
        })
        .await;
        self.audit_directory(
            directory,
            &kind.action("replace"),
            kind.subject(id),
            meta,
            &result,
        )
        .await;
        result
    }

    /// `PATCH /Users/{id}`, `PATCH /Groups/{id}`.
    pub async fn patch(
        &self,
        kind: ResourceKind,
        directory: &Directory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let result = retrying_races(if_match, || async move {
            match kind {
                ResourceKind::User => self.patch_user(directory, id, body, if_match, meta).await,
                ResourceKind::Group => self.patch_group(directory, id, body, if_match, meta).await,
            }
        })
        .await;
        self.audit_directory(
            directory,
            &kind.action("patch"),
            kind.subject(id),
            meta,
            &result,
        )
        .await;
        result
    }

    /// `DELETE /Users/{id}` (deprovisions the user), `DELETE /Groups/{id}` (deletes the
    /// library group).
    pub async fn delete(
        &self,
        kind: ResourceKind,
        directory: &Directory,
        id: &str,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(), ScimError> {
        let result = match kind {
            ResourceKind::User => self.delete_user(directory, id, if_match, meta).await,
            ResourceKind::Group => self.delete_group(directory, id, if_match).await,
        };
        self.audit_directory(
            directory,
            &kind.action("delete"),
            kind.subject(id),
            meta,
            &result,
        )
        .await;
        result
    }

    /// `GET /Users`, `GET /Groups` (or their `/.search`).
    pub async fn list(
        &self,
        kind: ResourceKind,
        directory: &Directory,
        params: &ListParams,
    ) -> Result<ScimList, ScimError> {
        match kind {
            ResourceKind::User => self.list_users(directory, params).await,
            ResourceKind::Group => self.list_groups(directory, params).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// An attempt that loses `losses` races, then succeeds.
    async fn run(losses: usize, if_match: Option<&str>) -> (Result<(), ScimError>, usize) {
        let tries = Cell::new(0);
        let result = retrying_races(if_match, || {
            tries.set(tries.get() + 1);
            let lost = tries.get() <= losses;
            async move {
                if lost {
                    Err(ScimError::version_mismatch())
                } else {
                    Ok(())
                }
            }
        })
        .await;
        (result, tries.get())
    }

    #[tokio::test]
    async fn a_lost_race_is_run_again_only_without_if_match() {
        assert_eq!(run(2, None).await, (Ok(()), 3));
        assert_eq!(run(ATTEMPTS, None).await.1, ATTEMPTS);
        assert_eq!(run(ATTEMPTS, None).await.0.unwrap_err().status, 409);
        let (result, tries) = run(1, Some("W/\"1\"")).await;
        assert_eq!((result.unwrap_err().status, tries), (412, 1));
    }
}
