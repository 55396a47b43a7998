//! Permissions: `resource:action` strings with `*` wildcards, sets of them, and the app's
//! [`Policy`] that maps roles to permissions.
//!
//! The same [`Permission`] grammar serves member roles here and API-key scopes later:
//! `resource` and `action` are 1 to 64 characters of `[a-z0-9_.-]` (lower case), or `*`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{AuthError, ConfigError};

/// Longest resource or action name.
const MAX_PART_CHARS: usize = 64;

/// A permission or a permission pattern: `resource:action`, either side may be `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Permission {
    resource: String,
    action: String,
}

fn valid_part(part: &str) -> bool {
    part == "*"
        || (!part.is_empty()
            && part.len() <= MAX_PART_CHARS
            && part.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            }))
}

impl Permission {
    /// Parses `resource:action`.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let invalid = || {
            AuthError::invalid(
                "permission",
                "must be resource:action, each 1-64 of [a-z0-9_.-] or *",
            )
        };
        if text.len() > 2 * MAX_PART_CHARS + 1 {
            return Err(invalid());
        }
        let (resource, action) = text.split_once(':').ok_or_else(invalid)?;
        if !valid_part(resource) || !valid_part(action) {
            return Err(invalid());
        }
        Ok(Self {
            resource: resource.to_owned(),
            action: action.to_owned(),
        })
    }

    /// A permission from parts known to be valid (the library's own names).
    pub(crate) fn new(resource: &str, action: &str) -> Self {
        debug_assert!(valid_part(resource) && valid_part(action));
        Self {
            resource: resource.to_owned(),
            action: action.to_owned(),
        }
    }

    /// The resource part.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The action part.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// Whether this pattern grants `resource:action` (a `*` in the pattern matches any
    /// value; a `*` in the request is matched only by a `*` in the pattern).
    pub fn grants(&self, resource: &str, action: &str) -> bool {
        (self.resource == "*" || self.resource == resource)
            && (self.action == "*" || self.action == action)
    }

    /// Whether everything `other` grants, this grants too.
    pub fn covers(&self, other: &Permission) -> bool {
        self.grants(&other.resource, &other.action)
    }
}

