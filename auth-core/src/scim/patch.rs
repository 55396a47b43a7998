//! PATCH (RFC 7644 §3.5.2) applied to a resource's [`Document`], in the dialects real
//! directories send:
//!
//! - operation names in any case (`"Add"`, `"Replace"`: Entra ID);
//! - `add` or `replace` without a path, carrying an object whose keys are attribute paths
//!   (`"name.givenName"`, an extension's URN or an extension attribute's full path);
//! - value paths that select a multi-valued attribute's values (`emails[type eq
//!   "work"].value`); `add` and `replace` through an `eq` filter that matches nothing create
//!   the value the filter describes (Entra ID sets a first work address that way);
//! - `remove` of `members` with a list of the values to remove (Entra ID), or through
//!   `members[value eq "..."]` (Okta), and batches of member additions;
//! - string booleans (`"False"`).
//!
//! The result is normalised again ([`normalize`]), so a PATCH can never store what a PUT
//! could not (a removed required attribute, two primary emails).

use serde_json::{Map, Value};

use super::document::{Document, normalize, normalize_value};
use super::error::{ScimError, ScimType};
use super::eval::matches_element;
use super::filter::{AttrPath, CompareOp, CompareValue, Filter, PatchPath};
use super::schema::{AttrType, Attribute, Mutability, ResourceType, Schema};

/// The PatchOp message's schema URN.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    /// Adds values (appends to lists, merges objects).
    Add,
    /// Replaces values.
    Replace,
    /// Removes values.
    Remove,
}

/// One operation of a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// What it does.
    pub op: PatchOp,
    /// Where, when given.
    pub path: Option<String>,
    /// The value (absent for most removes).
    pub value: Option<Value>,
}

/// The operations of a PATCH request body.
pub fn parse_request(body: &Value) -> Result<Vec<PatchOperation>, ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("a PATCH body is a JSON object"));
    };
    let schemas = field(body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|u| u.as_str() == Some(PATCH_OP_SCHEMA))) {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH body names the schema {PATCH_OP_SCHEMA}"
        )));
    }
    let Some(Value::Array(operations)) = field(body, "Operations") else {
        return Err(ScimError::invalid_syntax(
            "a PATCH body has a list of Operations",
        ));
    };
    if operations.is_empty() || operations.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH body has 1 to {MAX_OPERATIONS} operations"
        )));
    }
    operations.iter().map(parse_operation).collect()
}

/// The member of `object` named `name` in any case.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn parse_operation(operation: &Value) -> Result<PatchOperation, ScimError> {
    let Value::Object(operation) = operation else {
        return Err(ScimError::invalid_syntax("an operation is a JSON object"));
    };
    let op = match field(operation, "op").and_then(Value::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => PatchOp::Add,
        Some(op) if op.eq_ignore_ascii_case("replace") => PatchOp::Replace,
        Some(op) if op.eq_ignore_ascii_case("remove") => PatchOp::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(
                "an operation's op is add, replace or remove",
            ));
        }
    };
    let path = match field(operation, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) if path.trim().is_empty() => None,
        Some(Value::String(path)) => Some(path.trim().to_owned()),
        Some(_) => return Err(ScimError::invalid_path("an operation's path is a string")),
    };
    let value = field(operation, "value").cloned();
    if op != PatchOp::Remove && value.is_none() {
        return Err(ScimError::invalid_value(
            "add and replace operations carry a value",
        ));
    }
    if op == PatchOp::Remove && path.is_none() {
        return Err(ScimError::bad_request(
            ScimType::NoTarget,
            "a remove operation needs a path",
        ));
    }
    Ok(PatchOperation { op, path, value })
}

