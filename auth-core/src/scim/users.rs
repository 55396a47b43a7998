//! `/Users`: a directory's people become library users and members of the connection's
//! organization.
//!
//! Creating a user takes the primary email as the account's address. No account has it:
//! a new user is created (its address verified when the organization verified the
//! domain). An account has it: it is linked only when the organization verified the
//! address's domain (the directory then speaks for it), else the request is refused as
//! `uniqueness`. `active: false` suspends the user's memberships in the organization (and
//! the groups below it) and, for an account on a verified domain, ends their sessions and
//! revokes their own API keys; `active: true` restores the memberships. The account's
//! address follows the directory only between verified domains.
//! DELETE deprovisions the same way and forgets the directory's record; with
//! [`DeprovisionMode::Hard`] it deletes the user when the account is on a verified domain
//! and belongs to no other organization.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::document::{Document, normalize, primary_value, text};
use super::error::ScimError;
use super::model::{DeprovisionMode, ScimPage, ScimUser};
use super::patch::{apply, parse_request};
use super::query::{ListParams, UserField};
use super::render::{Meta, ScimResource, if_match_admits, resource};
use super::schema::USER_TYPE;
use super::service::{Directory, Scim};
use crate::api_keys::{ApiKeyFilter, ApiKeyOrder, KeyOwner};
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::{AuthError, Conflict, StoreError};
use crate::ids::{GroupId, MemberId, ScimUserId, SsoConnectionId, UserId};
use crate::members::{
    DIRECTORY_SUSPENSION, Member, MemberFilter, MemberOrder, MemberPatch, MemberStatus,
};
use crate::pagination::{Direction, PageRequest};
use crate::store::ScimDomain;
use crate::users::{User, UserPatch};
use crate::validate::{self, Email, EmailPolicy};

/// Longest `userName`, in characters.
const MAX_USER_NAME: usize = 256;
/// Deepest organization tree searched for a user's memberships.
const MAX_DEPTH: u32 = 32;

/// A page of resources, as `ListResponse` serves it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimList {
    /// How many match in all.
    pub total: u64,
    /// The 1-based index of the first resource.
    pub start_index: usize,
    /// The page.
    pub resources: Vec<ScimResource>,
}

impl ScimList {
    /// The `ListResponse` body, with `project` applied to each resource.
    pub fn to_json(&self, project: impl Fn(&mut Value)) -> Value {
        let resources: Vec<Value> = self
            .resources
            .iter()
            .map(|r| {
                let mut body = r.body.clone();
                project(&mut body);
                body
            })
            .collect();
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": self.total,
            "startIndex": self.start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        })
    }
}

/// The fields the library keeps of a user's document.
struct UserFields {
    user_name: String,
    external_id: Option<String>,
    display_name: Option<String>,
    email: Email,
    /// `active`, when the document has it.
    active: Option<bool>,
    /// The name for the library user: `None` when it is the previous record's,
    /// `Some(name)` when it is new (checked).
    new_name: Option<Option<String>>,
}

fn invalid(error: AuthError) -> ScimError {
    ScimError::invalid_value(error.to_string())
}

/// The name a document gives the library user, as sent (cut to the longest name kept):
/// `displayName`, else `name.formatted`, else the given and family names.
fn name_of(doc: &Document) -> Option<String> {
    let name = text(doc, "displayName").map(str::to_owned).or_else(|| {
        let name = doc.get("name")?;
        name.get("formatted")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                let parts: Vec<&str> = ["givenName", "familyName"]
                    .iter()
                    .filter_map(|p| name.get(*p).and_then(Value::as_str))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
    })?;
    // Directories send long names: the library keeps the first characters.
    let name: String = name.chars().take(validate::MAX_NAME_CHARS).collect();
    (!name.trim().is_empty()).then_some(name)
}

