//! `/Groups`: a directory's groups become child groups of the connection's organization,
//! and their members memberships of those groups (with the connection's default role).
//! Only users the same directory provisioned can be members.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};

use super::document::{Document, normalize, text};
use super::error::ScimError;
use super::model::{ScimGroup, ScimMember, ScimPage, ScimUser};
use super::patch::{apply, parse_request};
use super::query::{GroupField, ListParams};
use super::render::{Meta, ScimResource, resource};
use super::schema::GROUP_TYPE;
use super::service::{Directory, Scim};
use super::users::{ScimList, check_if_match, mark_suspended, parse_id};
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::AuthError;
use crate::groups::Group;
use crate::ids::{GroupId, ScimGroupId, ScimUserId};
use crate::invalidation::Invalidation;
use crate::members::{MemberStatus, NewMember};
use crate::store::ScimDomain;
use crate::validate;

/// Longest group name, in characters.
const MAX_GROUP_NAME: usize = 256;
/// The `type` of the library groups SCIM creates.
pub const SCIM_GROUP_KIND: &str = "directory_group";

/// The fields the library keeps of a group's document, and its members' ids.
struct GroupFields {
    display_name: String,
    external_id: Option<String>,
    members: Vec<String>,
}

/// Takes `members` out of `doc` (members are memberships, not stored attributes).
fn group_fields(doc: &mut Document) -> Result<GroupFields, ScimError> {
    let display_name = validate::text(
        "displayName",
        text(doc, "displayName").unwrap_or_default(),
        MAX_GROUP_NAME,
    )
    .map_err(|e| ScimError::invalid_value(e.to_string()))?;
    let members = match doc.remove("members") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|m| m.get("value").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    Ok(GroupFields {
        display_name,
        external_id: text(doc, "externalId").map(str::to_owned),
        members,
    })
}

