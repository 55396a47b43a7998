//! Resources as served: the stored attributes with `schemas`, `id` and `meta`, and the
//! `attributes` / `excludedAttributes` projection (RFC 7644 §3.4.2.5).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::document::Document;
use super::error::ScimError;
use super::filter::PatchPath;
use super::schema::{ResourceType, Returned};

/// A resource as served, and its version (for the `ETag` header).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResource {
    /// The JSON resource.
    pub body: Value,
    /// Its `meta.version` number.
    pub version: u32,
}

impl ScimResource {
    /// The resource's `id`.
    pub fn id(&self) -> &str {
        self.body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The weak entity tag of the version, `W/"<n>"` (also `meta.version`).
    pub fn etag(&self) -> String {
        etag(self.version)
    }
}

/// The weak entity tag of `version`.
pub fn etag(version: u32) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` header value admits `version` (`*`, or a list of tags one of
/// which is the version's, weak or strong).
pub fn if_match_admits(header: &str, version: u32) -> bool {
    let wanted = version.to_string();
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == wanted)
}

/// Where a resource lives, and its timestamps.
pub struct Meta<'a> {
    /// The type.
    pub rt: &'a ResourceType,
    /// The SCIM id.
    pub id: uuid::Uuid,
    /// The server's SCIM base URL (`https://app.example/scim/v2`).
    pub base_url: &'a str,
    /// Created.
    pub created: OffsetDateTime,
    /// Last changed.
    pub modified: OffsetDateTime,
    /// Version.
    pub version: u32,
}

/// The resource: `doc`'s attributes with `schemas`, `id`, `meta`, and `extra` (the
/// server-computed attributes: a user's `groups`, a group's `members`).
pub fn resource(doc: &Document, meta: &Meta<'_>, extra: Map<String, Value>) -> ScimResource {
    let mut body = Map::new();
    let schemas: Vec<&str> = meta
        .rt
        .schema_urns()
        .filter(|urn| *urn == meta.rt.schema.id || doc.contains_key(*urn))
        .collect();
    body.insert("schemas".into(), json!(schemas));
    body.insert("id".into(), Value::String(meta.id.to_string()));
    for (k, v) in doc {
        body.insert(k.clone(), v.clone());
    }
    for (k, v) in extra {
        body.insert(k, v);
    }
    body.insert(
        "meta".into(),
        json!({
            "resourceType": meta.rt.name,
            "created": rfc3339(meta.created),
            "lastModified": rfc3339(meta.modified),
            "location": format!("{}{}/{}", meta.base_url, meta.rt.endpoint, meta.id),
            "version": etag(meta.version),
        }),
    );
    ScimResource {
        body: Value::Object(body),
        version: meta.version,
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// `/ServiceProviderConfig`: what this server supports, and nothing more (RFC 7643 §5).
pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": super::bulk::MAX_OPERATIONS,
            "maxPayloadSize": super::bulk::MAX_PAYLOAD_SIZE,
        },
        "filter": {"supported": true, "maxResults": super::query::MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The connection's SCIM token, as `Authorization: Bearer <token>`",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        },
    })
}

/// A `ListResponse` of `resources` (all of them on one page).
pub fn list_of(resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Which attributes to return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// `attributes`: only these (and those always returned).
    pub attributes: Vec<String>,
    /// `excludedAttributes`: all but these (those always returned stay).
    pub excluded: Vec<String>,
}

impl Projection {
    /// Parses the comma-separated parameters, refusing malformed paths (`invalidPath`).
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        Ok(Projection {
            attributes: paths(attributes)?,
            excluded: paths(excluded)?,
        })
    }

    /// Applies the projection to a served resource of type `rt`.
    pub fn apply(&self, rt: &ResourceType, body: &mut Value) {
        let Value::Object(object) = body else {
            return;
        };
        if !self.attributes.is_empty() {
            let kept: Map<String, Value> = std::mem::take(object)
                .into_iter()
                .filter_map(|(key, value)| {
                    if always(rt, &key) {
                        return Some((key, value));
                    }
                    keep_listed(rt, &key, value, &self.attributes)
                })
                .collect();
            *object = kept;
        }
        for path in &self.excluded {
            remove(rt, object, path);
        }
    }
}

fn paths(list: Option<&str>) -> Result<Vec<String>, ScimError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            PatchPath::parse(p)
                .ok()
                .filter(|parsed| matches!(parsed, PatchPath::Attr(_)))
                .map(|_| p.to_owned())
                .ok_or_else(|| ScimError::invalid_path(format!("{p} is not an attribute path")))
        })
        .collect()
}

/// Whether `key` is returned whatever the parameters say.
fn always(rt: &ResourceType, key: &str) -> bool {
    key == "schemas"
        || key == "id"
        || rt
            .schema
            .attribute(key)
            .is_some_and(|a| a.returned == Returned::Always)
}

/// The (core or extension) attribute `path` splits into: the key in the resource, and
/// the sub-attribute within it, if named.
fn split(rt: &ResourceType, path: &str) -> Option<(String, Option<String>, Option<String>)> {
    if let Some(ext) = rt
        .extensions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(path))
    {
        return Some((ext.id.to_owned(), None, None));
    }
    let Ok(PatchPath::Attr(attr)) = PatchPath::parse(path) else {
        return None;
    };
    match attr.uri {
        Some(uri) if !uri.eq_ignore_ascii_case(rt.schema.id) => {
            let ext = rt.schema_by_urn(&uri)?;
            Some((ext.id.to_owned(), Some(attr.name), attr.sub))
        }
        _ => Some((attr.name, attr.sub, None)),
    }
}

