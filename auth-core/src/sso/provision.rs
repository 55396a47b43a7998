//! Matching an external identity to a user: the account of the identity, else an existing
//! user by email when linking is safe, else a new user. Shared by enterprise connections
//! and social providers; what may link and what may be created is the caller's to say.

// Used by the protocol flows (features `oidc`, `saml`) and the conformance suite; a
// build with none of them keeps the SSO set-up only.
#![cfg_attr(
    not(any(feature = "oidc", feature = "saml", feature = "conformance")),
    allow(dead_code)
)]

use super::ExternalIdentity;
use crate::accounts::{Account, Provider};
use crate::auth::Auth;
use crate::caller::Caller;
use crate::context::RequestMeta;
use crate::error::AuthError;
use crate::ids::AccountId;
use crate::store::CoreStore;
use crate::users::{NewUser, User, UserPatch};
use crate::validate::{self, Email};

/// Longest subject (provider account id) accepted, as for linked accounts.
const MAX_SUBJECT: usize = 255;

/// How often a sign-in retries after losing a race with another sign-in of the same
/// person (the second attempt finds what the first created).
const ATTEMPTS: usize = 3;

/// When an external sign-in may be linked to an existing user with the same address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkPolicy {
    /// Link only when the provider vouches for the address (`email_verified`) AND the
    /// existing user's own address is verified; refuse (`SSO_LINK_REFUSED`) otherwise.
    /// Never link by an unverified claim.
    #[default]
    VerifiedEmail,
    /// Never link: an existing user with the address refuses the sign-in
    /// (`SSO_LINK_REFUSED`); they sign in their usual way and link from there.
    Never,
}

/// How the person signing in was matched to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProvisionOutcome {
    /// The identity was linked to this user already.
    Existing,
    /// The identity was linked now to an existing user with the same verified address.
    Linked,
    /// A new user was created (just-in-time provisioning).
    Created,
}

impl ProvisionOutcome {
    /// `existing`, `linked` or `created` (audit details).
    pub const fn as_str(self) -> &'static str {
        match self {
            ProvisionOutcome::Existing => "existing",
            ProvisionOutcome::Linked => "linked",
            ProvisionOutcome::Created => "created",
        }
    }
}

/// An identity a provider vouched for, as the matching needs it.
pub(crate) struct Claimant<'a> {
    /// The account's provider (`sso:<connection>`, `oidc:<issuer>`).
    pub(crate) provider: Provider,
    /// The subject at the provider.
    pub(crate) subject: &'a str,
    /// The address (normalised).
    pub(crate) email: &'a Email,
    /// Whether the provider vouches for the address.
    pub(crate) email_verified: bool,
    /// The name to keep on the user (invalid names from the provider are dropped).
    pub(crate) name: Option<String>,
    /// When linking to an existing user is allowed.
    pub(crate) link: LinkPolicy,
    /// Whether creating a user needs a vouched-for address.
    pub(crate) create_needs_verified_email: bool,
}

impl<'a> Claimant<'a> {
    /// The claimant `identity` makes at `provider` with its (parsed) `email`, linking as
    /// `link` says; creating a user does not need a vouched-for address (set
    /// `create_needs_verified_email` where it does).
    pub(crate) fn of(
        identity: &'a ExternalIdentity,
        provider: Provider,
        email: &'a Email,
        link: LinkPolicy,
    ) -> Self {
        Self {
            provider,
            subject: &identity.subject,
            email,
            email_verified: identity.email_verified,
            name: display_name(
                identity.name.as_deref(),
                identity.given_name.as_deref(),
                identity.family_name.as_deref(),
            ),
            link,
            create_needs_verified_email: false,
        }
    }
}

/// The identity's address, normalised; `None` when it sent none or a malformed one.
pub(crate) fn email_of(identity: &ExternalIdentity) -> Option<Email> {
    identity.email.as_deref().and_then(|e| Email::parse(e).ok())
}

/// Checks a provider's subject: 1 to 255 characters, no control characters, no
/// surrounding whitespace (it is an account key and compared exactly).
pub(crate) fn check_subject(subject: &str) -> Result<(), AuthError> {
    let ok = !subject.is_empty()
        && subject.len() <= MAX_SUBJECT
        && subject.trim() == subject
        && !subject.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(AuthError::invalid(
            "subject",
            "must be 1 to 255 characters without control characters",
        ))
    }
}

/// The name to keep from a provider's full name, or its given and family names: `None`
/// when it sends none or one the user model would refuse.
pub(crate) fn display_name(
    name: Option<&str>,
    given: Option<&str>,
    family: Option<&str>,
) -> Option<String> {
    let joined;
    let name = match (name, given, family) {
        (Some(name), _, _) => name,
        (None, Some(g), Some(f)) => {
            joined = format!("{g} {f}");
            &joined
        }
        (None, Some(one), None) | (None, None, Some(one)) => one,
        (None, None, None) => return None,
    };
    validate::name(name).ok()
}

