use async_trait::async_trait;

use time::OffsetDateTime;

use super::model::{ScimConfig, ScimGroup, ScimMember, ScimPage, ScimSettings, ScimUser};
use super::query::{GroupField, ListQuery, UserField};
use crate::error::StoreError;
use crate::groups::Group;
use crate::ids::{ScimGroupId, ScimUserId, SsoConnectionId, UserId};
use crate::members::Member;
use crate::secret::TokenHash;
use crate::users::User;

/// Storage of SCIM provisioning: each connection's set-up and the users and groups its
/// directory provisioned. Object safe; each method is atomic on its own, across nodes.
///
/// Every read and write names the connection, and a store never returns one
/// connection's resources to another. Deleting a connection deletes its set-up, users
/// and groups records (not the library's users and groups); deleting a library user
/// deletes their records; deleting a library group deletes the record that provisioned
/// it. A provisioned group's members are the memberships of its library group held by
/// users the same connection provisioned.
///
/// Lists filter with [`FieldFilter`](super::query::FieldFilter) (its `matches` is the
/// meaning), sort by the query's field (then by creation and id; absent values first),
/// skip `offset`, return at most `count`, and count every match in `total`. SQL stores
/// answer them from indexes on `(connection, field)`.
#[async_trait]
pub trait ScimStore: Send + Sync {
    /// Inserts the connection's set-up unless it has one; `false` if it had one (left as
    /// it was). Fails with [`StoreError::MissingReference`]`(Entity::SsoConnection)` if
    /// the connection does not exist.
    async fn create_scim_config(&self, config: &ScimConfig) -> Result<bool, StoreError>;

    /// Sets the connection's `enabled` and `deprovision` (and `updated_at` to `at`),
    /// leaving its token as it is; the set-up after the change, `None` if it has none.
    async fn update_scim_settings(
        &self,
        connection: SsoConnectionId,
        settings: ScimSettings,
        at: OffsetDateTime,
    ) -> Result<Option<ScimConfig>, StoreError>;

    /// Replaces the connection's token hash by `hash` issued `at` (also `updated_at`);
    /// `false` if it has no set-up.
    async fn replace_scim_token(
        &self,
        connection: SsoConnectionId,
        hash: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// The connection's set-up.
    async fn get_scim_config(
        &self,
        connection: SsoConnectionId,
    ) -> Result<Option<ScimConfig>, StoreError>;

    /// The set-up whose bearer token hashes to `hash`.
    async fn scim_config_by_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<ScimConfig>, StoreError>;

    /// Inserts a provisioned user; with `new_user`, creates that library user first; with
    /// `member`, adds that membership; all or nothing. Refuses with
    /// [`Conflict::ScimUserName`](crate::Conflict::ScimUserName) when the connection has
    /// a user with the same `userName` (compared lowercased), [`Conflict::Id`](crate::Conflict::Id)
    /// when it has a record of `user_id` already,
    /// [`Conflict::UserEmail`](crate::Conflict::UserEmail) when `new_user`'s address is
    /// taken, and [`StoreError::MissingReference`] when the connection or `user_id` does
    /// not exist.
    async fn create_scim_user(
        &self,
        user: &ScimUser,
        new_user: Option<&User>,
        member: Option<&Member>,
    ) -> Result<(), StoreError>;

    /// The connection's user with this id.
    async fn get_scim_user(
        &self,
        connection: SsoConnectionId,
        id: ScimUserId,
    ) -> Result<Option<ScimUser>, StoreError>;

    /// The connection's record of the library user `user_id`.
    async fn scim_user_for(
        &self,
        connection: SsoConnectionId,
        user_id: UserId,
    ) -> Result<Option<ScimUser>, StoreError>;

    /// Replaces the stored user with this id and connection by `user` (every field but
    /// the ids, `user_id` and `created_at`) if its version is `expected_version`; `false`
    /// if it is not (or there is none). Refuses a taken `userName` as
    /// [`Self::create_scim_user`] does.
    async fn update_scim_user(
        &self,
        user: &ScimUser,
        expected_version: u32,
    ) -> Result<bool, StoreError>;

    /// Deletes the connection's user record (not the library user); `false` if none.
    async fn delete_scim_user(
        &self,
        connection: SsoConnectionId,
        id: ScimUserId,
    ) -> Result<bool, StoreError>;

    /// A page of the connection's users.
    async fn list_scim_users(
        &self,
        connection: SsoConnectionId,
        query: &ListQuery<UserField>,
    ) -> Result<ScimPage<ScimUser>, StoreError>;

    /// Inserts a provisioned group with its library group (a child of the connection's
    /// organization, created in the same transaction). Fails with
    /// [`StoreError::MissingReference`] when the connection or the parent group does not
    /// exist.
    async fn create_scim_group(&self, group: &ScimGroup, library: &Group)
    -> Result<(), StoreError>;

    /// The connection's group with this id.
    async fn get_scim_group(
        &self,
        connection: SsoConnectionId,
        id: ScimGroupId,
    ) -> Result<Option<ScimGroup>, StoreError>;

    /// Replaces the stored group with this id and connection by `group` (every field but
    /// the ids and `created_at`) if its version is `expected_version`, and renames its
    /// library group to `group.display_name`; `false` if the version differs or there is
    /// none.
    async fn update_scim_group(
        &self,
        group: &ScimGroup,
        expected_version: u32,
    ) -> Result<bool, StoreError>;

    /// Deletes the connection's group record and its library group (with its
    /// memberships); `false` if none.
    async fn delete_scim_group(
        &self,
        connection: SsoConnectionId,
        id: ScimGroupId,
    ) -> Result<bool, StoreError>;

    /// A page of the connection's groups.
    async fn list_scim_groups(
        &self,
        connection: SsoConnectionId,
        query: &ListQuery<GroupField>,
    ) -> Result<ScimPage<ScimGroup>, StoreError>;

    /// The group's members: the users of its connection with a membership of its library
    /// group, by SCIM user id.
    async fn scim_group_members(&self, group: &ScimGroup) -> Result<Vec<ScimMember>, StoreError>;

    /// The connection's groups `user` is a member of (id and display name), by lowercased
    /// display name, then id.
    async fn scim_groups_of(
        &self,
        user: &ScimUser,
    ) -> Result<Vec<(ScimGroupId, String)>, StoreError>;
}
