use std::cmp::Ordering;

use async_trait::async_trait;
use auth_core::groups::Group;
use auth_core::members::Member;
use auth_core::scim::query::{Field, FieldData, FieldFilter, GroupField, ListQuery, UserField};
use auth_core::scim::{
    ScimConfig, ScimGroup, ScimMember, ScimPage, ScimSettings, ScimStore, ScimUser,
};
use auth_core::{
    Conflict, Entity, ScimGroupId, ScimUserId, SsoConnectionId, StoreError, TokenHash, User, UserId,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::MemoryStore;
use crate::tables::Tables;

impl Tables {
    /// Whether another of the connection's users has `user`'s `userName` (lowercased).
    fn scim_user_name_taken(&self, user: &ScimUser) -> bool {
        let key = user.user_name.to_lowercase();
        self.scim_users.values().any(|u| {
            u.connection_id == user.connection_id
                && u.id != user.id
                && u.user_name.to_lowercase() == key
        })
    }

    /// The group's members: users of its connection with a membership of its library
    /// group, by SCIM id.
    fn scim_member_ids(&self, group: &ScimGroup) -> Vec<ScimUser> {
        let mut members: Vec<ScimUser> = self
            .scim_users
            .values()
            .filter(|u| {
                u.connection_id == group.connection_id
                    && self
                        .member_by_key
                        .contains_key(&(group.group_id, u.user_id))
            })
            .cloned()
            .collect();
        members.sort_by_key(|u| u.id.as_uuid());
        members
    }
}

/// Filters, sorts and pages `items` as [`ScimStore`]'s lists do; `data` reads a field.
fn page<T, F: Field>(
    items: Vec<T>,
    query: &ListQuery<F>,
    data: impl for<'a> Fn(&'a T, F) -> FieldData<'a>,
    created: impl Fn(&T) -> (time::OffsetDateTime, Uuid),
) -> ScimPage<T> {
    let mut matching: Vec<T> = items
        .into_iter()
        .filter(|item| {
            query
                .filter
                .as_ref()
                .is_none_or(|f: &FieldFilter<F>| f.matches(&|field| data(item, field)))
        })
        .collect();
    matching.sort_by(|a, b| {
        let by = match query.sort.by {
            Some(field) => data(a, field).sort_cmp(&data(b, field)),
            None => Ordering::Equal,
        };
        let by = if query.sort.descending {
            by.reverse()
        } else {
            by
        };
        by.then_with(|| created(a).cmp(&created(b)))
    });
    let total = matching.len() as u64;
    let items = matching
        .into_iter()
        .skip(query.offset)
        .take(query.count)
        .collect();
    ScimPage { items, total }
}

#[async_trait]
impl ScimStore for MemoryStore {
    async fn create_scim_config(&self, config: &ScimConfig) -> Result<bool, StoreError> {
        let mut t = self.write();
        if !t.sso_connections.contains_key(&config.connection_id) {
            return Err(StoreError::MissingReference(Entity::SsoConnection));
        }
        if t.scim_configs.contains_key(&config.connection_id) {
            return Ok(false);
        }
        t.scim_configs.insert(config.connection_id, config.clone());
        Ok(true)
    }

    async fn update_scim_settings(
        &self,
        connection: SsoConnectionId,
        settings: ScimSettings,
        at: OffsetDateTime,
    ) -> Result<Option<ScimConfig>, StoreError> {
        Ok(self.write().scim_configs.get_mut(&connection).map(|c| {
            c.enabled = settings.enabled;
            c.deprovision = settings.deprovision;
            c.updated_at = at;
            c.clone()
        }))
    }

    async fn replace_scim_token(
        &self,
        connection: SsoConnectionId,
        hash: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(match self.write().scim_configs.get_mut(&connection) {
            Some(c) => {
                c.token_hash = *hash;
                c.token_created_at = at;
                c.updated_at = at;
                true
            }
            None => false,
        })
    }