/// The part of the top-level `key: value` that `listed` keeps, if any.
fn keep_listed(
    rt: &ResourceType,
    key: &str,
    value: Value,
    listed: &[String],
) -> Option<(String, Value)> {
    let mut whole = false;
    let mut subs: Vec<(String, Option<String>)> = Vec::new();
    for path in listed {
        let Some((top, sub, subsub)) = split(rt, path) else {
            continue;
        };
        if !top.eq_ignore_ascii_case(key) {
            continue;
        }
        match sub {
            None => whole = true,
            Some(sub) => subs.push((sub, subsub)),
        }
    }
    if whole {
        return Some((key.to_owned(), value));
    }
    if subs.is_empty() {
        return None;
    }
    let keep = |v: &Value| pick(v, &subs);
    let kept = match &value {
        Value::Array(items) => Value::Array(items.iter().filter_map(keep).collect()),
        other => keep(other)?,
    };
    Some((key.to_owned(), kept))
}

/// The members of the object `value` that `subs` name (case-insensitively).
fn pick(value: &Value, subs: &[(String, Option<String>)]) -> Option<Value> {
    let Value::Object(object) = value else {
        return None;
    };
    let mut out = Map::new();
    for (k, v) in object {
        for (sub, subsub) in subs {
            if !k.eq_ignore_ascii_case(sub) {
                continue;
            }
            match subsub {
                None => {
                    out.insert(k.clone(), v.clone());
                }
                Some(s) => {
                    if let Some(inner) = pick(v, &[(s.clone(), None)]) {
                        out.insert(k.clone(), inner);
                    }
                }
            }
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Removes the attribute `path` names from `object` (never one always returned).
fn remove(rt: &ResourceType, object: &mut Map<String, Value>, path: &str) {
    let Some((top, sub, subsub)) = split(rt, path) else {
        return;
    };
    let Some(key) = object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&top))
        .cloned()
    else {
        return;
    };
    if always(rt, &key) {
        return;
    }
    let Some(sub) = sub else {
        object.remove(&key);
        return;
    };
    let strip = |v: &mut Value| {
        if let Value::Object(o) = v {
            let name = o.keys().find(|k| k.eq_ignore_ascii_case(&sub)).cloned();
            if let Some(name) = name {
                match &subsub {
                    None => {
                        o.remove(&name);
                    }
                    Some(s) => {
                        if let Some(Value::Object(inner)) = o.get_mut(&name) {
                            inner.retain(|k, _| !k.eq_ignore_ascii_case(s));
                        }
                    }
                }
            }
        }
    };
    match object.get_mut(&key) {
        Some(Value::Array(items)) => items.iter_mut().for_each(strip),
        Some(other) => strip(other),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_TYPE};

    fn ada() -> ScimResource {
        let doc = crate::scim::document::normalize(
            &USER_TYPE,
            &json!({
                "userName": "ada", "displayName": "Ada",
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "emails": [{"value": "ada@example.com", "type": "work"}],
                ENTERPRISE_USER_SCHEMA: {"department": "R&D", "costCenter": "7"}
            }),
        )
        .unwrap();
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        resource(
            &doc,
            &Meta {
                rt: &USER_TYPE,
                id: uuid::Uuid::from_u128(1),
                base_url: "https://app.test/scim/v2",
                created: at,
                modified: at,
                version: 3,
            },
            Map::new(),
        )
    }

    #[test]
    fn a_resource_has_its_schemas_id_and_meta() {
        let r = ada();
        assert_eq!(
            r.body["schemas"],
            json!([crate::scim::schema::USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
        );
        assert_eq!(r.body["id"], "00000000-0000-0000-0000-000000000001");
        assert_eq!(
            r.body["meta"]["location"],
            "https://app.test/scim/v2/Users/00000000-0000-0000-0000-000000000001"
        );
        assert_eq!(r.body["meta"]["version"], "W/\"3\"");
        assert_eq!(r.body["meta"]["created"], "2027-01-15T08:00:00Z");
        assert_eq!(r.etag(), "W/\"3\"");
    }

    #[test]
    fn attributes_keep_only_what_is_listed_and_what_is_always_returned() {
        let mut body = ada().body;
        Projection::parse(
            Some("displayName, name.familyName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
        )
        .unwrap()
        .apply(&USER_TYPE, &mut body);
        assert_eq!(
            body,
            json!({
                "schemas": [crate::scim::schema::USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "id": "00000000-0000-0000-0000-000000000001",
                "displayName": "Ada",
                "name": {"familyName": "Lovelace"},
                ENTERPRISE_USER_SCHEMA: {"department": "R&D"}
            })
        );
    }

    #[test]
    fn excluded_attributes_are_removed_but_never_the_id() {
        let mut body = ada().body;
        Projection::parse(None, Some("emails,name.givenName,id,meta"))
            .unwrap()
            .apply(&USER_TYPE, &mut body);
        assert!(body.get("emails").is_none());
        assert!(body.get("meta").is_none());
        assert_eq!(body["name"], json!({"familyName": "Lovelace"}));
        assert_eq!(body["id"], "00000000-0000-0000-0000-000000000001");
        assert!(Projection::parse(Some("emails[type eq \"work\"]"), None).is_err());
    }

    #[test]
    fn if_match_admits_star_weak_and_strong_tags() {
        assert!(if_match_admits("*", 4));
        assert!(if_match_admits("W/\"4\"", 4));
        assert!(if_match_admits("\"3\", \"4\"", 4));
        assert!(!if_match_admits("W/\"3\"", 4));
    }
}
