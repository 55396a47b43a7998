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
        let result = match kind {
            ResourceKind::User => self.replace_user(directory, id, body, if_match, meta).await,
            ResourceKind::Group => {
                self.replace_group(directory, id, body, if_match, meta)
                    .await
            }
        };
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
        let result = match kind {
            ResourceKind::User => self.patch_user(directory, id, body, if_match, meta).await,
            ResourceKind::Group => self.patch_group(directory, id, body, if_match, meta).await,
        };
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
