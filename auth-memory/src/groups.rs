use std::collections::HashSet;

use async_trait::async_trait;
use auth_core::api_keys::KeyOwner;
use auth_core::groups::{
    ChainLink, Group, GroupFilter, GroupOrder, GroupPatch, UpdateGroupOutcome,
};
use auth_core::members::Member;
use auth_core::pagination::PageRequest;
use auth_core::{Conflict, Entity, GroupId, GroupStore, StoreError};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::tables::Tables;

/// How far a move's cycle check walks up from the new parent.
const MOVE_CHECK_DEPTH: u32 = 1024;

impl Tables {
    /// The chain from `id` up through parents, at most `max_depth + 1` rows; repeats on a
    /// cycle, like the SQL stores' recursive query.
    pub(crate) fn chain(&self, id: GroupId, max_depth: u32) -> Vec<&Group> {
        let mut out = Vec::new();
        let mut next = self.groups.get(&id);
        while let Some(group) = next {
            out.push(group);
            if out.len() > max_depth as usize {
                break;
            }
            next = group.parent_id.and_then(|p| self.groups.get(&p));
        }
        out
    }

    /// The group and everything below it, level by level (rows repeat on a cycle).
    fn subtree(&self, id: GroupId, max_depth: u32, limit: u32) -> Vec<ChainLink> {
        let Some(root) = self.groups.get(&id) else {
            return Vec::new();
        };
        let mut out = vec![ChainLink {
            group: root.clone(),
            depth: 0,
        }];
        let mut level = vec![id];
        for depth in 1..=max_depth {
            let mut children: Vec<&Group> = self
                .groups
                .values()
                .filter(|g| g.parent_id.is_some_and(|p| level.contains(&p)))
                .collect();
            if children.is_empty() {
                break;
            }
            children.sort_by_key(|g| g.id);
            level = children.iter().map(|g| g.id).collect();
            for child in children {
                if out.len() >= limit as usize {
                    return out;
                }
                out.push(ChainLink {
                    group: child.clone(),
                    depth,
                });
            }
        }
        out
    }
}

#[async_trait]
impl GroupStore for MemoryStore {
    async fn create_group(&self, group: &Group, owner: Option<&Member>) -> Result<(), StoreError> {
        let mut t = self.write();
        if group.parent_id.is_some_and(|p| !t.groups.contains_key(&p)) {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if owner.is_some_and(|m| !t.users.contains_key(&m.user_id)) {
            return Err(StoreError::MissingReference(Entity::User));
        }
        if let Some(slug) = &group.slug
            && t.group_by_slug.contains_key(slug)
        {
            return Err(StoreError::Conflict(Conflict::GroupSlug));
        }
        if t.groups.contains_key(&group.id) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        if let Some(slug) = &group.slug {
            t.group_by_slug.insert(slug.clone(), group.id);
        }
        t.groups.insert(group.id, group.clone());
        if let Some(owner) = owner {
            t.insert_member(owner.clone());
        }
        Ok(())
    }

    async fn get_group(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        Ok(self.read().groups.get(&id).cloned())
    }

    async fn get_group_by_slug(&self, slug: &str) -> Result<Option<Group>, StoreError> {
        let t = self.read();
        Ok(t.group_by_slug
            .get(slug)
            .and_then(|id| t.groups.get(id))
            .cloned())
    }

    async fn get_groups(&self, ids: &[GroupId]) -> Result<Vec<Group>, StoreError> {
        let t = self.read();
        Ok(ids
            .iter()
            .filter_map(|id| t.groups.get(id).cloned())
            .collect())
    }

    async fn list_groups(
        &self,
        request: &PageRequest<GroupFilter, GroupOrder>,
    ) -> Result<Vec<Group>, StoreError> {
        let t = self.read();
        Ok(request.select(
            t.groups
                .values()
                .filter(|g| request.filter.matches(g))
                .cloned(),
        ))
    }

    async fn update_group(
        &self,
        id: GroupId,
        patch: &GroupPatch,
        now: OffsetDateTime,
    ) -> Result<UpdateGroupOutcome, StoreError> {
        let mut t = self.write();
        let Some(current) = t.groups.get(&id) else {
            return Ok(UpdateGroupOutcome::NotFound);
        };
        let mut updated = current.clone();
        patch.apply(&mut updated, now);
        if let Some(Some(parent)) = patch.parent_id {
            if !t.groups.contains_key(&parent) {
                return Err(StoreError::MissingReference(Entity::Group));
            }
            if t.chain(parent, MOVE_CHECK_DEPTH).iter().any(|g| g.id == id) {
                return Ok(UpdateGroupOutcome::WouldCycle);
            }
        }
        let old_slug = t.groups.get(&id).and_then(|g| g.slug.clone());
        if updated.slug != old_slug {
            if let Some(slug) = &updated.slug
                && t.group_by_slug.contains_key(slug)
            {
                return Err(StoreError::Conflict(Conflict::GroupSlug));
            }
            if let Some(old) = old_slug {
                t.group_by_slug.remove(&old);
            }
            if let Some(slug) = &updated.slug {
                t.group_by_slug.insert(slug.clone(), id);
            }
        }
        t.groups.insert(id, updated.clone());
        Ok(UpdateGroupOutcome::Updated(updated))
    }

    async fn delete_group(&self, id: GroupId) -> Result<Option<u64>, StoreError> {
        let mut t = self.write();
        if !t.groups.contains_key(&id) {
            return Ok(None);
        }
        // Everything below, each group once (a planted cycle does not loop).
        let mut doomed = HashSet::from([id]);
        let mut frontier = vec![id];
        while !frontier.is_empty() {
            frontier = t
                .groups
                .values()
                .filter(|g| g.parent_id.is_some_and(|p| frontier.contains(&p)))
                .map(|g| g.id)
                .filter(|gid| doomed.insert(*gid))
                .collect();
        }
        for gid in &doomed {
            if let Some(group) = t.groups.remove(gid)
                && let Some(slug) = group.slug
            {
                t.group_by_slug.remove(&slug);
            }
        }
        let members: Vec<_> = t
            .members
            .values()
            .filter(|m| doomed.contains(&m.group_id))
            .map(|m| m.id)
            .collect();
        for member in members {
            t.remove_member(member);
        }
        let invites: Vec<_> = t
            .invites
            .values()
            .filter(|i| i.group_id.is_some_and(|g| doomed.contains(&g)))
            .map(|i| (i.id, i.token_hash))
            .collect();
        for (invite, hash) in invites {
            t.invites.remove(&invite);
            t.invite_by_token.remove(&hash);
        }
        t.remove_api_keys(|k| matches!(k.owner, KeyOwner::Group(g) if doomed.contains(&g)));
        t.sso_connections
            .retain(|_, c| !doomed.contains(&c.group_id));
        t.domains.retain(|_, d| !doomed.contains(&d.group_id));
        t.forget_scim_orphans();
        Ok(Some(doomed.len() as u64))
    }

    async fn group_chain(&self, id: GroupId, max_depth: u32) -> Result<Vec<ChainLink>, StoreError> {
        let t = self.read();
        Ok(t.chain(id, max_depth)
            .into_iter()
            .zip(0u32..)
            .map(|(group, depth)| ChainLink {
                group: group.clone(),
                depth,
            })
            .collect())
    }

    async fn group_subtree(
        &self,
        id: GroupId,
        max_depth: u32,
        limit: u32,
    ) -> Result<Vec<ChainLink>, StoreError> {
        Ok(self.read().subtree(id, max_depth, limit))
    }
}
