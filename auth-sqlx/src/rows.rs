//! Rows as read from either backend, and their conversion into the domain models.

use std::collections::BTreeMap;

use auth_core::accounts::{Account, PasswordHash};
use auth_core::api_keys::{ApiKey, KeyOwner, Quota, RateLimit};
use auth_core::audit::{Actor, AuditEvent};
use auth_core::groups::ChainLink;
use auth_core::invites::InviteStatus;
use auth_core::members::{MemberStatus, MembershipLink};
use auth_core::permissions::Permission;
use auth_core::secret::SealedSecret;
use auth_core::sessions::{RefreshToken, Session};
use auth_core::totp::{FactorState, TotpAlgorithm, TotpFactor, TotpParams};
use auth_core::verification::{Purpose, Verification};
use auth_core::{
    Aal, AccountId, ApiKeyId, AuditEventId, Email, Group, GroupId, Invite, InviteId, Member,
    MemberId, Provider, SessionId, SsoConnectionId, StoreError, TokenHash, User, UserId,
    VerificationId,
};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::types::Ts;

fn hash(bytes: &[u8]) -> Result<TokenHash, StoreError> {
    TokenHash::from_slice(bytes).ok_or_else(|| StoreError::corrupt("a token hash is not 32 bytes"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: Uuid,
    pub(crate) email: String,
    pub(crate) email_verified: bool,
    pub(crate) name: Option<String>,
    pub(crate) image: Option<String>,
    pub(crate) extend: Json<Value>,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId::from_uuid(r.id),
            email: Email::from_trusted(r.email),
            email_verified: r.email_verified,
            name: r.name,
            image: r.image,
            extend: r.extend.0,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    pub(crate) id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) provider: String,
    pub(crate) provider_account_id: String,
    pub(crate) password_hash: Option<String>,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        Ok(Account {
            id: AccountId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            provider: Provider::new(&r.provider)
                .map_err(|_| StoreError::corrupt("an account provider is invalid"))?,
            provider_account_id: r.provider_account_id,
            password_hash: r.password_hash.map(PasswordHash::new),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) token_hash: Vec<u8>,
    pub(crate) aal: String,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) created_at: Ts,
    pub(crate) last_seen_at: Ts,
    pub(crate) idle_expires_at: Ts,
    pub(crate) expires_at: Ts,
    pub(crate) revoked_at: Option<Ts>,
    pub(crate) sso_connection_id: Option<Uuid>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(Session {
            id: SessionId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            token_hash: hash(&r.token_hash)?,
            aal: Aal::parse(&r.aal)
                .ok_or_else(|| StoreError::corrupt("a session aal is invalid"))?,
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: r.created_at.0,
            last_seen_at: r.last_seen_at.0,
            idle_expires_at: r.idle_expires_at.0,
            expires_at: r.expires_at.0,
            revoked_at: r.revoked_at.map(|t| t.0),
            sso_connection_id: r.sso_connection_id.map(SsoConnectionId::from_uuid),
        })
    }
}

/// A session joined with its user (the columns of `users` prefixed `u_`).
#[derive(sqlx::FromRow)]
pub(crate) struct SessionUserRow {
    #[sqlx(flatten)]
    pub(crate) session: SessionRow,
    pub(crate) u_email: String,
    pub(crate) u_email_verified: bool,
    pub(crate) u_name: Option<String>,
    pub(crate) u_image: Option<String>,
    pub(crate) u_extend: Json<Value>,
    pub(crate) u_created_at: Ts,
    pub(crate) u_updated_at: Ts,
}

