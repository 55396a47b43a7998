//! The connection's SCIM set-up and its bearer token.

use crate::conformance::scim::{BASE, directory};
use crate::conformance::sso::{connection, oidc, org};
use crate::conformance::{Env, Harness, assert_code, meta};
use crate::scim::{DeprovisionMode, ScimConfig, ScimSettings};
use crate::{ErrorCode, ScimDomain, TokenHash};

/// The token is shown once, works, and nothing else does; wrong tokens are audited.
pub async fn the_token_is_issued_once_and_only_it_authenticates<S: ScimDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (org, directory, token) = directory(&env, "tok", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let settings = ScimSettings {
        enabled: true,
        deprovision: DeprovisionMode::Hard,
    };
    let (view, again) = scim
        .configure(
            &org.admin,
            org.group,
            directory.connection(),
            settings,
            &meta(),
        )
        .await
        .unwrap();
    assert!(again.is_none(), "the token is shown only when issued");
    assert_eq!(view.deprovision, DeprovisionMode::Hard);
    let found = scim
        .authenticate(Some(token.expose()), BASE, &meta())
        .await
        .unwrap();
    assert_eq!(found.connection(), directory.connection());
    assert_eq!(found.config.deprovision, DeprovisionMode::Hard);
    for wrong in [Some("not-the-token"), Some(""), None] {
        let refused = scim.authenticate(wrong, BASE, &meta()).await.unwrap_err();
        assert_eq!(refused.status, 401);
    }
    let trail = env.audit_trail("scim.authenticate").await;
    assert_eq!(trail.len(), 3);
    assert!(trail.iter().all(|(ok, _)| !ok));
}

/// Rotating the token ends the old one at once; disabling refuses the current one.
pub async fn rotation_ends_the_old_token_and_disabling_refuses_all<S: ScimDomain + Clone>(
    h: Harness<S>,
) {
    let env = Env::new(h.store);
    let (org, directory, old) = directory(&env, "rot", DeprovisionMode::Soft).await;
    let scim = env.auth.scim();
    let new = scim
        .rotate_token(&org.admin, org.group, directory.connection(), &meta())
        .await
        .unwrap();
    assert_ne!(new.expose(), old.expose());
    assert_eq!(
        scim.authenticate(Some(old.expose()), BASE, &meta())
            .await
            .unwrap_err()
            .status,
        401
    );
    assert!(
        scim.authenticate(Some(new.expose()), BASE, &meta())
            .await
            .is_ok()
    );
    // A set-up written by a request that read it before the rotation never brings the
    // old token back: creating over an existing set-up changes nothing, and settings
    // change without the token.
    let store = env.auth.store();
    let current = store
        .get_scim_config(directory.connection())
        .await
        .unwrap()
        .unwrap();
    let stale = ScimConfig {
        token_hash: TokenHash::of(old.expose()),
        ..current.clone()
    };
    assert!(!store.create_scim_config(&stale).await.unwrap());
    let hard = ScimSettings {
        enabled: true,
        deprovision: DeprovisionMode::Hard,
    };
    let changed = store
        .update_scim_settings(directory.connection(), hard, current.updated_at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.token_hash, current.token_hash);
    assert_eq!(changed.deprovision, DeprovisionMode::Hard);
    assert!(
        scim.authenticate(Some(new.expose()), BASE, &meta())
            .await
            .is_ok()
    );
    let off = ScimSettings {
        enabled: false,
        deprovision: DeprovisionMode::Soft,
    };
    scim.configure(&org.admin, org.group, directory.connection(), off, &meta())
        .await
        .unwrap();
    assert_eq!(
        scim.authenticate(Some(new.expose()), BASE, &meta())
            .await
            .unwrap_err()
            .status,
        401
    );
    assert_eq!(env.audit_trail("scim.token.rotate").await, [(true, None)]);
}

/// Only the organization's admins set SCIM up, and only for its own connections.
pub async fn only_the_organizations_admins_set_scim_up<S: ScimDomain + Clone>(h: Harness<S>) {
    let env = Env::new(h.store);
    let org = org(&env, "adm").await;
    let other = org_with_connection(&env).await;
    let conn = connection(&env, &org, "IdP", oidc()).await;
    let scim = env.auth.scim();
    let settings = ScimSettings {
        enabled: true,
        deprovision: DeprovisionMode::Soft,
    };
    assert_code(
        scim.configure(&org.member, org.group, conn.id, settings, &meta())
            .await,
        ErrorCode::Forbidden,
    );
    assert_code(
        scim.configure(&org.outsider, org.group, conn.id, settings, &meta())
            .await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert_code(
        scim.configure(&org.admin, org.group, other, settings, &meta())
            .await,
        ErrorCode::SsoConnectionNotFound,
    );
    assert!(
        scim.get_config(&org.admin, org.group, conn.id)
            .await
            .unwrap()
            .is_none()
    );
    let failures = env.audit_failures(&["scim.configure"]).await;
    assert_eq!(failures.len(), 3);
}

/// Another organization's connection.
async fn org_with_connection<S: ScimDomain + Clone>(env: &Env<S>) -> crate::SsoConnectionId {
    let other = org(env, "adm2").await;
    connection(env, &other, "IdP", oidc()).await.id
}
