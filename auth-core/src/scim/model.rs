//! What a store keeps for SCIM: each connection's set-up, and the users and groups its
//! directory provisioned (their SCIM attributes, and the fields a filter can use).

use std::borrow::Cow;

use time::OffsetDateTime;

use super::document::Document;
use super::query::{FieldData, GroupField, UserField};
use crate::ids::{GroupId, ScimGroupId, ScimUserId, SsoConnectionId, UserId};
use crate::secret::TokenHash;

/// What removing a user from the directory (a DELETE, or `active: false`) does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeprovisionMode {
    /// Suspends the user's membership of the connection's organization and ends their
    /// sessions and API keys in it; a DELETE also forgets the directory's record.
    #[default]
    Soft,
    /// As `Soft`, and a DELETE deletes the user when they belong to no other
    /// organization.
    Hard,
}

impl DeprovisionMode {
    /// `soft` or `hard`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeprovisionMode::Soft => "soft",
            DeprovisionMode::Hard => "hard",
        }
    }

    /// Parses [`DeprovisionMode::as_str`] output.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "soft" => Some(DeprovisionMode::Soft),
            "hard" => Some(DeprovisionMode::Hard),
            _ => None,
        }
    }
}

/// How a connection's directory provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimSettings {
    /// Whether the directory's requests are accepted.
    pub enabled: bool,
    /// What deprovisioning does.
    pub deprovision: DeprovisionMode,
}

/// A connection's SCIM set-up: whether its directory may provision, how it deprovisions,
/// and the bearer token it presents (stored hashed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimConfig {
    /// The connection.
    pub connection_id: SsoConnectionId,
    /// The connection's organization (where users become members).
    pub group_id: GroupId,
    /// Whether requests are accepted.
    pub enabled: bool,
    /// What deprovisioning does.
    pub deprovision: DeprovisionMode,
    /// SHA-256 of the bearer token.
    pub token_hash: TokenHash,
    /// When the token was issued.
    pub token_created_at: OffsetDateTime,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

/// A user as one connection's directory provisioned them.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUser {
    /// The SCIM `id`.
    pub id: ScimUserId,
    /// The connection whose directory provisioned the user.
    pub connection_id: SsoConnectionId,
    /// The library's user.
    pub user_id: UserId,
    /// `userName`, as sent.
    pub user_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// The account's address: the primary email, normalised.
    pub email: String,
    /// `active`.
    pub active: bool,
    /// Every attribute, as stored ([`Document`]).
    pub attributes: Document,
    /// Bumped by every change (`meta.version`).
    pub version: u32,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

impl ScimUser {
    /// The value of a filterable field (folded text lowercased), as
    /// [`FieldFilter::matches`](super::query::FieldFilter::matches) reads it.
    pub fn field(&self, field: UserField) -> FieldData<'_> {
        match field {
            UserField::Id => FieldData::Id(self.id.as_uuid()),
            UserField::UserName => FieldData::Text(Cow::Owned(self.user_name.to_lowercase())),
            UserField::ExternalId => text(self.external_id.as_deref()),
            UserField::DisplayName => match &self.display_name {
                Some(name) => FieldData::Text(Cow::Owned(name.to_lowercase())),
                None => FieldData::Absent,
            },
            UserField::Email => FieldData::Text(Cow::Borrowed(&self.email)),
            UserField::Active => FieldData::Bool(self.active),
            UserField::Created => FieldData::Time(self.created_at),
            UserField::LastModified => FieldData::Time(self.updated_at),
        }
    }
}

fn text(value: Option<&str>) -> FieldData<'_> {
    value.map_or(FieldData::Absent, |v| FieldData::Text(Cow::Borrowed(v)))
}

/// A group as one connection's directory provisioned it: a child group of the
/// connection's organization. Its members are the memberships of that group held by
/// users the same directory provisioned.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroup {
    /// The SCIM `id`.
    pub id: ScimGroupId,
    /// The connection whose directory provisioned the group.
    pub connection_id: SsoConnectionId,
    /// The library's group (a child of the connection's organization).
    pub group_id: GroupId,
    /// `displayName`.
    pub display_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// Every attribute but `members`, as stored.
    pub attributes: Document,
    /// Bumped by every change, membership changes included (`meta.version`).
    pub version: u32,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

impl ScimGroup {
    /// The value of a filterable field, given the group's `members` (their SCIM user ids).
    pub fn field<'a>(&'a self, field: GroupField, members: &'a [uuid::Uuid]) -> FieldData<'a> {
        match field {
            GroupField::Id => FieldData::Id(self.id.as_uuid()),
            GroupField::DisplayName => {
                FieldData::Text(Cow::Owned(self.display_name.to_lowercase()))
            }
            GroupField::ExternalId => text(self.external_id.as_deref()),
            GroupField::Member => FieldData::Ids(members),
            GroupField::Created => FieldData::Time(self.created_at),
            GroupField::LastModified => FieldData::Time(self.updated_at),
        }
    }
}

/// A member of a provisioned group, as `members` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimMember {
    /// The member's SCIM user id.
    pub id: ScimUserId,
    /// Their `displayName`, else `userName`.
    pub display: String,
}

/// A page of a list, and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimPage<T> {
    /// The page.
    pub items: Vec<T>,
    /// How many match the filter in all (`totalResults`).
    pub total: u64,
}