    async fn get_scim_config(
        &self,
        connection: SsoConnectionId,
    ) -> Result<Option<ScimConfig>, StoreError> {
        Ok(self.read().scim_configs.get(&connection).cloned())
    }

    async fn scim_config_by_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<ScimConfig>, StoreError> {
        Ok(self
            .read()
            .scim_configs
            .values()
            .find(|c| c.token_hash == *hash)
            .cloned())
    }

    async fn create_scim_user(
        &self,
        user: &ScimUser,
        new_user: Option<&User>,
        member: Option<&Member>,
    ) -> Result<(), StoreError> {
        let mut t = self.write();
        if !t.sso_connections.contains_key(&user.connection_id) {
            return Err(StoreError::MissingReference(Entity::SsoConnection));
        }
        if t.scim_users.contains_key(&user.id) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        if t.scim_user_name_taken(user) {
            return Err(StoreError::Conflict(Conflict::ScimUserName));
        }
        if t.scim_users
            .values()
            .any(|u| u.connection_id == user.connection_id && u.user_id == user.user_id)
        {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        if let Some(new_user) = new_user {
            t.check_new_user(new_user, &[])?;
        } else if !t.users.contains_key(&user.user_id) {
            return Err(StoreError::MissingReference(Entity::User));
        }
        if let Some(member) = member {
            if !t.groups.contains_key(&member.group_id) {
                return Err(StoreError::MissingReference(Entity::Group));
            }
            if t.member_by_key
                .contains_key(&(member.group_id, member.user_id))
            {
                return Err(StoreError::Conflict(Conflict::Membership));
            }
        }
        if let Some(new_user) = new_user {
            t.insert_user(new_user, &[]);
        }
        if let Some(member) = member {
            t.insert_member(member.clone());
        }
        t.scim_users.insert(user.id, user.clone());
        Ok(())
    }

    async fn get_scim_user(
        &self,
        connection: SsoConnectionId,
        id: ScimUserId,
    ) -> Result<Option<ScimUser>, StoreError> {
        Ok(self
            .read()
            .scim_users
            .get(&id)
            .filter(|u| u.connection_id == connection)
            .cloned())
    }

    async fn scim_user_for(
        &self,
        connection: SsoConnectionId,
        user_id: UserId,
    ) -> Result<Option<ScimUser>, StoreError> {
        Ok(self
            .read()
            .scim_users
            .values()
            .find(|u| u.connection_id == connection && u.user_id == user_id)
            .cloned())
    }

    async fn update_scim_user(
        &self,
        user: &ScimUser,
        expected_version: u32,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        let current = t
            .scim_users
            .get(&user.id)
            .filter(|u| u.connection_id == user.connection_id && u.version == expected_version);
        let Some(current) = current else {
            return Ok(false);
        };
        let updated = ScimUser {
            id: current.id,
            connection_id: current.connection_id,
            user_id: current.user_id,
            created_at: current.created_at,
            ..user.clone()
        };
        if t.scim_user_name_taken(&updated) {
            return Err(StoreError::Conflict(Conflict::ScimUserName));
        }
        t.scim_users.insert(updated.id, updated);
        Ok(true)
    }

    async fn delete_scim_user(
        &self,
        connection: SsoConnectionId,
        id: ScimUserId,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        if t.scim_users
            .get(&id)
            .is_none_or(|u| u.connection_id != connection)
        {
            return Ok(false);
        }
        Ok(t.scim_users.remove(&id).is_some())
    }

    async fn list_scim_users(
        &self,
        connection: SsoConnectionId,
        query: &ListQuery<UserField>,
    ) -> Result<ScimPage<ScimUser>, StoreError> {
        let t = self.read();
        let users: Vec<ScimUser> = t
            .scim_users
            .values()
            .filter(|u| u.connection_id == connection)
            .cloned()
            .collect();
        Ok(page(
            users,
            query,
            |u, field| u.field(field),
            |u| (u.created_at, u.id.as_uuid()),
        ))
    }

    async fn create_scim_group(
        &self,
        group: &ScimGroup,
        library: &Group,
    ) -> Result<(), StoreError> {
        let mut t = self.write();
        if !t.sso_connections.contains_key(&group.connection_id) {
            return Err(StoreError::MissingReference(Entity::SsoConnection));
        }
        if library
            .parent_id
            .is_some_and(|p| !t.groups.contains_key(&p))
        {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if t.scim_groups.contains_key(&group.id) || t.groups.contains_key(&library.id) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        t.groups.insert(library.id, library.clone());
        t.scim_groups.insert(group.id, group.clone());
        Ok(())
    }

    async fn get_scim_group(
        &self,
        connection: SsoConnectionId,
        id: ScimGroupId,
    ) -> Result<Option<ScimGroup>, StoreError> {
        Ok(self
            .read()
            .scim_groups
            .get(&id)
            .filter(|g| g.connection_id == connection)
            .cloned())
    }

    async fn update_scim_group(
        &self,
        group: &ScimGroup,
        expected_version: u32,
    ) -> Result<bool, StoreError> {
        let mut t = self.write();
        let current = t
            .scim_groups
            .get(&group.id)
            .filter(|g| g.connection_id == group.connection_id && g.version == expected_version);
        let Some(current) = current else {
            return Ok(false);
        };
        let updated = ScimGroup {
            id: current.id,
            connection_id: current.connection_id,
            group_id: current.group_id,
            created_at: current.created_at,
            ..group.clone()
        };
        if let Some(library) = t.groups.get_mut(&updated.group_id) {
            library.name.clone_from(&updated.display_name);
            library.updated_at = updated.updated_at;
        }
        t.scim_groups.insert(updated.id, updated);
        Ok(true)
    }

    async fn delete_scim_group(
        &self,
        connection: SsoConnectionId,
        id: ScimGroupId,
    ) -> Result<bool, StoreError> {
        let library = {
            let t = self.read();
            match t.scim_groups.get(&id) {
                Some(g) if g.connection_id == connection => g.group_id,
                _ => return Ok(false),
            }
        };
        // The library group's deletion takes its memberships and this record with it.
        auth_core::GroupStore::delete_group(self, library).await?;
        let mut t = self.write();
        t.scim_groups.remove(&id);
        Ok(true)
    }

    async fn list_scim_groups(
        &self,
        connection: SsoConnectionId,
        query: &ListQuery<GroupField>,
    ) -> Result<ScimPage<ScimGroup>, StoreError> {
        let t = self.read();
        let groups: Vec<(ScimGroup, Vec<Uuid>)> = t
            .scim_groups
            .values()
            .filter(|g| g.connection_id == connection)
            .map(|g| {
                let members = t
                    .scim_member_ids(g)
                    .into_iter()
                    .map(|u| u.id.as_uuid())
                    .collect();
                (g.clone(), members)
            })
            .collect();
        let page = page(
            groups,
            query,
            |(g, members), field| g.field(field, members),
            |(g, _)| (g.created_at, g.id.as_uuid()),
        );
        Ok(ScimPage {
            items: page.items.into_iter().map(|(g, _)| g).collect(),
            total: page.total,
        })
    }

    async fn scim_group_members(&self, group: &ScimGroup) -> Result<Vec<ScimMember>, StoreError> {
        Ok(self
            .read()
            .scim_member_ids(group)
            .into_iter()
            .map(|u| ScimMember {
                id: u.id,
                display: u.display_name.unwrap_or(u.user_name),
            })
            .collect())
    }

    async fn scim_groups_of(
        &self,
        user: &ScimUser,
    ) -> Result<Vec<(ScimGroupId, String)>, StoreError> {
        let t = self.read();
        let mut groups: Vec<(ScimGroupId, String)> = t
            .scim_groups
            .values()
            .filter(|g| {
                g.connection_id == user.connection_id
                    && t.member_by_key.contains_key(&(g.group_id, user.user_id))
            })
            .map(|g| (g.id, g.display_name.clone()))
            .collect();
        groups.sort_by_cached_key(|(id, name)| (name.to_lowercase(), id.as_uuid()));
        Ok(groups)
    }
}
