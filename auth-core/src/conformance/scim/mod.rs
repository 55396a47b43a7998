//! The SCIM domain: a connection's SCIM set-up and bearer token (issued once, rotated,
//! refused when wrong or disabled, audited), users provisioned into the connection's
//! organization (new and linked accounts, `userName` unique per connection, one
//! connection never seeing another's resources, `If-Match`), deactivation and
//! deprovisioning (memberships suspended, sessions ended, hard deletion), groups as child
//! groups with their members as memberships, and lists with filters, sorting and paging
//! answering the same on every store.

pub mod groups;
pub mod lists;
pub mod tokens;
pub mod users;

use serde_json::{Value, json};

use crate::conformance::sso::{Org, connection, oidc, org, verified_domain};
use crate::conformance::{Env, meta};
use crate::scim::{DeprovisionMode, Directory, ResourceKind, ScimResource, ScimSettings};
use crate::{ScimDomain, Secret};

/// The base URL resources are served under in the suite.
pub(crate) const BASE: &str = "https://app.example.org/scim/v2";

/// An organization `tag` with a connection whose SCIM is on (deprovisioning `mode`), its
/// domain `<tag>.example.org` verified; the directory and its token.
pub(crate) async fn directory<S: ScimDomain + Clone>(
    env: &Env<S>,
    tag: &str,
    mode: DeprovisionMode,
) -> (Org, Directory, Secret) {
    let org = org(env, tag).await;
    verified_domain(env, &org, &format!("{tag}.example.org")).await;
    let conn = connection(env, &org, "Directory", oidc()).await;
    let settings = ScimSettings {
        enabled: true,
        deprovision: mode,
    };
    let (_, token) = env
        .auth
        .scim()
        .configure(&org.admin, org.group, conn.id, settings, &meta())
        .await
        .unwrap();
    let token = token.expect("the first configuration issues the token");
    let directory = env
        .auth
        .scim()
        .authenticate(Some(token.expose()), BASE, &meta())
        .await
        .unwrap();
    (org, directory, token)
}

/// A User resource as a directory sends it.
pub(crate) fn person(user_name: &str, email: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "name": {"givenName": "Given", "familyName": user_name},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true
    })
}

/// Creates the user `name` with the address `<name>@<domain>`.
pub(crate) async fn provision<S: ScimDomain + Clone>(
    env: &Env<S>,
    directory: &Directory,
    name: &str,
    domain: &str,
) -> ScimResource {
    env.auth
        .scim()
        .create(
            ResourceKind::User,
            directory,
            &person(name, &format!("{name}@{domain}")),
            &meta(),
        )
        .await
        .unwrap()
}

/// A PatchOp body of `operations`.
pub(crate) fn patch(operations: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    })
}

/// PATCHes the user `id` with `body`, without `If-Match`.
pub(crate) async fn patch_user<S: ScimDomain + Clone>(
    env: &Env<S>,
    directory: &Directory,
    id: &str,
    body: &Value,
) -> Result<ScimResource, crate::scim::ScimError> {
    env.auth
        .scim()
        .patch(ResourceKind::User, directory, id, body, None, &meta())
        .await
}

/// The library user behind a provisioned user's resource.
pub(crate) async fn library_user<S: ScimDomain + Clone>(
    env: &Env<S>,
    directory: &Directory,
    resource: &ScimResource,
) -> Option<crate::User> {
    let id = crate::ScimUserId::from_uuid(resource.id().parse().unwrap());
    let record = env
        .store()
        .get_scim_user(directory.connection(), id)
        .await
        .unwrap()?;
    env.store().get_user(record.user_id).await.unwrap()
}