/// In OpenAPI, a permission is a string `resource:action`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Permission {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^([a-z0-9_.-]{1,64}|\*):([a-z0-9_.-]{1,64}|\*)$"))
            .examples(["data:read", "reports:*"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Permission {}

impl FromStr for Permission {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Permission {
    type Error = AuthError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Permission> for String {
    fn from(p: Permission) -> String {
        p.to_string()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.action)
    }
}

/// A set of permission patterns; answers `can(resource, action)`.
///
/// Small sets (up to 8 patterns, most keys) are scanned. Larger ones keep the patterns
/// for any resource (`*`) apart and index the others by a 64-bit hash of their resource,
/// so a check is one hash and a binary search over integers however many scopes there
/// are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<Permission>", into = "Vec<Permission>")]
pub struct PermissionSet {
    patterns: Vec<Permission>,
    /// How many patterns (at the front) are for any resource.
    wild: usize,
    /// `(hash of resource, index into patterns)` of the other patterns, sorted.
    index: Vec<(u64, usize)>,
}

/// FNV-1a: a fast, stable hash for the lookup index (not a security boundary: a collision
/// only costs a string comparison).
fn resource_hash(resource: &str) -> u64 {
    resource.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl From<Vec<Permission>> for PermissionSet {
    fn from(patterns: Vec<Permission>) -> Self {
        Self::new(patterns)
    }
}

impl From<PermissionSet> for Vec<Permission> {
    fn from(set: PermissionSet) -> Self {
        set.patterns
    }
}

impl PermissionSet {
    /// A set of the given patterns (duplicates and patterns covered by others are dropped).
    pub fn new(patterns: impl IntoIterator<Item = Permission>) -> Self {
        let mut set = Self::default();
        for p in patterns {
            set.insert(p);
        }
        set
    }

    /// Parses each of `texts`.
    pub fn parse<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Self, AuthError> {
        texts
            .into_iter()
            .map(Permission::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    /// Adds a pattern.
    pub fn insert(&mut self, permission: Permission) {
        if self.patterns.iter().any(|p| p.covers(&permission)) {
            return;
        }
        self.patterns.retain(|p| !permission.covers(p));
        let at = self.patterns.partition_point(|p| p < &permission);
        self.patterns.insert(at, permission);
        self.wild = self.patterns.partition_point(|p| p.resource == "*");
        self.index = self
            .patterns
            .iter()
            .enumerate()
            .skip(self.wild)
            .map(|(i, p)| (resource_hash(&p.resource), i))
            .collect();
        self.index.sort_unstable();
    }

    /// Whether the set grants `resource:action`.
    pub fn can(&self, resource: &str, action: &str) -> bool {
        // A handful of patterns: a straight scan beats any index.
        if self.patterns.len() <= 8 {
            return self.patterns.iter().any(|p| p.grants(resource, action));
        }
        let grants = |p: &Permission| p.action == "*" || p.action == action;
        // `*` sorts before every valid resource name.
        let wild = self.patterns.get(..self.wild).unwrap_or_default();
        if wild.iter().any(grants) {
            return true;
        }
        let hash = resource_hash(resource);
        let start = self.index.partition_point(|(h, _)| *h < hash);
        self.index
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|(h, _)| *h == hash)
            .filter_map(|(_, i)| self.patterns.get(*i))
            .any(|p| p.resource == resource && grants(p))
    }

    /// Whether the set grants `permission`.
    pub fn allows(&self, permission: &Permission) -> bool {
        self.can(&permission.resource, &permission.action)
    }

    /// Whether the set grants every one of `permissions`.
    pub fn can_all<'a>(&self, permissions: impl IntoIterator<Item = &'a Permission>) -> bool {
        permissions.into_iter().all(|p| self.allows(p))
    }

    /// Whether the set grants at least one of `permissions`.
    pub fn can_any<'a>(&self, permissions: impl IntoIterator<Item = &'a Permission>) -> bool {
        permissions.into_iter().any(|p| self.allows(p))
    }

    /// The patterns, sorted.
    pub fn patterns(&self) -> &[Permission] {
        &self.patterns
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Adds every pattern of `other`.
    pub fn extend(&mut self, other: &PermissionSet) {
        for p in &other.patterns {
            self.insert(p.clone());
        }
    }

    /// The patterns of this set that `limit` also grants: what a credential limited by
    /// `limit` may really do. (A pattern this set has but `limit` grants only partly is
    /// narrowed to the parts of `limit` inside it.)
    pub fn intersect(&self, limit: &PermissionSet) -> PermissionSet {
        let mut out = PermissionSet::default();
        for mine in &self.patterns {
            for theirs in &limit.patterns {
                if let Some(both) = meet(mine, theirs) {
                    out.insert(both);
                }
            }
        }
        out
    }
}

/// The most general pattern granted by both `a` and `b`, if any.
fn meet(a: &Permission, b: &Permission) -> Option<Permission> {
    let part = |x: &str, y: &str| -> Option<String> {
        match (x, y) {
            ("*", other) | (other, "*") => Some(other.to_owned()),
            (x, y) if x == y => Some(x.to_owned()),
            _ => None,
        }
    };
    Some(Permission {
        resource: part(&a.resource, &b.resource)?,
        action: part(&a.action, &b.action)?,
    })
}

/// One role of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDef {
    /// Permissions the role grants directly.
    pub permissions: Vec<Permission>,
    /// Roles whose permissions this role includes (owner includes admin includes member).
    pub includes: Vec<String>,
}

/// The app's roles: each grants permissions and may include other roles. Built and
/// checked once ([`Policy::new`]); lookups are then plain map reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    roles: BTreeMap<String, RoleDef>,
    /// Each role's permissions with included roles flattened in.
    effective: BTreeMap<String, PermissionSet>,
    /// Each role with every role it includes, itself too.
    implied: BTreeMap<String, BTreeSet<String>>,
    owner_role: String,
    default_role: String,
}

impl Policy {
    /// A policy of `roles`. `owner_role` is protected by the last-owner guard;
    /// `default_role` is given when an invite names none. Fails on unknown included roles,
    /// include cycles, or owner/default roles that are not defined.
    pub fn new(
        roles: BTreeMap<String, RoleDef>,
        owner_role: &str,
        default_role: &str,
    ) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::Invalid {
            setting: "policy",
            reason,
        };
        for name in roles.keys() {
            if !valid_role_name(name) {
                return Err(invalid("role names are 1-64 of [a-z0-9_.-]"));
            }
        }
        if !roles.contains_key(owner_role) || !roles.contains_key(default_role) {
            return Err(invalid("the owner and default roles must be defined"));
        }
        let mut implied = BTreeMap::new();
        for name in roles.keys() {
            let mut seen = BTreeSet::new();
            let mut stack = vec![name.clone()];
            while let Some(role) = stack.pop() {
                let def = roles
                    .get(&role)
                    .ok_or_else(|| invalid("a role includes an undefined role"))?;
                if !seen.insert(role.clone()) {
                    continue;
                }
                for inc in &def.includes {
                    if inc == name {
                        return Err(invalid("role includes form a cycle"));
                    }
                    stack.push(inc.clone());
                }
            }
            implied.insert(name.clone(), seen);
        }
        let effective = implied
            .iter()
            .map(|(name, all)| {
                let mut set = PermissionSet::default();
                for role in all {
                    if let Some(def) = roles.get(role) {
                        for p in &def.permissions {
                            set.insert(p.clone());
                        }
                    }
                }
                (name.clone(), set)
            })
            .collect();
        Ok(Self {
            roles,
            effective,
            implied,
            owner_role: owner_role.to_owned(),
            default_role: default_role.to_owned(),
        })
    }

    /// Whether `role` is defined.
    pub fn has(&self, role: &str) -> bool {
        self.roles.contains_key(role)
    }

    /// The role the last-owner guard protects.
    pub fn owner_role(&self) -> &str {
        &self.owner_role
    }

    /// The role given when none is named.
    pub fn default_role(&self) -> &str {
        &self.default_role
    }

    /// Everything `role` grants, included roles too (empty for an unknown role).
    pub fn permissions_of(&self, role: &str) -> Option<&PermissionSet> {
        self.effective.get(role)
    }

    /// Whether holding `held` means holding `role` (itself, or through includes).
    pub fn implies(&self, held: &str, role: &str) -> bool {
        self.implied.get(held).is_some_and(|all| all.contains(role))
    }

    /// The role names.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    /// Checks a role name given by a caller against the policy.
    pub fn check_role(&self, role: &str) -> Result<(), AuthError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(AuthError::invalid("role", "is not a role of the policy"))
        }
    }
}