/// Applies `operations` in order to `doc` (a resource of type `rt`), then normalises the
/// result. On error `doc` may be partly changed: apply to a copy.
pub fn apply(
    rt: &ResourceType,
    doc: &mut Document,
    operations: &[PatchOperation],
) -> Result<(), ScimError> {
    for operation in operations {
        let value = operation.value.as_ref().unwrap_or(&Value::Null);
        match &operation.path {
            None => apply_object(rt, doc, operation.op, value)?,
            Some(path) => {
                let target = resolve(rt, path)?;
                apply_at(doc, operation.op, &target, value)?;
            }
        }
    }
    *doc = normalize(rt, &Value::Object(std::mem::take(doc)))?;
    Ok(())
}

/// A path-less `add` or `replace`: each key of `value` is a path (unknown and read-only
/// attributes ignored, as in a POST).
fn apply_object(
    rt: &ResourceType,
    doc: &mut Document,
    op: PatchOp,
    value: &Value,
) -> Result<(), ScimError> {
    let Value::Object(object) = value else {
        return Err(ScimError::invalid_value(
            "an operation without a path carries an object of attributes",
        ));
    };
    for (key, value) in object {
        match resolve(rt, key) {
            Ok(target) => apply_at(doc, op, &target, value)?,
            Err(e)
                if matches!(
                    e.scim_type,
                    Some(ScimType::InvalidPath | ScimType::Mutability)
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Where an operation applies.
enum Target {
    /// An extension's whole object.
    Extension(&'static Schema),
    /// An attribute, or one sub-attribute of it.
    Attr(Place),
    /// The values of a multi-valued complex attribute that match a filter, or one
    /// sub-attribute of those.
    Values {
        place: Place,
        filter: Filter,
        sub: Option<&'static Attribute>,
    },
}

/// An attribute of the core schema or of an extension, and maybe its sub-attribute.
struct Place {
    extension: Option<&'static str>,
    attr: &'static Attribute,
    sub: Option<&'static Attribute>,
}

fn resolve(rt: &ResourceType, path: &str) -> Result<Target, ScimError> {
    if let Some(extension) = rt
        .extensions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(path))
    {
        return Ok(Target::Extension(extension));
    }
    let parsed = PatchPath::parse(path).map_err(|e| ScimError::invalid_path(e.to_string()))?;
    Ok(match parsed {
        PatchPath::Attr(path) => Target::Attr(place(rt, &path)?),
        PatchPath::Values { path, filter, sub } => {
            let place = place(rt, &path)?;
            let AttrType::Complex(_) = place.attr.kind else {
                return Err(ScimError::invalid_path(format!(
                    "{} has no sub-attributes to filter on",
                    place.attr.name
                )));
            };
            if !place.attr.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "{} is not multi-valued",
                    place.attr.name
                )));
            }
            let sub = match sub {
                Some(name) => Some(place.attr.sub(&name).ok_or_else(|| unknown(&name))?),
                None => None,
            };
            Target::Values {
                place,
                filter: *filter,
                sub,
            }
        }
    })
}

fn unknown(name: &str) -> ScimError {
    ScimError::invalid_path(format!("{name} is not an attribute this server supports"))
}

fn place(rt: &ResourceType, path: &AttrPath) -> Result<Place, ScimError> {
    let schema = match &path.uri {
        None => rt.schema,
        Some(uri) => rt.schema_by_urn(uri).ok_or_else(|| unknown(uri))?,
    };
    let attr = schema
        .attribute(&path.name)
        .ok_or_else(|| unknown(&path.name))?;
    let sub = match &path.sub {
        Some(name) => Some(attr.sub(name).ok_or_else(|| unknown(name))?),
        None => None,
    };
    if attr.mutability == Mutability::ReadOnly
        || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    {
        return Err(ScimError::mutability(format!("{} is read-only", attr.name)));
    }
    Ok(Place {
        extension: (schema.id != rt.schema.id).then_some(schema.id),
        attr,
        sub,
    })
}

