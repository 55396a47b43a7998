//! A resource's attributes as stored: a JSON object checked against its
//! [`ResourceType`], with canonical attribute names, core attributes at the top and each
//! extension's under its URN.
//!
//! [`normalize`] turns what a client sent (POST, PUT, or a document after PATCH) into that
//! form: names matched case-insensitively, read-only attributes (`id`, `meta`, `groups`)
//! and attributes this server does not describe dropped (directories send more than they
//! are asked for), values of the wrong type refused with `invalidValue`, the string
//! booleans Entra ID sends (`"False"`) read as booleans, `null` and empty lists read as
//! absent, at most one `primary` value per list, and required attributes checked.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::ScimError;
use super::schema::{AttrType, Attribute, Mutability, ResourceType, Schema};

/// The attributes of one resource, as stored.
pub type Document = Map<String, Value>;

/// Longest string value accepted, in bytes.
pub const MAX_STRING_BYTES: usize = 2048;

/// Checks and normalises the attributes `input` gives a resource of type `rt`.
pub fn normalize(rt: &ResourceType, input: &Value) -> Result<Document, ScimError> {
    let Value::Object(object) = input else {
        return Err(ScimError::invalid_syntax("a resource is a JSON object"));
    };
    let mut doc = Document::new();
    for (key, value) in object {
        if let Some(extension) = rt
            .extensions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(key))
        {
            let Value::Object(inner) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!(
                    "{} is an object of its attributes",
                    extension.id
                )));
            };
            let attrs = normalize_attributes(extension, inner)?;
            if !attrs.is_empty() {
                doc.insert(extension.id.to_owned(), Value::Object(attrs));
            }
        }
    }
    let core = normalize_attributes(rt.schema, object)?;
    for (name, value) in core {
        doc.insert(name, value);
    }
    check_required(rt.schema.attributes, &doc, "")?;
    Ok(doc)
}

/// The attributes of `schema` in `object`, normalised.
fn normalize_attributes(
    schema: &Schema,
    object: &Map<String, Value>,
) -> Result<Document, ScimError> {
    let mut out = Document::new();
    for (key, value) in object {
        let Some(attr) = schema.attribute(key) else {
            continue;
        };
        if attr.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(value) = normalize_value(attr, value)? {
            out.insert(attr.name.to_owned(), value);
        }
    }
    Ok(out)
}

/// `value` as attribute `attr` stores it; `None` when it is absent (`null`, an empty list,
/// an object with nothing writable).
pub fn normalize_value(attr: &Attribute, value: &Value) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !attr.multi_valued {
        return normalize_single(attr, value);
    }
    let items: &[Value] = match value {
        Value::Array(items) => items,
        // A single value where a list is expected: some directories send one.
        single => std::slice::from_ref(single),
    };
    if items.len() > attr.max_values {
        return Err(ScimError::invalid_value(format!(
            "{} has more than {} values",
            attr.name, attr.max_values
        )));
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = normalize_single(attr, item)?
            && seen.insert(v.to_string())
        {
            out.push(v);
        }
    }
    if out
        .iter()
        .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
        .count()
        > 1
    {
        return Err(ScimError::invalid_value(format!(
            "at most one of {} is primary",
            attr.name
        )));
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// One value of `attr` (an element, for a multi-valued attribute).
fn normalize_single(attr: &Attribute, value: &Value) -> Result<Option<Value>, ScimError> {
    let wrong =
        || ScimError::invalid_value(format!("{} must be {}", attr.name, expected(attr.kind)));
    Ok(Some(match attr.kind {
        AttrType::String | AttrType::Reference(_) => {
            let Value::String(s) = value else {
                return Err(wrong());
            };
            if s.len() > MAX_STRING_BYTES {
                return Err(ScimError::invalid_value(format!(
                    "{} is longer than {MAX_STRING_BYTES} bytes",
                    attr.name
                )));
            }
            if s.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                return Err(ScimError::invalid_value(format!(
                    "{} contains control characters",
                    attr.name
                )));
            }
            Value::String(s.clone())
        }
        AttrType::Boolean => Value::Bool(boolean(value).ok_or_else(wrong)?),
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() => value.clone(),
            _ => return Err(wrong()),
        },
        AttrType::DateTime => match value {
            Value::String(s) if OffsetDateTime::parse(s, &Rfc3339).is_ok() => value.clone(),
            _ => return Err(wrong()),
        },
        AttrType::Complex(subs) => {
            // An id alone where an object with a `value` is expected: Entra ID sets the
            // manager so.
            if let (Value::String(_), Some(value_attr)) = (value, attr.sub("value")) {
                return Ok(normalize_single(value_attr, value)?
                    .map(|v| Value::Object(Map::from_iter([("value".to_owned(), v)]))));
            }
            let Value::Object(object) = value else {
                return Err(wrong());
            };
            let mut out = Document::new();
            for (key, v) in object {
                let Some(sub) = super::schema::find(subs, key) else {
                    continue;
                };
                if sub.mutability == Mutability::ReadOnly || v.is_null() {
                    continue;
                }
                if let Some(v) = normalize_single(sub, v)? {
                    out.insert(sub.name.to_owned(), v);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            check_required(subs, &out, attr.name)?;
            Value::Object(out)
        }
    }))
}

/// A JSON boolean, or the strings `"true"` / `"false"` in any case (Entra ID).
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn expected(kind: AttrType) -> &'static str {
    match kind {
        AttrType::String => "a string",
        AttrType::Reference(_) => "a URI string",
        AttrType::Boolean => "a boolean",
        AttrType::Integer => "an integer",
        AttrType::DateTime => "an RFC 3339 date-time",
        AttrType::Complex(_) => "an object",
    }
}