impl TryFrom<SessionUserRow> for (Session, User) {
    type Error = StoreError;
    fn try_from(r: SessionUserRow) -> Result<Self, StoreError> {
        let user = User::try_from(UserRow {
            id: r.session.user_id,
            email: r.u_email,
            email_verified: r.u_email_verified,
            name: r.u_name,
            image: r.u_image,
            extend: r.u_extend,
            created_at: r.u_created_at,
            updated_at: r.u_updated_at,
        })?;
        Ok((Session::try_from(r.session)?, user))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    pub(crate) token_hash: Vec<u8>,
    pub(crate) session_id: Uuid,
    pub(crate) created_at: Ts,
    pub(crate) expires_at: Ts,
    pub(crate) used_at: Option<Ts>,
}

impl TryFrom<RefreshRow> for RefreshToken {
    type Error = StoreError;
    fn try_from(r: RefreshRow) -> Result<Self, StoreError> {
        Ok(RefreshToken {
            token_hash: hash(&r.token_hash)?,
            session_id: SessionId::from_uuid(r.session_id),
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
            used_at: r.used_at.map(|t| t.0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct VerificationRow {
    pub(crate) id: Uuid,
    pub(crate) purpose: String,
    pub(crate) email: String,
    pub(crate) user_id: Option<Uuid>,
    pub(crate) code_hash: Vec<u8>,
    pub(crate) link_hash: Vec<u8>,
    pub(crate) attempts: i64,
    pub(crate) max_attempts: i64,
    pub(crate) created_at: Ts,
    pub(crate) expires_at: Ts,
    pub(crate) consumed_at: Option<Ts>,
}

impl TryFrom<VerificationRow> for Verification {
    type Error = StoreError;
    fn try_from(r: VerificationRow) -> Result<Self, StoreError> {
        let count = |n: i64| {
            u32::try_from(n).map_err(|_| StoreError::corrupt("an attempt count is out of range"))
        };
        Ok(Verification {
            id: VerificationId::from_uuid(r.id),
            purpose: Purpose::parse(&r.purpose)
                .ok_or_else(|| StoreError::corrupt("a verification purpose is invalid"))?,
            email: Email::from_trusted(r.email),
            user_id: r.user_id.map(UserId::from_uuid),
            code_hash: hash(&r.code_hash)?,
            link_hash: hash(&r.link_hash)?,
            attempts: count(r.attempts)?,
            max_attempts: count(r.max_attempts)?,
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
            consumed_at: r.consumed_at.map(|t| t.0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub(crate) id: Uuid,
    pub(crate) at: Ts,
    pub(crate) action: String,
    pub(crate) actor_type: String,
    pub(crate) actor_id: Option<Uuid>,
    pub(crate) subject: Option<String>,
    pub(crate) ok: bool,
    pub(crate) error_code: Option<String>,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) session_id: Option<Uuid>,
    pub(crate) detail: Json<Value>,
}

/// The `(actor_type, actor_id)` columns of an actor.
pub(crate) fn actor_columns(actor: &Actor) -> (&'static str, Option<Uuid>) {
    match actor {
        Actor::User { id } => ("user", Some(id.as_uuid())),
        Actor::System => ("system", None),
        Actor::ApiKey { id } => ("api_key", Some(id.as_uuid())),
        // Anonymous, and any kind this version does not know (the conformance suite's
        // audit round trip fails for a kind that is not stored).
        _ => ("anonymous", None),
    }
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let actor = match (r.actor_type.as_str(), r.actor_id) {
            ("user", Some(id)) => Actor::User {
                id: UserId::from_uuid(id),
            },
            ("system", _) => Actor::System,
            ("api_key", Some(id)) => Actor::ApiKey {
                id: ApiKeyId::from_uuid(id),
            },
            ("anonymous", _) => Actor::Anonymous,
            _ => return Err(StoreError::corrupt("an audit actor is invalid")),
        };
        Ok(AuditEvent {
            id: AuditEventId::from_uuid(r.id),
            at: r.at.0,
            action: r.action,
            actor,
            subject: r.subject,
            ok: r.ok,
            error_code: r.error_code,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            session_id: r.session_id.map(SessionId::from_uuid),
            detail: r.detail.0,
        })
    }
}

/// A group with its tags (aggregated into one JSON object by the query).
#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) slug: Option<String>,
    pub(crate) kind: String,
    pub(crate) parent_id: Option<Uuid>,
    pub(crate) tags: Json<BTreeMap<String, String>>,
    pub(crate) extend: Json<Value>,
    pub(crate) require_mfa: bool,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<GroupRow> for Group {
    type Error = StoreError;
    fn try_from(r: GroupRow) -> Result<Self, StoreError> {
        Ok(Group {
            id: GroupId::from_uuid(r.id),
            name: r.name,
            slug: r.slug,
            kind: r.kind,
            parent_id: r.parent_id.map(GroupId::from_uuid),
            tags: r.tags.0,
            extend: r.extend.0,
            require_mfa: r.require_mfa,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

fn depth(d: i64) -> Result<u32, StoreError> {
    u32::try_from(d).map_err(|_| StoreError::corrupt("a hierarchy depth is out of range"))
}

/// A row of a hierarchy walk: a group and its depth.
#[derive(sqlx::FromRow)]
pub(crate) struct ChainRow {
    #[sqlx(flatten)]
    pub(crate) group: GroupRow,
    pub(crate) depth: i64,
}

impl TryFrom<ChainRow> for ChainLink {
    type Error = StoreError;
    fn try_from(r: ChainRow) -> Result<Self, StoreError> {
        Ok(ChainLink {
            depth: depth(r.depth)?,
            group: Group::try_from(r.group)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub(crate) id: Uuid,
    pub(crate) group_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) role: String,
    pub(crate) status: String,
    pub(crate) extend: Json<Value>,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;
    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        Ok(Member {
            id: MemberId::from_uuid(r.id),
            group_id: GroupId::from_uuid(r.group_id),
            user_id: UserId::from_uuid(r.user_id),
            role: r.role,
            status: MemberStatus::parse(&r.status)
                .ok_or_else(|| StoreError::corrupt("a member status is invalid"))?,
            extend: r.extend.0,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

/// One level of a membership chain: the group, and the user's membership there (the
/// columns of `members` prefixed `m_`, all NULL when there is none).
#[derive(sqlx::FromRow)]
pub(crate) struct MembershipLinkRow {
    pub(crate) group_id: Uuid,
    pub(crate) parent_id: Option<Uuid>,
    pub(crate) require_mfa: bool,
    pub(crate) depth: i64,
    pub(crate) m_id: Option<Uuid>,
    pub(crate) m_user_id: Option<Uuid>,
    pub(crate) m_role: Option<String>,
    pub(crate) m_status: Option<String>,
    pub(crate) m_extend: Option<Json<Value>>,
    pub(crate) m_created_at: Option<Ts>,
    pub(crate) m_updated_at: Option<Ts>,
}

impl TryFrom<MembershipLinkRow> for MembershipLink {
    type Error = StoreError;
    fn try_from(r: MembershipLinkRow) -> Result<Self, StoreError> {
        let member = match (
            r.m_id,
            r.m_user_id,
            r.m_role,
            r.m_status,
            r.m_extend,
            r.m_created_at,
            r.m_updated_at,
        ) {
            (None, ..) => None,
            (Some(id), Some(user_id), Some(role), Some(status), Some(extend), Some(c), Some(u)) => {
                Some(Member::try_from(MemberRow {
                    id,
                    group_id: r.group_id,
                    user_id,
                    role,
                    status,
                    extend,
                    created_at: c,
                    updated_at: u,
                })?)
            }
            _ => return Err(StoreError::corrupt("a membership is incomplete")),
        };
        Ok(MembershipLink {
            group_id: GroupId::from_uuid(r.group_id),
            parent_id: r.parent_id.map(GroupId::from_uuid),
            depth: depth(r.depth)?,
            member,
            require_mfa: r.require_mfa,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InviteRow {
    pub(crate) id: Uuid,
    pub(crate) group_id: Option<Uuid>,
    pub(crate) email: Option<String>,
    pub(crate) role: Option<String>,
    pub(crate) status: String,
    pub(crate) token_hash: Vec<u8>,
    pub(crate) inviter_id: Option<Uuid>,
    pub(crate) expires_at: Option<Ts>,
    pub(crate) accepted_by: Option<Uuid>,
    pub(crate) accepted_at: Option<Ts>,
    pub(crate) revoked_at: Option<Ts>,
    pub(crate) extend: Json<Value>,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<InviteRow> for Invite {
    type Error = StoreError;
    fn try_from(r: InviteRow) -> Result<Self, StoreError> {
        Ok(Invite {
            id: InviteId::from_uuid(r.id),
            group_id: r.group_id.map(GroupId::from_uuid),
            email: r.email.map(Email::from_trusted),
            role: r.role,
            status: InviteStatus::parse(&r.status)
                .ok_or_else(|| StoreError::corrupt("an invite status is invalid"))?,
            token_hash: hash(&r.token_hash)?,
            inviter_id: r.inviter_id.map(UserId::from_uuid),
            expires_at: r.expires_at.map(|t| t.0),
            accepted_by: r.accepted_by.map(UserId::from_uuid),
            accepted_at: r.accepted_at.map(|t| t.0),
            revoked_at: r.revoked_at.map(|t| t.0),
            extend: r.extend.0,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

/// Converts rows into models, failing on the first invalid one.
pub(crate) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub(crate) id: Uuid,
    pub(crate) owner_user_id: Option<Uuid>,
    pub(crate) owner_group_id: Option<Uuid>,
    pub(crate) created_by: Option<Uuid>,
    pub(crate) name: String,
    pub(crate) start: String,
    pub(crate) key_hash: Vec<u8>,
    pub(crate) scopes: Json<Vec<String>>,
    pub(crate) rate_limit_max: Option<i64>,
    pub(crate) rate_limit_window_secs: Option<i64>,
    pub(crate) quota_limit: Option<i64>,
    pub(crate) quota_remaining: Option<i64>,
    pub(crate) quota_refill_secs: Option<i64>,
    pub(crate) quota_refilled_at: Option<Ts>,
    pub(crate) metadata: Json<Value>,
    pub(crate) expires_at: Option<Ts>,
    pub(crate) revoked_at: Option<Ts>,
    pub(crate) last_used_at: Option<Ts>,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

/// The owner columns of a key: `(owner_user_id, owner_group_id)`.
pub(crate) fn owner_columns(owner: KeyOwner) -> (Option<Uuid>, Option<Uuid>) {
    match owner {
        KeyOwner::User(id) => (Some(id.as_uuid()), None),
        KeyOwner::Group(id) => (None, Some(id.as_uuid())),
    }
}

/// The quota columns of a key: `(limit, remaining, refill seconds, refilled at)`.
pub(crate) fn quota_columns(
    quota: Option<&Quota>,
) -> (Option<i64>, Option<i64>, Option<i64>, Option<Ts>) {
    match quota {
        Some(q) => (
            Some(i64::try_from(q.limit).unwrap_or(i64::MAX)),
            Some(i64::try_from(q.remaining).unwrap_or(i64::MAX)),
            q.refill_every.map(|d| d.whole_seconds()),
            Some(Ts(q.refilled_at)),
        ),
        None => (None, None, None, None),
    }
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        let corrupt = |what| StoreError::corrupt(what);
        let owner = match (r.owner_user_id, r.owner_group_id) {
            (Some(user), None) => KeyOwner::User(UserId::from_uuid(user)),
            (None, Some(group)) => KeyOwner::Group(GroupId::from_uuid(group)),
            _ => return Err(corrupt("an API key must have exactly one owner")),
        };
        let scopes = r
            .scopes
            .0
            .iter()
            .map(|s| Permission::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| corrupt("an API key scope is invalid"))?;
        let rate_limit = match (r.rate_limit_max, r.rate_limit_window_secs) {
            (Some(max), Some(window)) => Some(RateLimit {
                max: u32::try_from(max).map_err(|_| corrupt("a rate limit is out of range"))?,
                window: time::Duration::seconds(window),
            }),
            (None, None) => None,
            _ => return Err(corrupt("a rate limit is half set")),
        };
        let count = |n: i64| u64::try_from(n).map_err(|_| corrupt("a quota is negative"));
        let quota = match (r.quota_limit, r.quota_remaining, r.quota_refilled_at) {
            (Some(limit), Some(remaining), Some(refilled_at)) => Some(Quota {
                limit: count(limit)?,
                remaining: count(remaining)?,
                refill_every: r.quota_refill_secs.map(time::Duration::seconds),
                refilled_at: refilled_at.0,
            }),
            (None, None, None) => None,
            _ => return Err(corrupt("a quota is half set")),
        };
        Ok(ApiKey {
            id: ApiKeyId::from_uuid(r.id),
            owner,
            created_by: r.created_by.map(UserId::from_uuid),
            name: r.name,
            start: r.start,
            key_hash: hash(&r.key_hash)?,
            scopes,
            rate_limit,
            quota,
            metadata: r.metadata.0,
            expires_at: r.expires_at.map(|t| t.0),
            revoked_at: r.revoked_at.map(|t| t.0),
            last_used_at: r.last_used_at.map(|t| t.0),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TotpRow {
    pub(crate) user_id: Uuid,
    pub(crate) format_version: i64,
    pub(crate) seed: String,
    pub(crate) algorithm: String,
    pub(crate) digits: i64,
    pub(crate) period: i64,
    pub(crate) state: String,
    pub(crate) created_at: Ts,
    pub(crate) confirmed_at: Option<Ts>,
    pub(crate) last_step: Option<i64>,
    pub(crate) last_used_at: Option<Ts>,
}

impl TryFrom<TotpRow> for TotpFactor {
    type Error = StoreError;
    fn try_from(r: TotpRow) -> Result<Self, StoreError> {
        let corrupt = |what: &'static str| StoreError::corrupt(what);
        Ok(TotpFactor {
            user_id: UserId::from_uuid(r.user_id),
            format_version: u16::try_from(r.format_version)
                .map_err(|_| corrupt("a TOTP format version is out of range"))?,
            seed: SealedSecret::from_text(&r.seed)
                .ok_or_else(|| corrupt("a TOTP seed is not a sealed secret"))?,
            params: TotpParams {
                algorithm: TotpAlgorithm::parse(&r.algorithm)
                    .ok_or_else(|| corrupt("a TOTP algorithm is unknown"))?,
                digits: u8::try_from(r.digits)
                    .map_err(|_| corrupt("TOTP digits are out of range"))?,
                period: u32::try_from(r.period)
                    .map_err(|_| corrupt("a TOTP period is out of range"))?,
            },
            state: FactorState::parse(&r.state)
                .ok_or_else(|| corrupt("a TOTP state is unknown"))?,
            created_at: r.created_at.0,
            confirmed_at: r.confirmed_at.map(|t| t.0),
            last_step: r.last_step,
            last_used_at: r.last_used_at.map(|t| t.0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CeremonyRow {
    pub(crate) kind: String,
    pub(crate) handle_hash: Vec<u8>,
    pub(crate) user_id: Option<Uuid>,
    pub(crate) payload: Json<Value>,
    pub(crate) created_at: Ts,
    pub(crate) expires_at: Ts,
}

impl TryFrom<CeremonyRow> for auth_core::Ceremony {
    type Error = StoreError;
    fn try_from(r: CeremonyRow) -> Result<Self, StoreError> {
        Ok(auth_core::Ceremony {
            handle_hash: hash(&r.handle_hash)?,
            kind: auth_core::CeremonyKind::parse(&r.kind)
                .ok_or_else(|| StoreError::corrupt("unknown ceremony kind"))?,
            user_id: r.user_id.map(UserId::from_uuid),
            payload: r.payload.0,
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PasskeyRow {
    pub(crate) id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) credential_id: Vec<u8>,
    pub(crate) credential: String,
    pub(crate) format: i32,
    pub(crate) counter: i64,
    pub(crate) backup_eligible: bool,
    pub(crate) backup_state: bool,
    pub(crate) transports: Json<Vec<String>>,
    pub(crate) aaguid: Option<Uuid>,
    pub(crate) name: String,
    pub(crate) created_at: Ts,
    pub(crate) last_used_at: Option<Ts>,
}

impl TryFrom<PasskeyRow> for auth_core::Passkey {
    type Error = StoreError;
    fn try_from(r: PasskeyRow) -> Result<Self, StoreError> {
        let corrupt = |what| StoreError::corrupt(what);
        Ok(auth_core::Passkey {
            id: auth_core::PasskeyId::from_uuid(r.id),
            user_id: UserId::from_uuid(r.user_id),
            credential_id: r.credential_id,
            credential: r.credential,
            format: u16::try_from(r.format)
                .map_err(|_| corrupt("a passkey format is out of range"))?,
            counter: u32::try_from(r.counter)
                .map_err(|_| corrupt("a passkey counter is out of range"))?,
            backup_eligible: r.backup_eligible,
            backup_state: r.backup_state,
            transports: r.transports.0,
            aaguid: r.aaguid,
            name: r.name,
            created_at: r.created_at.0,
            last_used_at: r.last_used_at.map(|t| t.0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SsoConnectionRow {
    pub(crate) id: Uuid,
    pub(crate) group_id: Uuid,
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) protocol: String,
    pub(crate) config: Json<Value>,
    pub(crate) default_role: Option<String>,
    pub(crate) role_mapping: Json<BTreeMap<String, String>>,
    pub(crate) extend: Json<Value>,
    pub(crate) format_version: i64,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<SsoConnectionRow> for auth_core::sso::SsoConnection {
    type Error = StoreError;
    fn try_from(r: SsoConnectionRow) -> Result<Self, StoreError> {
        use auth_core::sso::{ConnectionStatus, ProtocolConfig, SsoProtocol};
        let corrupt = |what: &'static str| StoreError::corrupt(what);
        let config: ProtocolConfig = serde_json::from_value(r.config.0)
            .map_err(|_| corrupt("an SSO connection's configuration is unreadable"))?;
        if SsoProtocol::parse(&r.protocol) != Some(config.protocol()) {
            return Err(corrupt(
                "an SSO connection's protocol does not match its configuration",
            ));
        }
        Ok(auth_core::sso::SsoConnection {
            id: auth_core::SsoConnectionId::from_uuid(r.id),
            group_id: GroupId::from_uuid(r.group_id),
            name: r.name,
            status: ConnectionStatus::parse(&r.status)
                .ok_or_else(|| corrupt("an SSO connection's status is unknown"))?,
            config,
            default_role: r.default_role,
            role_mapping: r.role_mapping.0,
            extend: r.extend.0,
            format_version: u16::try_from(r.format_version)
                .map_err(|_| corrupt("an SSO format version is out of range"))?,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgDomainRow {
    pub(crate) id: Uuid,
    pub(crate) group_id: Uuid,
    pub(crate) domain: String,
    pub(crate) verification_token: String,
    pub(crate) verified_at: Option<Ts>,
    pub(crate) require_sso: bool,
    pub(crate) created_at: Ts,
}

impl From<OrgDomainRow> for auth_core::sso::OrgDomain {
    fn from(r: OrgDomainRow) -> Self {
        auth_core::sso::OrgDomain {
            id: auth_core::OrgDomainId::from_uuid(r.id),
            group_id: GroupId::from_uuid(r.group_id),
            domain: r.domain,
            verification_token: r.verification_token,
            verified_at: r.verified_at.map(|t| t.0),
            require_sso: r.require_sso,
            created_at: r.created_at.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScimConfigRow {
    pub(crate) connection_id: Uuid,
    pub(crate) group_id: Uuid,
    pub(crate) enabled: bool,
    pub(crate) deprovision: String,
    pub(crate) token_hash: Vec<u8>,
    pub(crate) token_created_at: Ts,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<ScimConfigRow> for auth_core::scim::ScimConfig {
    type Error = StoreError;
    fn try_from(r: ScimConfigRow) -> Result<Self, StoreError> {
        Ok(auth_core::scim::ScimConfig {
            connection_id: SsoConnectionId::from_uuid(r.connection_id),
            group_id: GroupId::from_uuid(r.group_id),
            enabled: r.enabled,
            deprovision: auth_core::scim::DeprovisionMode::parse(&r.deprovision)
                .ok_or_else(|| StoreError::corrupt("unknown SCIM deprovision mode"))?,
            token_hash: hash(&r.token_hash)?,
            token_created_at: r.token_created_at.0,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

/// A stored SCIM document: a JSON object.
fn document(value: Value) -> Result<serde_json::Map<String, Value>, StoreError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(StoreError::corrupt(
            "a SCIM resource's attributes are not an object",
        )),
    }
}

fn version(v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::corrupt("a SCIM version is out of range"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScimUserRow {
    pub(crate) id: Uuid,
    pub(crate) connection_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) user_name: String,
    pub(crate) external_id: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) email: String,
    pub(crate) active: bool,
    pub(crate) attributes: Json<Value>,
    pub(crate) version: i64,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<ScimUserRow> for auth_core::scim::ScimUser {
    type Error = StoreError;
    fn try_from(r: ScimUserRow) -> Result<Self, StoreError> {
        Ok(auth_core::scim::ScimUser {
            id: auth_core::ScimUserId::from_uuid(r.id),
            connection_id: SsoConnectionId::from_uuid(r.connection_id),
            user_id: UserId::from_uuid(r.user_id),
            user_name: r.user_name,
            external_id: r.external_id,
            display_name: r.display_name,
            email: r.email,
            active: r.active,
            attributes: document(r.attributes.0)?,
            version: version(r.version)?,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScimGroupRow {
    pub(crate) id: Uuid,
    pub(crate) connection_id: Uuid,
    pub(crate) group_id: Uuid,
    pub(crate) display_name: String,
    pub(crate) external_id: Option<String>,
    pub(crate) attributes: Json<Value>,
    pub(crate) version: i64,
    pub(crate) created_at: Ts,
    pub(crate) updated_at: Ts,
}

impl TryFrom<ScimGroupRow> for auth_core::scim::ScimGroup {
    type Error = StoreError;
    fn try_from(r: ScimGroupRow) -> Result<Self, StoreError> {
        Ok(auth_core::scim::ScimGroup {
            id: auth_core::ScimGroupId::from_uuid(r.id),
            connection_id: SsoConnectionId::from_uuid(r.connection_id),
            group_id: GroupId::from_uuid(r.group_id),
            display_name: r.display_name,
            external_id: r.external_id,
            attributes: document(r.attributes.0)?,
            version: version(r.version)?,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}