/// The object holding `extension`'s attributes (the document itself for the core
/// schema), created when missing.
fn container<'a>(doc: &'a mut Document, extension: Option<&str>) -> Option<&'a mut Document> {
    let Some(urn) = extension else {
        return Some(doc);
    };
    let slot = doc
        .entry(urn.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

fn apply_at(
    doc: &mut Document,
    op: PatchOp,
    target: &Target,
    value: &Value,
) -> Result<(), ScimError> {
    match target {
        Target::Extension(schema) => {
            let Value::Object(object) = value else {
                if op == PatchOp::Remove {
                    doc.remove(schema.id);
                    return Ok(());
                }
                return Err(ScimError::invalid_value(format!(
                    "{} is an object of its attributes",
                    schema.id
                )));
            };
            if op == PatchOp::Remove {
                doc.remove(schema.id);
                return Ok(());
            }
            for (key, value) in object {
                let Some(attr) = schema.attribute(key) else {
                    continue;
                };
                if attr.mutability == Mutability::ReadOnly {
                    continue;
                }
                let place = Place {
                    extension: Some(schema.id),
                    attr,
                    sub: None,
                };
                apply_attr(doc, op, &place, value)?;
            }
            Ok(())
        }
        Target::Attr(place) => apply_attr(doc, op, place, value),
        Target::Values { place, filter, sub } => apply_values(doc, op, place, filter, *sub, value),
    }
}

/// An operation on a whole attribute, or on one sub-attribute of it.
fn apply_attr(
    doc: &mut Document,
    op: PatchOp,
    place: &Place,
    value: &Value,
) -> Result<(), ScimError> {
    let attr = place.attr;
    let Some(object) = container(doc, place.extension) else {
        return Ok(());
    };
    if let Some(sub) = place.sub {
        if attr.multi_valued {
            // `emails.type`: every value's sub-attribute.
            let Some(Value::Array(items)) = object.get_mut(attr.name) else {
                return Ok(());
            };
            for item in items.iter_mut() {
                set_sub(item, op, sub, value)?;
            }
            return Ok(());
        }
        let slot = object
            .entry(attr.name.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        return set_sub(slot, op, sub, value);
    }
    match op {
        PatchOp::Remove if attr.multi_valued && !value.is_null() => {
            // Remove the listed values (matched by `value` when they have one).
            let listed = normalize_value(attr, value)?.unwrap_or(Value::Array(Vec::new()));
            let listed = listed.as_array().map(Vec::as_slice).unwrap_or_default();
            if let Some(Value::Array(items)) = object.get_mut(attr.name) {
                items.retain(|item| !listed.iter().any(|l| same_value(item, l)));
            }
        }
        PatchOp::Remove => {
            object.remove(attr.name);
        }
        PatchOp::Replace => match normalize_value(attr, value)? {
            None => {
                object.remove(attr.name);
            }
            Some(new) => {
                let merge = matches!(attr.kind, AttrType::Complex(_)) && !attr.multi_valued;
                match (merge, object.get_mut(attr.name)) {
                    (true, Some(Value::Object(old))) => merge_object(old, new),
                    _ => {
                        object.insert(attr.name.to_owned(), new);
                    }
                }
            }
        },
        PatchOp::Add => {
            let Some(new) = normalize_value(attr, value)? else {
                return Ok(());
            };
            match (object.get_mut(attr.name), new) {
                (Some(Value::Array(items)), Value::Array(added)) => {
                    let clears_primary = added.iter().any(is_primary);
                    if clears_primary {
                        items.iter_mut().for_each(clear_primary);
                    }
                    for item in added {
                        if let Some(existing) = items.iter_mut().find(|i| same_value(i, &item)) {
                            *existing = item;
                        } else {
                            items.push(item);
                        }
                    }
                }
                (Some(Value::Object(old)), new @ Value::Object(_)) => merge_object(old, new),
                (_, new) => {
                    object.insert(attr.name.to_owned(), new);
                }
            }
        }
    }
    Ok(())
}

/// Sets or removes `sub` in the object `slot`.
fn set_sub(slot: &mut Value, op: PatchOp, sub: &Attribute, value: &Value) -> Result<(), ScimError> {
    let Value::Object(object) = slot else {
        return Ok(());
    };
    let new = if op == PatchOp::Remove {
        None
    } else {
        normalize_value(sub, value)?
    };
    match new {
        Some(new) => {
            object.insert(sub.name.to_owned(), new);
        }
        None => {
            object.remove(sub.name);
        }
    }
    Ok(())
}

/// An operation on the values of `place` that match `filter`.
fn apply_values(
    doc: &mut Document,
    op: PatchOp,
    place: &Place,
    filter: &Filter,
    sub: Option<&'static Attribute>,
    value: &Value,
) -> Result<(), ScimError> {
    let attr = place.attr;
    let subs = attr.sub_attributes();
    let Some(object) = container(doc, place.extension) else {
        return Ok(());
    };
    let slot = object
        .entry(attr.name.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Some(items) = slot.as_array_mut() else {
        return Ok(());
    };
    let matched: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| matches_element(filter, item, subs))
        .map(|(i, _)| i)
        .collect();
    if op == PatchOp::Remove {
        match sub {
            Some(sub) => {
                for i in &matched {
                    if let Some(Value::Object(item)) = items.get_mut(*i) {
                        item.remove(sub.name);
                    }
                }
            }
            None => {
                let mut index = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&index);
                    index += 1;
                    keep
                });
            }
        }
        return Ok(());
    }
    if matched.is_empty() {
        // Create the value the filter describes (Entra ID's first work address).
        let Some(mut created) = described_by(filter, subs) else {
            return Err(ScimError::bad_request(
                ScimType::NoTarget,
                format!("no value of {} matches the filter", attr.name),
            ));
        };
        write_into(&mut created, sub, attr, value)?;
        items.push(created);
        return Ok(());
    }
    for i in matched {
        if let Some(item) = items.get_mut(i) {
            write_into(item, sub, attr, value)?;
        }
    }
    Ok(())
}