/// The document's fields. What differs from the `previous` record (everything, for a new
/// user) is checked as the library checks its own input (`policy` for the address); what
/// the previous record holds already passes as it is, so a record stored under older
/// rules can still be changed (and deactivated).
fn user_fields(
    doc: &Document,
    policy: &EmailPolicy,
    previous: Option<&ScimUser>,
) -> Result<UserFields, ScimError> {
    let user_name = text(doc, "userName").unwrap_or_default().trim();
    let user_name = if previous.is_some_and(|p| p.user_name == user_name) {
        user_name.to_owned()
    } else {
        validate::text("userName", user_name, MAX_USER_NAME).map_err(invalid)?
    };
    let address = primary_value(doc, "emails").unwrap_or_default();
    let email = match Email::parse(address) {
        Ok(email) if previous.is_some_and(|p| p.email == email.as_str()) => email,
        _ => Email::parse_with(address, policy).map_err(|e| {
            ScimError::invalid_value(format!("the primary email is not a valid address: {e}"))
        })?,
    };
    let name = name_of(doc);
    let new_name = if previous.is_some_and(|p| name_of(&p.attributes) == name) {
        None
    } else {
        Some(
            name.map(|n| validate::name(&n))
                .transpose()
                .map_err(invalid)?,
        )
    };
    Ok(UserFields {
        user_name,
        external_id: text(doc, "externalId").map(str::to_owned),
        display_name: text(doc, "displayName").map(str::to_owned),
        email,
        active: doc.get("active").and_then(Value::as_bool),
        new_name,
    })
}

