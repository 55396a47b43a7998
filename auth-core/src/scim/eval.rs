//! Evaluating a [`Filter`] against JSON: a whole resource (what a store that keeps its
//! resources in memory does with a `filter`), or one value of a multi-valued attribute (a
//! PATCH path's `emails[type eq "work"]`).
//!
//! The semantics every store reproduces: an attribute path selects values (each element's
//! sub-attribute for a multi-valued complex attribute, its `value` when no sub-attribute is
//! named); a comparison holds when any selected value satisfies it, except `ne`, which holds
//! when none equals. Strings compare case-insensitively unless the attribute is
//! `caseExact`; date-times compare as instants; booleans support `eq` and `ne` only; `pr`
//! holds when some value is present; `eq null` means absent.

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::filter::{AttrPath, CompareOp, CompareValue, Filter};
use super::schema::{AttrType, Attribute, ResourceType, find};

/// Whether `resource` (a whole resource with `id` and `meta`) matches `filter`.
pub fn matches_resource(filter: &Filter, resource: &Value, rt: &ResourceType) -> bool {
    evaluate(filter, &|path, whole| {
        resource_values(resource, rt, path, whole)
    })
}

/// Whether `element` (one value of a multi-valued complex attribute with sub-attributes
/// `subs`) matches `filter`, whose paths name sub-attributes.
pub fn matches_element(filter: &Filter, element: &Value, subs: &'static [Attribute]) -> bool {
    evaluate(filter, &|path, _| {
        if path.uri.is_some() || path.sub.is_some() {
            return Selected::none();
        }
        match find(subs, &path.name) {
            Some(attr) => Selected {
                kind: Some(attr.kind),
                case_exact: attr.case_exact,
                values: element.get(attr.name).into_iter().cloned().collect(),
            },
            None => Selected::none(),
        }
    })
}

/// The values an attribute path selects, and how they compare.
struct Selected {
    kind: Option<AttrType>,
    case_exact: bool,
    values: Vec<Value>,
}

impl Selected {
    fn none() -> Self {
        Selected {
            kind: None,
            case_exact: false,
            values: Vec::new(),
        }
    }
}

/// `select(path, whole)` gives the values `path` selects; with `whole`, a multi-valued
/// complex attribute's values themselves rather than their `value`s.
fn evaluate(filter: &Filter, select: &dyn Fn(&AttrPath, bool) -> Selected) -> bool {
    match filter {
        Filter::And(a, b) => evaluate(a, select) && evaluate(b, select),
        Filter::Or(a, b) => evaluate(a, select) || evaluate(b, select),
        Filter::Not(inner) => !evaluate(inner, select),
        Filter::Present(path) => select(path, false).values.iter().any(is_present),
        Filter::Compare { path, op, value } => {
            let selected = select(path, false);
            if *value == CompareValue::Null {
                let present = selected.values.iter().any(is_present);
                return match op {
                    CompareOp::Eq => !present,
                    CompareOp::Ne => present,
                    _ => false,
                };
            }
            match op {
                CompareOp::Ne => !selected
                    .values
                    .iter()
                    .any(|v| compare(&selected, v, CompareOp::Eq, value)),
                _ => selected
                    .values
                    .iter()
                    .any(|v| compare(&selected, v, *op, value)),
            }
        }
        Filter::ValuePath { path, filter } => {
            let Selected { kind, values, .. } = select(path, true);
            let Some(AttrType::Complex(subs)) = kind else {
                return false;
            };
            values.iter().any(|v| matches_element(filter, v, subs))
        }
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// The values `path` selects in a whole resource (see [`evaluate`] for `whole`).
fn resource_values(resource: &Value, rt: &ResourceType, path: &AttrPath, whole: bool) -> Selected {
    if path.uri.is_none() && path.name.eq_ignore_ascii_case("meta") {
        return match path.sub.as_deref() {
            Some(sub @ ("created" | "lastModified")) => Selected {
                kind: Some(AttrType::DateTime),
                case_exact: true,
                values: resource["meta"].get(sub).into_iter().cloned().collect(),
            },
            _ => Selected::none(),
        };
    }
    let (schema, container) = match &path.uri {
        None => (rt.schema, Some(resource)),
        Some(uri) => match rt.schema_by_urn(uri) {
            Some(schema) if schema.id == rt.schema.id => (schema, Some(resource)),
            Some(schema) => (schema, resource.get(schema.id)),
            None => return Selected::none(),
        },
    };
    let Some(attr) = schema.attribute(&path.name) else {
        return Selected::none();
    };
    let Some(value) = container.and_then(|c| c.get(attr.name)) else {
        return Selected {
            kind: Some(attr.kind),
            case_exact: attr.case_exact,
            values: Vec::new(),
        };
    };
    let items: Vec<&Value> = match value {
        Value::Array(items) if attr.multi_valued => items.iter().collect(),
        single => vec![single],
    };
    let sub = match (&path.sub, attr.kind) {
        (Some(name), _) => attr.sub(name),
        // `emails eq "x"` compares each email's value.
        (None, AttrType::Complex(_)) if attr.multi_valued && !whole => attr.sub("value"),
        (None, _) => None,
    };
    match (&path.sub, sub) {
        (Some(_), None) => Selected::none(),
        (_, Some(sub)) => Selected {
            kind: Some(sub.kind),
            case_exact: sub.case_exact,
            values: items
                .iter()
                .filter_map(|v| v.get(sub.name))
                .cloned()
                .collect(),
        },
        (None, None) => Selected {
            kind: Some(attr.kind),
            case_exact: attr.case_exact,
            values: items.into_iter().cloned().collect(),
        },
    }
}

/// Whether `actual op expected` holds for one selected value.
fn compare(selected: &Selected, actual: &Value, op: CompareOp, expected: &CompareValue) -> bool {
    match (selected.kind, actual, expected) {
        (Some(AttrType::Boolean), Value::Bool(a), CompareValue::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            _ => false,
        },
        (Some(AttrType::Integer), Value::Number(a), CompareValue::Num(b)) => {
            match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => order(a.partial_cmp(&b), op),
                _ => false,
            }
        }
        (Some(AttrType::DateTime), Value::String(a), CompareValue::Str(b)) => {
            match (
                OffsetDateTime::parse(a, &Rfc3339),
                OffsetDateTime::parse(b, &Rfc3339),
            ) {
                (Ok(a), Ok(b)) => order(Some(a.cmp(&b)), op),
                _ => false,
            }
        }
        (
            Some(AttrType::String | AttrType::Reference(_)),
            Value::String(a),
            CompareValue::Str(b),
        ) => {
            if selected.case_exact {
                text(a, b, op)
            } else {
                text(&a.to_lowercase(), &b.to_lowercase(), op)
            }
        }
        _ => false,
    }
}

fn text(a: &str, b: &str, op: CompareOp) -> bool {
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => order(Some(a.cmp(b)), op),
    }
}