/// Sets `sub` of `item` to `value`, or merges the object `value` into `item`.
fn write_into(
    item: &mut Value,
    sub: Option<&'static Attribute>,
    attr: &'static Attribute,
    value: &Value,
) -> Result<(), ScimError> {
    match sub {
        Some(sub) => set_sub(item, PatchOp::Replace, sub, value),
        None => {
            let single = Attribute {
                multi_valued: false,
                ..*attr
            };
            if let (Value::Object(old), Some(new)) = (item, normalize_value(&single, value)?) {
                merge_object(old, new);
            }
            Ok(())
        }
    }
}

/// The value an `eq` filter (or an `and` of them) on sub-attributes describes.
fn described_by(filter: &Filter, subs: &'static [Attribute]) -> Option<Value> {
    let mut object = Map::new();
    collect_equalities(filter, subs, &mut object)?;
    Some(Value::Object(object))
}

fn collect_equalities(
    filter: &Filter,
    subs: &'static [Attribute],
    object: &mut Map<String, Value>,
) -> Option<()> {
    match filter {
        Filter::And(a, b) => {
            collect_equalities(a, subs, object)?;
            collect_equalities(b, subs, object)
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.uri.is_none() && path.sub.is_none() => {
            let sub = super::schema::find(subs, &path.name)?;
            let value = match value {
                CompareValue::Str(s) => Value::String(s.clone()),
                CompareValue::Bool(b) => Value::Bool(*b),
                CompareValue::Num(n) => Value::Number(n.clone()),
                CompareValue::Null => return None,
            };
            object.insert(sub.name.to_owned(), value);
            Some(())
        }
        _ => None,
    }
}

fn merge_object(old: &mut Map<String, Value>, new: Value) {
    if let Value::Object(new) = new {
        for (k, v) in new {
            old.insert(k, v);
        }
    }
}

fn is_primary(item: &Value) -> bool {
    item.get("primary") == Some(&Value::Bool(true))
}

fn clear_primary(item: &mut Value) {
    if let Value::Object(o) = item {
        o.remove("primary");
    }
}

/// Whether two values of a multi-valued attribute are the same value: equal `value`s when
/// they have one, else equal objects.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;