/// `extend` marked as suspended by `connection`'s directory ([`DIRECTORY_SUSPENSION`]).
pub(super) fn mark_suspended(extend: &Value, connection: SsoConnectionId) -> Value {
    let mut marked = match extend {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    marked.insert(DIRECTORY_SUSPENSION.into(), json!(connection.to_string()));
    Value::Object(marked)
}

/// Whether `connection`'s directory suspended the membership with this `extend`.
fn suspended_by(extend: &Value, connection: SsoConnectionId) -> bool {
    extend.get(DIRECTORY_SUSPENSION).and_then(Value::as_str)
        == Some(connection.to_string().as_str())
}

/// A path segment as the id of a resource; `None` for anything this server never
/// issued (a 404).
pub(super) fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

/// Refuses a change when `If-Match` names another version.
pub(super) fn check_if_match(if_match: Option<&str>, version: u32) -> Result<(), ScimError> {
    match if_match {
        Some(header) if !if_match_admits(header, version) => Err(ScimError::version_mismatch()),
        _ => Ok(()),
    }
}

impl<S: ScimDomain> Scim<'_, S> {
    /// `POST /Users`.
    pub(super) async fn create_user(
        &self,
        directory: &Directory,
        body: &Value,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let doc = normalize(&USER_TYPE, body)?;
        let fields = user_fields(&doc, &self.auth.config().email_policy, None)?;
        let active = fields.active.unwrap_or(true);
        let store = self.auth.store();
        let org = directory.config.group_id;
        let now = self.auth.now();
        let verified = self.domain_verified(org, fields.email.domain()).await?;
        let role = self.default_role(directory).await?;
        let (status, extend) = if active {
            (MemberStatus::Active, json!({}))
        } else {
            let extend = mark_suspended(&json!({}), directory.connection());
            (MemberStatus::Suspended, extend)
        };
        let membership = |user_id| Member {
            id: MemberId::new(),
            group_id: org,
            user_id,
            role: role.clone(),
            status,
            extend: extend.clone(),
            created_at: now,
            updated_at: now,
        };
        let (user_id, new_user, member) = match store.get_user_by_email(&fields.email).await? {
            Some(existing) => {
                if !verified {
                    return Err(ScimError::uniqueness(
                        "an account with this email address exists; the directory links \
                         existing accounts only on the organization's verified domains",
                    ));
                }
                if store
                    .scim_user_for(directory.connection(), existing.id)
                    .await?
                    .is_some()
                {
                    return Err(ScimError::uniqueness(
                        "the directory provisioned the account with this email address already",
                    ));
                }
                let member = match store.get_member_by_user(org, existing.id).await? {
                    Some(_) => None,
                    None => Some(membership(existing.id)),
                };
                (existing.id, None, member)
            }
            None => {
                let user = User {
                    id: UserId::new(),
                    email: fields.email.clone(),
                    email_verified: verified,
                    name: fields.new_name.clone().flatten(),
                    image: None,
                    extend: json!({}),
                    created_at: now,
                    updated_at: now,
                };
                let member = membership(user.id);
                (user.id, Some(user), Some(member))
            }
        };
        let record = ScimUser {
            id: ScimUserId::new(),
            connection_id: directory.connection(),
            user_id,
            user_name: fields.user_name,
            external_id: fields.external_id,
            display_name: fields.display_name,
            email: fields.email.as_str().to_owned(),
            active,
            attributes: doc,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        store
            .create_scim_user(&record, new_user.as_ref(), member.as_ref())
            .await
            .map_err(conflict)?;
        if new_user.is_none() {
            // A linked account: its memberships follow `active` (one a former record of
            // this directory left suspended is restored).
            if active {
                self.reactivate(directory, user_id, meta).await?;
            } else {
                self.deprovision(directory, user_id, meta).await?;
            }
        }
        self.render_user(directory, &record).await
    }

    /// `GET /Users/{id}`.
    pub(super) async fn get_user(
        &self,
        directory: &Directory,
        id: &str,
    ) -> Result<ScimResource, ScimError> {
        let record = self.load_user(directory, id).await?;
        self.render_user(directory, &record).await
    }

    /// `PUT /Users/{id}`: replaces every attribute.
    pub(super) async fn replace_user(
        &self,
        directory: &Directory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let old = self.load_user(directory, id).await?;
        check_if_match(if_match, old.version)?;
        let mut doc = normalize(&USER_TYPE, body)?;
        // A replacement that leaves `active` out does not (re)activate anyone.
        doc.entry("active").or_insert(Value::Bool(old.active));
        self.change_user(directory, old, doc, meta).await
    }

    /// `PATCH /Users/{id}`.
    pub(super) async fn patch_user(
        &self,
        directory: &Directory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let operations = parse_request(body)?;
        let old = self.load_user(directory, id).await?;
        check_if_match(if_match, old.version)?;
        let mut doc = old.attributes.clone();
        apply(&USER_TYPE, &mut doc, &operations)?;
        self.change_user(directory, old, doc, meta).await
    }

    /// `DELETE /Users/{id}`: deprovisions the user and forgets the directory's record.
    pub(super) async fn delete_user(
        &self,
        directory: &Directory,
        id: &str,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(), ScimError> {
        let old = self.load_user(directory, id).await?;
        check_if_match(if_match, old.version)?;
        self.deprovision(directory, old.user_id, meta).await?;
        let store = self.auth.store();
        if directory.config.deprovision == DeprovisionMode::Hard
            && self.speaks_for(directory, old.user_id).await?
            && !self.member_elsewhere(directory, old.user_id).await?
        {
            self.auth
                .users()
                .delete(&Caller::System, old.user_id, true, meta)
                .await?;
        }
        store
            .delete_scim_user(directory.connection(), old.id)
            .await?;
        Ok(())
    }

    /// `GET /Users` (or `POST /Users/.search`).
    pub(super) async fn list_users(
        &self,
        directory: &Directory,
        params: &ListParams,
    ) -> Result<ScimList, ScimError> {
        let query = params.resolve::<UserField>()?;
        let ScimPage { items, total } = self
            .auth
            .store()
            .list_scim_users(directory.connection(), &query)
            .await?;
        let mut resources = Vec::with_capacity(items.len());
        for record in &items {
            resources.push(self.render_user(directory, record).await?);
        }
        Ok(ScimList {
            total,
            start_index: query.offset + 1,
            resources,
        })
    }

    async fn load_user(&self, directory: &Directory, id: &str) -> Result<ScimUser, ScimError> {
        let not_found = || ScimError::not_found(format!("User {id}"));
        let id = parse_id(id).ok_or_else(not_found)?;
        self.auth
            .store()
            .get_scim_user(directory.connection(), ScimUserId::from_uuid(id))
            .await?
            .ok_or_else(not_found)
    }

    /// Stores `doc` as the user's new attributes and carries the change to the library:
    /// the address and name of the user, and their memberships when `active` changed.
    /// The record is written first, compared with its version (a 412 when it changed
    /// meanwhile), so a lost race changes nothing; when the library then refuses the
    /// user's change (an address in use), the record is put back as it was.
    async fn change_user(
        &self,
        directory: &Directory,
        old: ScimUser,
        doc: Document,
        meta: &RequestMeta,
    ) -> Result<ScimResource, ScimError> {
        let fields = user_fields(&doc, &self.auth.config().email_policy, Some(&old))?;
        let active = fields.active.unwrap_or(old.active);
        let org = directory.config.group_id;
        let mut patch = UserPatch::default();
        // The account's address follows the directory only between the organization's
        // verified domains: elsewhere the directory does not speak for either address.
        if fields.email.as_str() != old.email
            && self.speaks_for(directory, old.user_id).await?
            && self.domain_verified(org, fields.email.domain()).await?
        {
            patch.email = Some(fields.email.clone());
            patch.email_verified = Some(true);
        }
        if let Some(name) = fields.new_name {
            patch.name = Some(name);
        }
        let now = self.auth.now();
        let record = ScimUser {
            user_name: fields.user_name,
            external_id: fields.external_id,
            display_name: fields.display_name,
            email: fields.email.as_str().to_owned(),
            active,
            attributes: doc,
            version: old.version.wrapping_add(1),
            updated_at: now,
            ..old.clone()
        };
        let store = self.auth.store();
        if !store
            .update_scim_user(&record, old.version)
            .await
            .map_err(conflict)?
        {
            return Err(ScimError::version_mismatch());
        }
        if !patch.is_empty()
            && let Err(refused) = self
                .auth
                .users()
                .update(&Caller::System, old.user_id, patch, meta)
                .await
        {
            let restored = ScimUser {
                version: record.version.wrapping_add(1),
                updated_at: now,
                ..old
            };
            if let Err(error) = store.update_scim_user(&restored, record.version).await {
                tracing::error!(%error, "SCIM: a refused change's record could not be put back");
            }
            return Err(refused.into());
        }
        // Deactivation again on every change of an inactive user: it is idempotent, and
        // finishes what a failed earlier attempt left undone.
        if !record.active {
            self.deprovision(directory, old.user_id, meta).await?;
        } else if !old.active {
            self.reactivate(directory, old.user_id, meta).await?;
        }
        self.render_user(directory, &record).await
    }

    /// Suspends the user's memberships in the organization and below; when the
    /// organization speaks for the account ([`Self::speaks_for`]), also ends their sessions
    /// and revokes their own API keys (which act as the user, in any organization).
    async fn deprovision(
        &self,
        directory: &Directory,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<(), ScimError> {
        let (inside, _) = self.memberships(directory, user_id).await?;
        for member in inside
            .into_iter()
            .filter(|m| m.status == MemberStatus::Active)
        {
            let patch = MemberPatch {
                status: Some(MemberStatus::Suspended),
                extend: Some(mark_suspended(&member.extend, directory.connection())),
                ..MemberPatch::default()
            };
            self.update_membership(&member, patch, meta).await?;
        }
        if !self.speaks_for(directory, user_id).await? {
            // Sessions and the user's own keys are not the organization's to end.
            return Ok(());
        }
        self.auth
            .sessions()
            .revoke_all(&Caller::System, user_id, meta)
            .await?;
        let request = PageRequest {
            filter: ApiKeyFilter {
                owner: Some(KeyOwner::User(user_id)),
                revoked: Some(false),
                ..ApiKeyFilter::default()
            },
            order: ApiKeyOrder::default(),
            direction: Direction::Asc,
            limit: 1000,
            after: None,
        };
        let store = self.auth.store();
        let now = self.auth.now();
        let keys = request
            .fetch_all(|page| async move { store.list_api_keys(&page, now).await })
            .await?;
        for key in keys {
            self.auth
                .api_keys()
                .revoke(&Caller::System, key.id, meta)
                .await?;
        }
        Ok(())
    }

    /// Restores the memberships in the organization and below that this directory
    /// suspended (and no other).
    async fn reactivate(
        &self,
        directory: &Directory,
        user_id: UserId,
        meta: &RequestMeta,
    ) -> Result<(), ScimError> {
        let (inside, _) = self.memberships(directory, user_id).await?;
        for member in inside.into_iter().filter(|m| {
            m.status == MemberStatus::Suspended && suspended_by(&m.extend, directory.connection())
        }) {
            let mut extend = member.extend.clone();
            if let Some(map) = extend.as_object_mut() {
                map.remove(DIRECTORY_SUSPENSION);
            }
            let patch = MemberPatch {
                status: Some(MemberStatus::Active),
                extend: Some(extend),
                ..MemberPatch::default()
            };
            self.update_membership(&member, patch, meta).await?;
        }
        Ok(())
    }

    async fn update_membership(
        &self,
        member: &Member,
        patch: MemberPatch,
        meta: &RequestMeta,
    ) -> Result<(), ScimError> {
        match self
            .auth
            .members()
            .update(&Caller::System, member.group_id, member.id, patch, meta)
            .await
        {
            Ok(_) | Err(AuthError::NotFound(_)) => Ok(()),
            Err(AuthError::LastOwner) => Err(ScimError::invalid_value(
                "the user is the last owner of the organization or one of its groups; \
                 the directory cannot deactivate them",
            )),
            Err(other) => Err(other.into()),
        }
    }

    /// Whether the user belongs to a group outside the connection's organization.
    async fn member_elsewhere(
        &self,
        directory: &Directory,
        user_id: UserId,
    ) -> Result<bool, ScimError> {
        let (_, outside) = self.memberships(directory, user_id).await?;
        Ok(outside > 0)
    }

    /// The user's memberships inside the organization's tree, and how many they hold
    /// outside it.
    async fn memberships(
        &self,
        directory: &Directory,
        user_id: UserId,
    ) -> Result<(Vec<Member>, usize), ScimError> {
        let store = self.auth.store();
        let request = PageRequest {
            filter: MemberFilter {
                user_id: Some(user_id),
                ..MemberFilter::default()
            },
            order: MemberOrder::default(),
            direction: Direction::Asc,
            limit: 1000,
            after: None,
        };
        let all = request
            .fetch_all(|page| async move { store.list_members(&page).await })
            .await?;
        let org = directory.config.group_id;
        let mut inside = Vec::new();
        let mut outside = 0;
        for member in all {
            let chain = store.group_chain(member.group_id, MAX_DEPTH).await?;
            if chain.iter().any(|link| link.group.id == org) {
                inside.push(member);
            } else {
                outside += 1;
            }
        }
        Ok((inside, outside))
    }

    /// Whether the organization speaks for the library user `user_id`: it verified the
    /// domain of the account's address. Only then does the directory end the user's
    /// sessions and keys, change their address, or delete them.
    async fn speaks_for(&self, directory: &Directory, user_id: UserId) -> Result<bool, ScimError> {
        match self.auth.store().get_user(user_id).await? {
            Some(user) => {
                self.domain_verified(directory.config.group_id, user.email.domain())
                    .await
            }
            None => Ok(false),
        }
    }

    /// Whether the organization verified `domain`.
    pub(super) async fn domain_verified(
        &self,
        org: GroupId,
        domain: &str,
    ) -> Result<bool, ScimError> {
        Ok(self
            .auth
            .store()
            .find_domain(domain)
            .await?
            .iter()
            .any(|d| d.group_id == org && d.is_verified()))
    }

    /// The role of new members: the connection's default role, else the policy's.
    pub(super) async fn default_role(&self, directory: &Directory) -> Result<String, ScimError> {
        let connection = self
            .auth
            .store()
            .get_sso_connection(directory.connection())
            .await?;
        Ok(connection
            .and_then(|c| c.default_role)
            .unwrap_or_else(|| self.auth.policy().default_role().to_owned()))
    }

    async fn render_user(
        &self,
        directory: &Directory,
        record: &ScimUser,
    ) -> Result<ScimResource, ScimError> {
        let groups = self.auth.store().scim_groups_of(record).await?;
        let mut extra = Map::new();
        if !groups.is_empty() {
            let groups: Vec<Value> = groups
                .into_iter()
                .map(|(id, display)| {
                    json!({
                        "value": id.to_string(),
                        "$ref": format!("{}/Groups/{id}", directory.base_url),
                        "display": display,
                        "type": "direct",
                    })
                })
                .collect();
            extra.insert("groups".into(), Value::Array(groups));
        }
        Ok(resource(
            &record.attributes,
            &Meta {
                rt: &USER_TYPE,
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

/// A store conflict as the directory sees it.
pub(super) fn conflict(error: StoreError) -> ScimError {
    match error {
        StoreError::Conflict(Conflict::ScimUserName) => {
            ScimError::uniqueness("the directory provisioned a user with this userName already")
        }
        StoreError::Conflict(Conflict::UserEmail) => {
            ScimError::uniqueness("another account uses this email address")
        }
        // Two requests linking the same account at once: one wins.
        StoreError::Conflict(Conflict::Id | Conflict::Membership) => ScimError::uniqueness(
            "the directory provisioned the account with this email address already",
        ),
        other => other.into(),
    }
}