/// Refuses a missing required, writable attribute of `attributes` in `object`.
fn check_required(
    attributes: &[Attribute],
    object: &Document,
    parent: &str,
) -> Result<(), ScimError> {
    for attr in attributes {
        if attr.required
            && attr.mutability != Mutability::ReadOnly
            && !object.contains_key(attr.name)
        {
            let name = if parent.is_empty() {
                attr.name.to_owned()
            } else {
                format!("{parent}.{}", attr.name)
            };
            return Err(ScimError::invalid_value(format!("{name} is required")));
        }
    }
    Ok(())
}

/// The string value of `name` in `doc`.
pub fn text<'a>(doc: &'a Document, name: &str) -> Option<&'a str> {
    doc.get(name).and_then(Value::as_str)
}

/// The value of the primary element of the multi-valued `name` in `doc` (else its first
/// element's): the address of `emails`, say.
pub fn primary_value<'a>(doc: &'a Document, name: &str) -> Option<&'a str> {
    let items = doc.get(name)?.as_array()?;
    items
        .iter()
        .find(|v| v.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| items.first())
        .and_then(|v| v.get("value"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_TYPE, USER_TYPE};

    #[test]
    fn names_are_canonical_and_read_only_or_unknown_attributes_are_dropped() {
        let doc = normalize(
            &USER_TYPE,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "chosen-by-client",
                "USERNAME": "ada@example.com",
                "Emails": [{"Value": "ada@example.com", "TYPE": "work", "primary": true}],
                "groups": [{"value": "x"}],
                "favouriteColour": "green",
                "meta": {"version": "W/\"1\""},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {
                    "Department": "Research", "manager": {"value": "42", "displayName": "x"}
                }
            }),
        )
        .unwrap();
        assert_eq!(
            Value::Object(doc),
            json!({
                "userName": "ada@example.com",
                "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
                ENTERPRISE_USER_SCHEMA: {"department": "Research", "manager": {"value": "42"}},
            })
        );
    }

    #[test]
    fn entra_string_booleans_are_booleans() {
        let doc = normalize(
            &USER_TYPE,
            &json!({"userName": "a", "emails": [{"value": "a@x.test"}], "active": "False"}),
        )
        .unwrap();
        assert_eq!(doc["active"], Value::Bool(false));
        let err = normalize(
            &USER_TYPE,
            &json!({"userName": "a", "emails": [{"value": "a@x.test"}], "active": "nope"}),
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.detail, "active must be a boolean");
    }

    #[test]
    fn required_attributes_types_and_primaries_are_checked() {
        let missing = normalize(&USER_TYPE, &json!({"userName": "a"})).unwrap_err();
        assert_eq!(missing.detail, "emails is required");
        let no_value = normalize(
            &USER_TYPE,
            &json!({"userName": "a", "emails": [{"type": "work"}]}),
        )
        .unwrap_err();
        assert_eq!(no_value.detail, "emails.value is required");
        let two_primaries = normalize(
            &USER_TYPE,
            &json!({"userName": "a", "emails": [
                {"value": "a@x.test", "primary": true}, {"value": "b@x.test", "primary": true}
            ]}),
        )
        .unwrap_err();
        assert_eq!(two_primaries.detail, "at most one of emails is primary");
        let wrong_type = normalize(&GROUP_TYPE, &json!({"displayName": 7})).unwrap_err();
        assert_eq!(wrong_type.detail, "displayName must be a string");
        assert!(normalize(&GROUP_TYPE, &json!("a string")).is_err());
        let control = normalize(&GROUP_TYPE, &json!({"displayName": "a\u{0}b"})).unwrap_err();
        assert_eq!(control.detail, "displayName contains control characters");
    }

    #[test]
    fn a_single_value_for_a_list_is_a_list_of_one_and_duplicates_collapse() {
        let doc = normalize(
            &USER_TYPE,
            &json!({"userName": "a", "emails": {"value": "a@x.test"},
                    "phoneNumbers": [{"value": "1"}, {"value": "1"}]}),
        )
        .unwrap();
        assert_eq!(doc["emails"], json!([{"value": "a@x.test"}]));
        assert_eq!(doc["phoneNumbers"], json!([{"value": "1"}]));
        assert_eq!(primary_value(&doc, "emails"), Some("a@x.test"));
    }
}
