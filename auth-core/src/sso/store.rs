use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    OrgDomain, SsoConnection, SsoConnectionFilter, SsoConnectionOrder, VerifyDomainOutcome,
};
use crate::error::StoreError;
use crate::ids::{GroupId, OrgDomainId, SsoConnectionId};
use crate::pagination::PageRequest;
use crate::secret::TokenHash;

/// Storage of SSO connections and organizations' domains. Object safe; each method is
/// atomic on its own (one transaction or one locked section), across nodes.
///
/// Deleting a group deletes its connections and domains (the domain's part of
/// [`GroupStore::delete_group`](crate::GroupStore::delete_group), for the group and every
/// group below it). A store with this domain also answers
/// [`CredentialStore::sso_required`](crate::CredentialStore::sso_required) from its
/// domains.
#[async_trait]
pub trait SsoStore: Send + Sync {
    /// Inserts a connection. Fails with [`StoreError::MissingReference`]`(Entity::Group)`
    /// if the group does not exist, [`Conflict::Id`](crate::Conflict::Id) if the id does.
    async fn create_sso_connection(&self, connection: &SsoConnection) -> Result<(), StoreError>;

    /// The connection with this id.
    async fn get_sso_connection(
        &self,
        id: SsoConnectionId,
    ) -> Result<Option<SsoConnection>, StoreError>;

    /// The connections of `request.filter.group_id` (with its status, if given), sorted by
    /// `(order key, id)`, strictly after `request.after`, at most `request.fetch_limit()`.
    async fn list_sso_connections(
        &self,
        request: &PageRequest<SsoConnectionFilter, SsoConnectionOrder>,
    ) -> Result<Vec<SsoConnection>, StoreError>;

    /// Replaces the stored connection with this id and group by `connection` (every field
    /// but `id`, `group_id` and `created_at`). `false` if there is none.
    async fn update_sso_connection(&self, connection: &SsoConnection) -> Result<bool, StoreError>;

    /// Deletes the connection with this id; `false` if there was none.
    async fn delete_sso_connection(&self, id: SsoConnectionId) -> Result<bool, StoreError>;

    /// The active connection that `domain` (normalised) routes to: the oldest active
    /// connection (by `created_at`, then id) of the organization that VERIFIED the domain.
    /// One query. `None` if the domain is not verified by anyone or its organization has no
    /// active connection.
    async fn active_sso_connection_for_domain(
        &self,
        domain: &str,
    ) -> Result<Option<SsoConnection>, StoreError>;

    /// Adds a domain (unverified, or verified when `domain.verified_at` is set). Refuses
    /// with [`Conflict::Domain`](crate::Conflict::Domain) if the group has this domain
    /// already or another group verified it (checked atomically), and with
    /// [`StoreError::MissingReference`]`(Entity::Group)` if the group does not exist.
    async fn add_domain(&self, domain: &OrgDomain) -> Result<(), StoreError>;

    /// The domain with this id.
    async fn get_domain(&self, id: OrgDomainId) -> Result<Option<OrgDomain>, StoreError>;

    /// The group's domains, by domain name.
    async fn list_domains(&self, group_id: GroupId) -> Result<Vec<OrgDomain>, StoreError>;

    /// Every group's claim on `domain` (normalised), verified first (at most one is).
    async fn find_domain(&self, domain: &str) -> Result<Vec<OrgDomain>, StoreError>;

    /// Deletes the domain with this id; `false` if there was none.
    async fn delete_domain(&self, id: OrgDomainId) -> Result<bool, StoreError>;

    /// Marks the domain verified at `at` (kept if verified already), atomically refusing
    /// ([`VerifyDomainOutcome::Taken`]) if another group verified the same domain: of two
    /// groups verifying one domain at once, on any node, exactly one wins.
    async fn mark_domain_verified(
        &self,
        id: OrgDomainId,
        at: OffsetDateTime,
    ) -> Result<VerifyDomainOutcome, StoreError>;

    /// Sets whether the domain requires SSO; the domain as changed, `None` if there is
    /// none.
    async fn set_domain_require_sso(
        &self,
        id: OrgDomainId,
        require_sso: bool,
    ) -> Result<Option<OrgDomain>, StoreError>;

    /// Revokes (at `now`) every unrevoked session of the users whose address is on
    /// `domain` (normalised; the address's part after its last `@` equals it), except the
    /// sessions created through one of `group_id`'s connections (their
    /// `sso_connection_id`); returns the revoked sessions' token hashes. One statement or
    /// locked section. What requiring SSO on a verified domain does to the sessions begun
    /// another way.
    async fn revoke_sessions_outside_sso(
        &self,
        domain: &str,
        group_id: GroupId,
        now: OffsetDateTime,
    ) -> Result<Vec<TokenHash>, StoreError>;
}
