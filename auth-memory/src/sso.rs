use async_trait::async_trait;
use auth_core::pagination::PageRequest;
use auth_core::sso::{
    OrgDomain, SsoConnection, SsoConnectionFilter, SsoConnectionOrder, SsoStore,
    VerifyDomainOutcome,
};
use auth_core::{
    Conflict, Entity, GroupId, OrgDomainId, SessionId, SsoConnectionId, StoreError, TokenHash,
    UserId,
};
use time::OffsetDateTime;

use crate::MemoryStore;

#[async_trait]
impl SsoStore for MemoryStore {
    async fn create_sso_connection(&self, connection: &SsoConnection) -> Result<(), StoreError> {
        let mut t = self.write();
        if !t.groups.contains_key(&connection.group_id) {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if t.sso_connections.contains_key(&connection.id) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        t.sso_connections.insert(connection.id, connection.clone());
        Ok(())
    }

    async fn get_sso_connection(
        &self,
        id: SsoConnectionId,
    ) -> Result<Option<SsoConnection>, StoreError> {
        Ok(self.read().sso_connections.get(&id).cloned())
    }

    async fn list_sso_connections(
        &self,
        request: &PageRequest<SsoConnectionFilter, SsoConnectionOrder>,
    ) -> Result<Vec<SsoConnection>, StoreError> {
        let t = self.read();
        let f = &request.filter;
        Ok(request.select(
            t.sso_connections
                .values()
                .filter(|c| c.group_id == f.group_id && f.status.is_none_or(|s| c.status == s))
                .cloned(),
        ))
    }

    async fn update_sso_connection(&self, connection: &SsoConnection) -> Result<bool, StoreError> {
        let mut t = self.write();
        let Some(stored) = t
            .sso_connections
            .get_mut(&connection.id)
            .filter(|c| c.group_id == connection.group_id)
        else {
            return Ok(false);
        };
        *stored = SsoConnection {
            created_at: stored.created_at,
            ..connection.clone()
        };
        Ok(true)
    }

    async fn delete_sso_connection(&self, id: SsoConnectionId) -> Result<bool, StoreError> {
        let mut t = self.write();
        let removed = t.sso_connections.remove(&id).is_some();
        t.forget_scim_orphans();
        Ok(removed)
    }

    async fn active_sso_connection_for_domain(
        &self,
        domain: &str,
    ) -> Result<Option<SsoConnection>, StoreError> {
        let t = self.read();
        let Some(group_id) = t
            .domains
            .values()
            .find(|d| d.domain == domain && d.is_verified())
            .map(|d| d.group_id)
        else {
            return Ok(None);
        };
        Ok(t.sso_connections
            .values()
            .filter(|c| c.group_id == group_id && c.is_active())
            .min_by_key(|c| (c.created_at, c.id))
            .cloned())
    }

    async fn add_domain(&self, domain: &OrgDomain) -> Result<(), StoreError> {
        let mut t = self.write();
        if !t.groups.contains_key(&domain.group_id) {
            return Err(StoreError::MissingReference(Entity::Group));
        }
        if t.domains.contains_key(&domain.id) {
            return Err(StoreError::Conflict(Conflict::Id));
        }
        let taken = t.domains.values().any(|d| {
            d.domain == domain.domain
                && (d.group_id == domain.group_id || d.is_verified() || domain.is_verified())
        });
        if taken {
            return Err(StoreError::Conflict(Conflict::Domain));
        }
        t.domains.insert(domain.id, domain.clone());
        Ok(())
    }

    async fn get_domain(&self, id: OrgDomainId) -> Result<Option<OrgDomain>, StoreError> {
        Ok(self.read().domains.get(&id).cloned())
    }

    async fn list_domains(&self, group_id: GroupId) -> Result<Vec<OrgDomain>, StoreError> {
        let t = self.read();
        let mut domains: Vec<OrgDomain> = t
            .domains
            .values()
            .filter(|d| d.group_id == group_id)
            .cloned()
            .collect();
        domains.sort_by(|a, b| a.domain.cmp(&b.domain));
        Ok(domains)
    }

    async fn find_domain(&self, domain: &str) -> Result<Vec<OrgDomain>, StoreError> {
        let t = self.read();
        let mut claims: Vec<OrgDomain> = t
            .domains
            .values()
            .filter(|d| d.domain == domain)
            .cloned()
            .collect();
        claims.sort_by_key(|d| (!d.is_verified(), d.created_at, d.id));
        Ok(claims)
    }

    async fn delete_domain(&self, id: OrgDomainId) -> Result<bool, StoreError> {
        Ok(self.write().domains.remove(&id).is_some())
    }

    async fn mark_domain_verified(
        &self,
        id: OrgDomainId,
        at: OffsetDateTime,
    ) -> Result<VerifyDomainOutcome, StoreError> {
        let mut t = self.write();
        let Some(domain) = t.domains.get(&id).cloned() else {
            return Ok(VerifyDomainOutcome::NotFound);
        };
        if domain.is_verified() {
            return Ok(VerifyDomainOutcome::Verified(domain));
        }
        let taken = t
            .domains
            .values()
            .any(|d| d.id != id && d.domain == domain.domain && d.is_verified());
        if taken {
            return Ok(VerifyDomainOutcome::Taken);
        }
        let verified = OrgDomain {
            verified_at: Some(at),
            ..domain
        };
        t.domains.insert(id, verified.clone());
        Ok(VerifyDomainOutcome::Verified(verified))
    }

    async fn set_domain_require_sso(
        &self,
        id: OrgDomainId,
        require_sso: bool,
    ) -> Result<Option<OrgDomain>, StoreError> {
        let mut t = self.write();
        Ok(t.domains.get_mut(&id).map(|d| {
            d.require_sso = require_sso;
            d.clone()
        }))
    }

    async fn revoke_sessions_outside_sso(
        &self,
        domain: &str,
        group_id: GroupId,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError> {
        let mut t = self.write();
        let t = &mut *t;
        let on_domain = |user: UserId| {
            t.users
                .get(&user)
                .is_some_and(|u| u.email.domain() == domain)
        };
        let ours = |c: Option<SsoConnectionId>| {
            c.and_then(|id| t.sso_connections.get(&id))
                .is_some_and(|c| c.group_id == group_id)
        };
        let ended: Vec<SessionId> = t
            .sessions
            .values()
            .filter(|s| {
                s.revoked_at.is_none() && on_domain(s.user_id) && !ours(s.sso_connection_id)
            })
            .map(|s| s.id)
            .collect();
        let mut hashes = Vec::with_capacity(ended.len());
        for id in ended {
            if let Some(session) = t.sessions.get_mut(&id) {
                session.revoked_at = Some(now);
                hashes.push(session.token_hash);
            }
        }
        Ok(hashes)
    }
}