impl<S: CoreStore> Auth<S> {
    /// The user `claimant` signs in as: the one its account belongs to (with its name
    /// brought up to date), else the user with its address when `claimant.link` allows
    /// (`SSO_LINK_REFUSED` otherwise), else a new user (`SSO_EMAIL_NOT_VERIFIED` when one
    /// needs a vouched-for address). Two sign-ins of one new person at once make one user:
    /// the store refuses the second insert, and the retry finds the first's account.
    pub(crate) async fn match_external(
        &self,
        claimant: &Claimant<'_>,
        meta: &RequestMeta,
    ) -> Result<(User, ProvisionOutcome), AuthError> {
        check_subject(claimant.subject)?;
        let mut raced = None;
        for _ in 0..ATTEMPTS {
            match self.match_once(claimant, meta).await {
                Err(
                    error @ (AuthError::EmailInUse
                    | AuthError::AccountAlreadyLinked
                    | AuthError::NotFound(_)),
                ) => raced = Some(error),
                other => return other,
            }
        }
        Err(raced.unwrap_or(AuthError::SsoLinkRefused))
    }

    async fn match_once(
        &self,
        claimant: &Claimant<'_>,
        meta: &RequestMeta,
    ) -> Result<(User, ProvisionOutcome), AuthError> {
        let store = self.store();
        if let Some(account) = store
            .get_account(&claimant.provider, claimant.subject)
            .await?
        {
            let user = store
                .get_user(account.user_id)
                .await?
                .ok_or(AuthError::NotFound(crate::error::Entity::User))?;
            let user = self.refresh_name(user, claimant, meta).await?;
            return Ok((user, ProvisionOutcome::Existing));
        }
        if let Some(user) = store.get_user_by_email(claimant.email).await? {
            let safe = claimant.link == LinkPolicy::VerifiedEmail
                && claimant.email_verified
                && user.email_verified;
            if !safe {
                // The same person's first sign-in on another node may have made this user
                // (with the account, in one write) between the two reads: try again.
                if store
                    .get_account(&claimant.provider, claimant.subject)
                    .await?
                    .is_some()
                {
                    return Err(AuthError::AccountAlreadyLinked);
                }
                return Err(AuthError::SsoLinkRefused);
            }
            self.accounts()
                .link(
                    &Caller::System,
                    user.id,
                    claimant.provider.clone(),
                    claimant.subject,
                    meta,
                )
                .await?;
            let user = self.refresh_name(user, claimant, meta).await?;
            return Ok((user, ProvisionOutcome::Linked));
        }
        if claimant.create_needs_verified_email && !claimant.email_verified {
            return Err(AuthError::SsoEmailNotVerified);
        }
        let users = self.users();
        let user = users.build(NewUser {
            email: claimant.email.as_str().to_owned(),
            name: claimant.name.clone(),
            image: None,
            extend: None,
            email_verified: claimant.email_verified,
        })?;
        let account = Account {
            id: AccountId::new(),
            user_id: user.id,
            provider: claimant.provider.clone(),
            provider_account_id: claimant.subject.to_owned(),
            password_hash: None,
            created_at: user.created_at,
            updated_at: user.created_at,
        };
        let user = users
            .insert(&Caller::System, user, &[account], meta)
            .await?;
        Ok((user, ProvisionOutcome::Created))
    }

    /// Keeps the provider's name on the user when it sent one and it changed.
    async fn refresh_name(
        &self,
        user: User,
        claimant: &Claimant<'_>,
        meta: &RequestMeta,
    ) -> Result<User, AuthError> {
        match &claimant.name {
            Some(name) if user.name.as_ref() != Some(name) => {
                let patch = UserPatch {
                    name: Some(Some(name.clone())),
                    ..UserPatch::default()
                };
                self.users()
                    .update(&Caller::System, user.id, patch, meta)
                    .await
            }
            _ => Ok(user),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_come_from_the_full_name_or_its_parts() {
        assert_eq!(
            display_name(Some("Ada L"), Some("x"), None).as_deref(),
            Some("Ada L")
        );
        assert_eq!(
            display_name(None, Some("Ada"), Some("Lovelace")).as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(
            display_name(None, None, Some("Lovelace")).as_deref(),
            Some("Lovelace")
        );
        assert_eq!(display_name(None, None, None), None);
        assert_eq!(display_name(Some("   "), None, None), None);
    }

    #[test]
    fn subjects_are_exact_keys() {
        assert!(check_subject("248289761001").is_ok());
        for bad in ["", " x", "x ", "a\u{0}b", &"s".repeat(256)] {
            assert!(check_subject(bad).is_err(), "{bad:?}");
        }
    }
}