fn valid_role_name(name: &str) -> bool {
    name != "*" && valid_part(name)
}

impl Default for Policy {
    /// `owner` (everything, includes `admin`), `admin` (manage the group, its members,
    /// invites and keys; includes `member`), `member` (read the group and its members).
    fn default() -> Self {
        let p = |items: &[&str]| -> Vec<Permission> {
            items
                .iter()
                .filter_map(|s| Permission::parse(s).ok())
                .collect()
        };
        let roles = BTreeMap::from([
            (
                "owner".to_owned(),
                RoleDef {
                    permissions: p(&["*:*"]),
                    includes: vec!["admin".into()],
                },
            ),
            (
                "admin".to_owned(),
                RoleDef {
                    permissions: p(&[
                        "group:read",
                        "group:update",
                        "member:*",
                        "invite:*",
                        "api_key:*",
                        "sso:*",
                    ]),
                    includes: vec!["member".into()],
                },
            ),
            (
                "member".to_owned(),
                RoleDef {
                    permissions: p(&["group:read", "member:read"]),
                    includes: vec![],
                },
            ),
        ]);
        // The literal policy above is valid; the fallback is never taken.
        Self::new(roles, "owner", "member").unwrap_or_else(|_| Self {
            roles: BTreeMap::new(),
            effective: BTreeMap::new(),
            implied: BTreeMap::new(),
            owner_role: "owner".into(),
            default_role: "member".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    #[test]
    fn parsing_accepts_the_grammar_and_nothing_else() {
        for ok in ["doc:read", "*:*", "doc:*", "*:read", "api_key.v2:write-all"] {
            assert_eq!(perm(ok).to_string(), ok);
        }
        for bad in [
            "",
            "doc",
            ":read",
            "doc:",
            "Doc:read",
            "doc:read:x",
            "doc read",
            "d*:read",
            &format!("{}:read", "a".repeat(65)),
            "doc:\u{0}",
        ] {
            assert!(Permission::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn wildcards_match_either_side() {
        let set = PermissionSet::parse(["doc:read", "billing:*", "*:list"]).unwrap();
        assert!(set.can("doc", "read"));
        assert!(!set.can("doc", "write"));
        assert!(set.can("billing", "refund"));
        assert!(set.can("anything", "list"));
        assert!(!set.can("*", "read"), "a request for * needs a * pattern");
        assert!(PermissionSet::parse(["*:*"]).unwrap().can("x", "y"));
        assert!(set.can_all(&[perm("doc:read"), perm("billing:x")]));
        assert!(!set.can_all(&[perm("doc:read"), perm("doc:write")]));
        assert!(set.can_any(&[perm("doc:write"), perm("doc:read")]));
        assert!(!set.can_any(&[]));
    }

    #[test]
    fn large_sets_answer_like_a_scan() {
        let texts: Vec<String> = (0..20)
            .map(|i| format!("res{i:02}:read"))
            .chain(["*:list".into(), "res05:*".into(), "zzz:write".into()])
            .collect();
        let set = PermissionSet::parse(texts.iter().map(String::as_str)).unwrap();
        assert!(set.patterns().len() > 8);
        assert!(set.can("res00", "read") && set.can("res19", "read"));
        assert!(set.can("res05", "delete"), "res05:* replaced res05:read");
        assert!(set.can("anything", "list"), "*:list");
        assert!(set.can("zzz", "write") && !set.can("zzz", "read"));
        assert!(!set.can("res20", "read") && !set.can("res00", "write"));
        assert!(!set.can("", "read") && !set.can("aaa", "read"));
    }

    #[test]
    fn sets_drop_covered_patterns() {
        let set = PermissionSet::parse(["doc:read", "doc:*", "doc:write"]).unwrap();
        assert_eq!(set.patterns(), &[perm("doc:*")]);
    }

    #[test]
    fn intersection_never_exceeds_either_side() {
        let role = PermissionSet::parse(["doc:*", "billing:read"]).unwrap();
        let scopes = PermissionSet::parse(["*:read", "admin:*"]).unwrap();
        let both = role.intersect(&scopes);
        assert!(both.can("doc", "read"));
        assert!(both.can("billing", "read"));
        assert!(!both.can("doc", "write"), "scopes do not grant it");
        assert!(!both.can("admin", "x"), "the role does not grant it");
    }

    #[test]
    fn default_policy_flattens_includes() {
        let policy = Policy::default();
        assert!(
            policy
                .permissions_of("owner")
                .unwrap()
                .can("group", "delete")
        );
        let admin = policy.permissions_of("admin").unwrap();
        assert!(admin.can("member", "remove") && admin.can("group", "read"));
        assert!(!admin.can("group", "delete"));
        let member = policy.permissions_of("member").unwrap();
        assert!(member.can("group", "read") && !member.can("member", "add"));
        assert!(policy.implies("owner", "member"));
        assert!(policy.implies("admin", "admin"));
        assert!(!policy.implies("member", "admin"));
    }

    #[test]
    fn bad_policies_are_refused() {
        let def = |inc: &[&str]| RoleDef {
            permissions: vec![],
            includes: inc.iter().map(|s| s.to_string()).collect(),
        };
        let cyclic = BTreeMap::from([("a".into(), def(&["b"])), ("b".into(), def(&["a"]))]);
        assert!(Policy::new(cyclic, "a", "b").is_err());
        let unknown = BTreeMap::from([("a".into(), def(&["ghost"]))]);
        assert!(Policy::new(unknown, "a", "a").is_err());
        let fine = BTreeMap::from([("a".into(), def(&[]))]);
        assert!(Policy::new(fine.clone(), "missing", "a").is_err());
        assert!(Policy::new(fine, "a", "a").is_ok());
    }
}