impl<S: ScimDomain> Scim<'_, S> {
    /// `POST /Groups`.
    pub(super) async fn create_group(
        &self,
        directory: &Directory,
        body: &Value,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let mut doc = normalize(&GROUP_TYPE, body)?;
        let fields = group_fields(&mut doc)?;
        let members = self.users_named(directory, &fields.members).await?;
        let now = self.auth.now();
        let library = Group {
            id: GroupId::new(),
            name: fields.display_name.clone(),
            slug: None,
            kind: SCIM_GROUP_KIND.to_owned(),
            parent_id: Some(directory.config.group_id),
            tags: BTreeMap::new(),
            extend: json!({}),
            require_mfa: false,
            created_at: now,
            updated_at: now,
        };
        let record = ScimGroup {
            id: ScimGroupId::new(),
            connection_id: directory.connection(),
            group_id: library.id,
            display_name: fields.display_name,
            external_id: fields.external_id,
            attributes: doc,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let store = self.auth.store();
        store.create_scim_group(&record, &library).await?;
        if let Err(error) = self.add_members(directory, &record, &members, meta).await {
            // All or nothing: the directory retries a failed POST, which must not leave
            // a half-made group behind to be duplicated.
            if let Err(cleanup) = store
                .delete_scim_group(directory.connection(), record.id)
                .await
            {
                tracing::error!(error = %cleanup, "SCIM: a half-made group could not be removed");
            }
            return Err(error);
        }
        self.render_group(directory, &record).await
    }

    /// `GET /Groups/{id}`.
    pub(super) async fn get_group(
        &self,
        directory: &Directory,
        id: &str,
    ) -> Result<ScimResource, ScimError> {
        let record = self.load_group(directory, id).await?;
        self.render_group(directory, &record).await
    }

    /// `PUT /Groups/{id}`: replaces the attributes and the member list.
    pub(super) async fn replace_group(
        &self,
        directory: &Directory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let old = self.load_group(directory, id).await?;
        check_if_match(if_match, old.version)?;
        let doc = normalize(&GROUP_TYPE, body)?;
        let current = self.auth.store().scim_group_members(&old).await?;
        self.change_group(directory, old, doc, &current, meta).await
    }

    /// `PATCH /Groups/{id}`: attribute changes and member additions and removals.
    pub(super) async fn patch_group(
        &self,
        directory: &Directory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let operations = parse_request(body)?;
        let old = self.load_group(directory, id).await?;
        check_if_match(if_match, old.version)?;
        let current = self.auth.store().scim_group_members(&old).await?;
        let mut doc = old.attributes.clone();
        if !current.is_empty() {
            let members: Vec<Value> = current
                .iter()
                .map(|m| json!({ "value": m.id.to_string() }))
                .collect();
            doc.insert("members".into(), Value::Array(members));
        }
        apply(&GROUP_TYPE, &mut doc, &operations)?;
        self.change_group(directory, old, doc, &current, meta).await
    }

    /// `DELETE /Groups/{id}`: deletes the library group with its memberships.
    pub(super) async fn delete_group(
        &self,
        directory: &Directory,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let old = self.load_group(directory, id).await?;
        check_if_match(if_match, old.version)?;
        self.auth
            .store()
            .delete_scim_group(directory.connection(), old.id)
            .await?;
        // The library group took its (and its subgroups') API keys with it.
        self.auth.invalidate(&[Invalidation::AllApiKeys]).await;
        Ok(())
    }

    /// `GET /Groups` (or `POST /Groups/.search`).
    pub(super) async fn list_groups(
        &self,
        directory: &Directory,
        params: &ListParams,
    ) -> Result<ScimList, ScimError> {
        let query = params.resolve::<GroupField>()?;
        let ScimPage { items, total } = self
            .auth
            .store()
            .list_scim_groups(directory.connection(), &query)
            .await?;
        let mut resources = Vec::with_capacity(items.len());
        for record in &items {
            resources.push(self.render_group(directory, record).await?);
        }
        Ok(ScimList {
            total,
            start_index: query.offset + 1,
            resources,
        })
    }

    async fn load_group(&self, directory: &Directory, id: &str) -> Result<ScimGroup, ScimError> {
        let not_found = || ScimError::not_found(format!("Group {id}"));
        let id = parse_id(id).ok_or_else(not_found)?;
        self.auth
            .store()
            .get_scim_group(directory.connection(), ScimGroupId::from_uuid(id))
            .await?
            .ok_or_else(not_found)
    }

    /// The connection's users with these SCIM ids, refusing one it does not have.
    async fn users_named(
        &self,
        directory: &Directory,
        ids: &[String],
    ) -> Result<Vec<ScimUser>, ScimError> {
        let store = self.auth.store();
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            let user = match parse_id(id) {
                Some(uuid) => {
                    store
                        .get_scim_user(directory.connection(), ScimUserId::from_uuid(uuid))
                        .await?
                }
                None => None,
            };
            users.push(user.ok_or_else(|| {
                ScimError::invalid_value(format!("member {id} is not a user of this directory"))
            })?);
        }
        Ok(users)
    }

    /// Stores `doc` (with `members`) as the group's new state: the attributes, the
    /// library group's name, and the memberships added and removed.
    async fn change_group(
        &self,
        directory: &Directory,
        old: ScimGroup,
        mut doc: Document,
        current: &[ScimMember],
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let fields = group_fields(&mut doc)?;
        let wanted: HashSet<&str> = fields.members.iter().map(String::as_str).collect();
        let present: HashSet<String> = current.iter().map(|m| m.id.to_string()).collect();
        let added: Vec<String> = fields
            .members
            .iter()
            .filter(|m| !present.contains(m.as_str()))
            .cloned()
            .collect();
        let added = self.users_named(directory, &added).await?;
        let removed: Vec<ScimUserId> = current
            .iter()
            .filter(|m| !wanted.contains(m.id.to_string().as_str()))
            .map(|m| m.id)
            .collect();
        let record = ScimGroup {
            display_name: fields.display_name,
            external_id: fields.external_id,
            attributes: doc,
            version: old.version.wrapping_add(1),
            updated_at: self.auth.now(),
            ..old.clone()
        };
        let store = self.auth.store();
        if !store.update_scim_group(&record, old.version).await? {
            return Err(ScimError::version_mismatch());
        }
        self.add_members(directory, &record, &added, meta).await?;
        for id in removed {
            if let Some(user) = store.get_scim_user(directory.connection(), id).await?
                && let Some(member) = store
                    .get_member_by_user(record.group_id, user.user_id)
                    .await?
            {
                match self
                    .auth
                    .members()
                    .remove(&Caller::System, record.group_id, member.id, meta)
                    .await
                {
                    Ok(_) | Err(AuthError::NotFound(_)) => {}
                    Err(other) => return Err(other.into()),
                }
            }
        }
        self.render_group(directory, &record).await
    }

    /// Makes `users` members of the group with the connection's default role (suspended,
    /// and marked so, while a user is inactive); a membership that exists already stays.
    async fn add_members(
        &self,
        directory: &Directory,
        group: &ScimGroup,
        users: &[ScimUser],
        meta: &RequestMeta,
    ) -> Result<(), ScimError> {
        if users.is_empty() {
            return Ok(());
        }
        let role = self.default_role(directory).await?;
        for user in users {
            let (status, extend) = if user.active {
                (MemberStatus::Active, None)
            } else {
                let marked = mark_suspended(&json!({}), directory.connection());
                (MemberStatus::Suspended, Some(marked))
            };
            let input = NewMember {
                group_id: group.group_id,
                user_id: user.user_id,
                role: Some(role.clone()),
                status: Some(status),
                extend,
            };
            match self.auth.members().add(&Caller::System, input, meta).await {
                Ok(_) | Err(AuthError::DuplicateMembership) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }

    async fn render_group(
        &self,
        directory: &Directory,
        record: &ScimGroup,
    ) -> Result<ScimResource, ScimError> {
        let members = self.auth.store().scim_group_members(record).await?;
        let mut extra = Map::new();
        if !members.is_empty() {
            let members: Vec<Value> = members
                .into_iter()
                .map(|m| {
                    json!({
                        "value": m.id.to_string(),
                        "$ref": format!("{}/Users/{}", directory.base_url, m.id),
                        "type": "User",
                    })
                })
                .collect();
            extra.insert("members".into(), Value::Array(members));
        }
        Ok(resource(
            &record.attributes,
            &Meta {
                rt: &GROUP_TYPE,
                id: record.id.as_uuid(),
                base_url: &directory.base_url,
                created: record.created_at,
                modified: record.updated_at,
                version: record.version,
            },
            extra,
        ))
    }
}