fn order(ordering: Option<Ordering>, op: CompareOp) -> bool {
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{GROUP_TYPE, USER_TYPE};

    fn ada() -> Value {
        json!({
            "id": "u1",
            "userName": "Ada@Example.com",
            "externalId": "E-1",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [
                {"value": "ada@example.com", "type": "work", "primary": true},
                {"value": "ada@home.test", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Analytical Engines", "manager": {"value": "m1"}
            },
            "meta": {"created": "2026-01-02T03:04:05Z", "lastModified": "2026-02-01T00:00:00Z"}
        })
    }

    fn holds(filter: &str) -> bool {
        matches_resource(&Filter::parse(filter).unwrap(), &ada(), &USER_TYPE)
    }

    #[test]
    fn user_name_is_case_insensitive_and_ids_compare_as_written() {
        assert!(holds(r#"userName eq "ada@example.COM""#));
        assert!(holds(r#"USERNAME sw "ada@""#));
        assert!(holds(r#"externalId eq "E-1""#));
        assert!(!holds(r#"externalId eq "e-1""#), "externalId is caseExact");
        assert!(!holds(r#"userName eq "grace@example.com""#));
        assert!(holds(r#"userName ne "grace@example.com""#));
    }

    #[test]
    fn multi_valued_attributes_match_when_any_value_does() {
        assert!(holds(r#"emails.value eq "ada@home.test""#));
        assert!(holds(r#"emails eq "ada@home.test""#));
        assert!(holds(
            r#"emails[type eq "work" and value ew "example.com"]"#
        ));
        assert!(!holds(
            r#"emails[type eq "home" and value ew "example.com"]"#
        ));
        assert!(!holds(r#"emails.value ne "ada@home.test""#));
        assert!(holds(r#"emails[primary eq true]"#));
    }

    #[test]
    fn logic_presence_nesting_extensions_and_times() {
        assert!(holds(
            r#"name.familyName co "love" and not (active eq false)"#
        ));
        assert!(holds(r#"title pr or name.givenName pr"#));
        assert!(!holds("title pr"));
        assert!(holds("title eq null"));
        assert!(holds(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "analytical""#
        ));
        assert!(holds(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#
        ));
        assert!(!holds(
            r#"meta.lastModified gt "2026-01-31T22:00:00-02:00""#
        ));
        assert!(holds(r#"meta.lastModified ge "2026-01-31T22:00:00-02:00""#));
        assert!(holds(r#"meta.created lt "2026-01-02T03:04:06Z""#));
        assert!(!holds(r#"active gt true"#), "booleans are not ordered");
        assert!(!holds(r#"unknown eq "x""#));
    }

    #[test]
    fn groups_match_on_members() {
        let group =
            json!({"id": "g", "displayName": "Eng", "members": [{"value": "u1"}, {"value": "u2"}]});
        let filter = Filter::parse(r#"members[value eq "u2"] and displayName eq "eng""#).unwrap();
        assert!(matches_resource(&filter, &group, &GROUP_TYPE));
    }
}
