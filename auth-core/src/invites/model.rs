use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{GroupId, InviteId, MemberId, UserId};
use crate::members::Member;
use crate::pagination::{SortField, SortValue, Sortable};
use crate::secret::TokenHash;
use crate::validate::Email;

/// Where an invite stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum InviteStatus {
    /// Waiting to be accepted.
    Pending,
    /// Accepted.
    Accepted,
    /// Revoked by someone allowed to.
    Revoked,
    /// Past its expiry while pending.
    Expired,
}

impl InviteStatus {
    /// Stable text, for a store column.
    pub const fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Pending => "pending",
            InviteStatus::Accepted => "accepted",
            InviteStatus::Revoked => "revoked",
            InviteStatus::Expired => "expired",
        }
    }

    /// Parses [`InviteStatus::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(InviteStatus::Pending),
            "accepted" => Some(InviteStatus::Accepted),
            "revoked" => Some(InviteStatus::Revoked),
            "expired" => Some(InviteStatus::Expired),
            _ => None,
        }
    }
}

/// An invitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    /// The invite's id.
    pub id: InviteId,
    /// The group it invites into, if any.
    pub group_id: Option<GroupId>,
    /// The only address that may accept it, if bound.
    pub email: Option<Email>,
    /// The role granted on acceptance (the policy's default role when absent).
    pub role: Option<String>,
    /// Status as stored; read [`Invite::status_at`] for the effective one.
    pub status: InviteStatus,
    /// SHA-256 of the token.
    #[serde(skip_serializing)]
    pub token_hash: TokenHash,
    /// Who sent it.
    pub inviter_id: Option<UserId>,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Who accepted it.
    pub accepted_by: Option<UserId>,
    /// When it was accepted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    /// When it was revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// App-defined data.
    pub extend: Value,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Invite {
    /// The status at `now`: a pending invite past its expiry is expired (lazily; the store
    /// records it when it next writes the invite).
    pub fn status_at(&self, now: OffsetDateTime) -> InviteStatus {
        match self.status {
            InviteStatus::Pending if self.expires_at.is_some_and(|e| now >= e) => {
                InviteStatus::Expired
            }
            other => other,
        }
    }
}

/// Input of [`Invites::create`](super::Invites::create).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewInvite {
    /// Invite into this group.
    #[serde(default)]
    pub group_id: Option<GroupId>,
    /// Only this address may accept.
    #[serde(default)]
    pub email: Option<String>,
    /// Role granted on acceptance.
    #[serde(default)]
    pub role: Option<String>,
    /// When it stops working.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// App-defined data.
    #[serde(default)]
    pub extend: Option<Value>,
}

/// Which invites to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteFilter {
    /// Into this group.
    pub group_id: Option<GroupId>,
    /// With this effective status (expiry applied at the time of listing).
    pub status: Option<InviteStatus>,
    /// Bound to this address.
    pub email: Option<Email>,
    /// Sent by this user.
    pub inviter_id: Option<UserId>,
    /// Granting this role.
    pub role: Option<String>,
}

impl InviteFilter {
    /// Whether `invite` passes the filter at `now` (for stores that filter in memory).
    pub fn matches(&self, invite: &Invite, now: OffsetDateTime) -> bool {
        self.group_id.is_none_or(|g| invite.group_id == Some(g))
            && self.status.is_none_or(|s| invite.status_at(now) == s)
            && self
                .email
                .as_ref()
                .is_none_or(|e| invite.email.as_ref() == Some(e))
            && self.inviter_id.is_none_or(|u| invite.inviter_id == Some(u))
            && self
                .role
                .as_ref()
                .is_none_or(|r| invite.role.as_ref() == Some(r))
    }
}

/// Order of invite listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteOrder {
    /// By creation time.
    #[default]
    CreatedAt,
}

impl SortField for InviteOrder {
    fn name(self) -> &'static str {
        "created_at"
    }
    fn is_time(self) -> bool {
        true
    }
}

impl Sortable<InviteOrder> for Invite {
    fn sort_key(&self, _: InviteOrder) -> SortValue {
        SortValue::Time(self.created_at)
    }
    fn sort_id(&self) -> Uuid {
        self.id.as_uuid()
    }
}

/// The result of revoking an invite.
// Returned once per call, never stored in bulk: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InviteChange {
    /// Done; the invite as it is now.
    Done(Invite),
    /// No such invite.
    NotFound,
    /// The invite is not pending (its effective status).
    NotPending(InviteStatus),
}

/// Everything [`InviteStore::accept_invite`](super::InviteStore::accept_invite) needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    /// SHA-256 of the presented token.
    pub token_hash: TokenHash,
    /// The accepting user.
    pub user_id: UserId,
    /// Their address.
    pub user_email: Email,
    /// Whether they verified it.
    pub email_verified: bool,
    /// The id the new membership gets.
    pub member_id: MemberId,
    /// The role when the invite names none.
    pub default_role: String,
    /// The time of acceptance.
    pub now: OffsetDateTime,
}

/// The result of accepting an invite.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AcceptOutcome {
    /// Accepted; the membership was added when the invite has a group.
    Accepted {
        /// The invite, now accepted.
        invite: Invite,
        /// The new membership.
        member: Option<Member>,
    },
    /// No invite with that token.
    NotFound,
    /// Accepted or revoked already.
    NotPending(InviteStatus),
    /// Past its expiry.
    Expired,
    /// Bound to another address, or the user's address is not verified.
    EmailMismatch,
    /// The user is a member of the group already (the invite stays pending).
    AlreadyMember,
}
