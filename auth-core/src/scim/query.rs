//! A list request (RFC 7644 §3.4.2): the filter resolved to the fields a store indexes,
//! the sort, the page, and which attributes to return.
//!
//! A store never sees an attribute path: [`ResourceKind::resolve`] maps each path of the
//! filter to a [`UserField`] or [`GroupField`] (refusing, with `invalidFilter`, attributes
//! and operators that are not indexed), so the same filters work on every store and each
//! one becomes an index lookup in SQL. [`FieldFilter::matches`] is the reference meaning a
//! store that filters in memory uses, and the SQL translations reproduce.

use std::borrow::Cow;
use std::cmp::Ordering;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::error::{ScimError, ScimType};
use super::filter::{AttrPath, CompareOp, CompareValue, Filter};
use super::schema::{GROUP_SCHEMA, USER_SCHEMA};

/// Results per page when the client does not say.
pub const DEFAULT_COUNT: usize = 100;
/// Most results per page (advertised as `filter.maxResults`).
pub const MAX_COUNT: usize = 1000;

/// A filterable and sortable field of a provisioned user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    /// `id`.
    Id,
    /// `userName` (case-insensitive).
    UserName,
    /// `externalId` (case-sensitive).
    ExternalId,
    /// `displayName` (case-insensitive).
    DisplayName,
    /// `emails` / `emails.value`: the account's address (the primary email).
    Email,
    /// `active`.
    Active,
    /// `meta.created`.
    Created,
    /// `meta.lastModified`.
    LastModified,
}

/// A filterable and sortable field of a provisioned group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupField {
    /// `id`.
    Id,
    /// `displayName` (case-insensitive).
    DisplayName,
    /// `externalId` (case-sensitive).
    ExternalId,
    /// `members` / `members.value`: a member's user id (`eq` and `pr` only).
    Member,
    /// `meta.created`.
    Created,
    /// `meta.lastModified`.
    LastModified,
}

/// What a field holds, which decides the operators it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A resource id: `eq`, `ne`, `pr`.
    Id,
    /// Text compared as given (`caseExact`).
    ExactText,
    /// Text compared lowercased (the store keeps a lowercased copy).
    FoldedText,
    /// A boolean: `eq`, `ne`, `pr`.
    Bool,
    /// An instant.
    Time,
}

/// A field of a resource kind: its kind, for validation and translation.
pub trait Field: Copy + Eq + std::fmt::Debug {
    /// What the field holds.
    fn kind(self) -> FieldKind;

    /// Whether lists can be sorted by it.
    fn sortable(self) -> bool {
        true
    }
}

impl Field for UserField {
    fn kind(self) -> FieldKind {
        match self {
            UserField::Id => FieldKind::Id,
            UserField::ExternalId => FieldKind::ExactText,
            UserField::UserName | UserField::DisplayName | UserField::Email => {
                FieldKind::FoldedText
            }
            UserField::Active => FieldKind::Bool,
            UserField::Created | UserField::LastModified => FieldKind::Time,
        }
    }
}

impl Field for GroupField {
    fn sortable(self) -> bool {
        self != GroupField::Member
    }

    fn kind(self) -> FieldKind {
        match self {
            GroupField::Id | GroupField::Member => FieldKind::Id,
            GroupField::ExternalId => FieldKind::ExactText,
            GroupField::DisplayName => FieldKind::FoldedText,
            GroupField::Created | GroupField::LastModified => FieldKind::Time,
        }
    }
}

/// A literal, converted to its field's kind (folded text is lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// An id; `None` when the literal is no id this server makes (it matches nothing).
    Id(Option<Uuid>),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// An instant.
    Time(OffsetDateTime),
}

/// A filter over fields: what a store evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldFilter<F> {
    /// `field op value`; `co`, `sw`, `ew` only on text, ordering operators not on ids or
    /// booleans.
    Compare {
        /// The field.
        field: F,
        /// The operator.
        op: CompareOp,
        /// The literal.
        value: FieldValue,
    },
    /// The field has a value.
    Present(F),
    /// Both hold.
    And(Box<FieldFilter<F>>, Box<FieldFilter<F>>),
    /// Either holds.
    Or(Box<FieldFilter<F>>, Box<FieldFilter<F>>),
    /// The inner filter does not hold.
    Not(Box<FieldFilter<F>>),
}

/// A record's value of a field, as [`FieldFilter::matches`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldData<'a> {
    /// No value.
    Absent,
    /// One id.
    Id(Uuid),
    /// Several ids (a group's members).
    Ids(&'a [Uuid]),
    /// Text (lowercased for folded fields).
    Text(Cow<'a, str>),
    /// A boolean.
    Bool(bool),
    /// An instant.
    Time(OffsetDateTime),
}

impl<F: Field> FieldFilter<F> {
    /// Whether a record whose fields `data` reads matches: the meaning every store
    /// reproduces. A comparison on an absent value does not hold (so `ne` and `not` hold).
    pub fn matches<'a>(&self, data: &dyn Fn(F) -> FieldData<'a>) -> bool {
        match self {
            FieldFilter::And(a, b) => a.matches(data) && b.matches(data),
            FieldFilter::Or(a, b) => a.matches(data) || b.matches(data),
            FieldFilter::Not(inner) => !inner.matches(data),
            FieldFilter::Present(field) => match data(*field) {
                FieldData::Absent => false,
                FieldData::Ids(ids) => !ids.is_empty(),
                FieldData::Text(t) => !t.is_empty(),
                _ => true,
            },
            FieldFilter::Compare { field, op, value } => {
                if *op == CompareOp::Ne {
                    return !compare(&data(*field), CompareOp::Eq, value);
                }
                compare(&data(*field), *op, value)
            }
        }
    }
}

impl FieldData<'_> {
    /// The order of a sort by this field: absent values first, then by value (text by its
    /// bytes, `false` before `true`); what SQL stores reproduce with `NULLS FIRST`.
    pub fn sort_cmp(&self, other: &FieldData<'_>) -> Ordering {
        fn rank(d: &FieldData<'_>) -> u8 {
            match d {
                FieldData::Absent => 0,
                _ => 1,
            }
        }
        match (self, other) {
            (FieldData::Id(a), FieldData::Id(b)) => a.cmp(b),
            (FieldData::Text(a), FieldData::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (FieldData::Bool(a), FieldData::Bool(b)) => a.cmp(b),
            (FieldData::Time(a), FieldData::Time(b)) => a.cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

fn compare(actual: &FieldData<'_>, op: CompareOp, expected: &FieldValue) -> bool {
    match (actual, expected) {
        (FieldData::Id(a), FieldValue::Id(b)) => op == CompareOp::Eq && Some(*a) == *b,
        (FieldData::Ids(ids), FieldValue::Id(b)) => {
            op == CompareOp::Eq && b.is_some_and(|b| ids.contains(&b))
        }
        (FieldData::Bool(a), FieldValue::Bool(b)) => op == CompareOp::Eq && a == b,
        (FieldData::Time(a), FieldValue::Time(b)) => ordered(a.cmp(b), op),
        (FieldData::Text(a), FieldValue::Text(b)) => match op {
            CompareOp::Co => a.contains(b.as_str()),
            CompareOp::Sw => a.starts_with(b.as_str()),
            CompareOp::Ew => a.ends_with(b.as_str()),
            _ => ordered(a.as_ref().cmp(b.as_str()), op),
        },
        _ => false,
    }
}

fn ordered(ordering: Ordering, op: CompareOp) -> bool {
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

/// The field an attribute path names, for one resource kind.
pub trait Resolve: Field {
    /// The attribute paths that name a field, for the error that refuses another.
    const FILTERABLE: &'static str;

    /// The field `path` names (`emails.value`, `meta.created`, ...), if filterable.
    fn resolve(path: &AttrPath) -> Option<Self>;
}

/// `name` or `name.sub`, lowercased, without the core schema's URN.
fn dotted(path: &AttrPath, core: &str) -> Option<String> {
    if path
        .uri
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(core))
    {
        return None;
    }
    Some(match &path.sub {
        Some(sub) => format!("{}.{}", path.name, sub).to_ascii_lowercase(),
        None => path.name.to_ascii_lowercase(),
    })
}

impl Resolve for UserField {
    const FILTERABLE: &'static str = "id, userName, externalId, displayName, emails.value, active, meta.created, meta.lastModified";

    fn resolve(path: &AttrPath) -> Option<Self> {
        Some(match dotted(path, USER_SCHEMA)?.as_str() {
            "id" => UserField::Id,
            "username" => UserField::UserName,
            "externalid" => UserField::ExternalId,
            "displayname" => UserField::DisplayName,
            "emails" | "emails.value" => UserField::Email,
            "active" => UserField::Active,
            "meta.created" => UserField::Created,
            "meta.lastmodified" => UserField::LastModified,
            _ => return None,
        })
    }
}

impl Resolve for GroupField {
    const FILTERABLE: &'static str =
        "id, displayName, externalId, members.value, meta.created, meta.lastModified";

    fn resolve(path: &AttrPath) -> Option<Self> {
        Some(match dotted(path, GROUP_SCHEMA)?.as_str() {
            "id" => GroupField::Id,
            "displayname" => GroupField::DisplayName,
            "externalid" => GroupField::ExternalId,
            "members" | "members.value" => GroupField::Member,
            "meta.created" => GroupField::Created,
            "meta.lastmodified" => GroupField::LastModified,
            _ => return None,
        })
    }
}

/// Resolves a parsed filter to fields, refusing what is not indexed or not comparable.
pub fn resolve_filter<F: Resolve>(filter: &Filter) -> Result<FieldFilter<F>, ScimError> {
    Ok(match filter {
        Filter::And(a, b) => {
            FieldFilter::And(Box::new(resolve_filter(a)?), Box::new(resolve_filter(b)?))
        }
        Filter::Or(a, b) => {
            FieldFilter::Or(Box::new(resolve_filter(a)?), Box::new(resolve_filter(b)?))
        }
        Filter::Not(inner) => FieldFilter::Not(Box::new(resolve_filter(inner)?)),
        Filter::Present(path) => FieldFilter::Present(field::<F>(path)?),
        Filter::Compare { path, op, value } => {
            let field = field::<F>(path)?;
            comparison(field, *op, value)?
        }
        Filter::ValuePath { path, filter } => {
            // `emails[value eq "x"]`, `members[value eq "x"]`: the one sub-attribute
            // indexed is `value`.
            let inner = resolve_filter::<ValueOnly>(filter)?;
            rebase(inner, field::<F>(path)?)?
        }
    })
}

fn field<F: Resolve>(path: &AttrPath) -> Result<F, ScimError> {
    F::resolve(path).ok_or_else(|| {
        ScimError::bad_request(
            ScimType::InvalidFilter,
            format!(
                "{path} cannot be filtered on; the filterable attributes are {}",
                F::FILTERABLE
            ),
        )
    })
}

fn invalid(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidFilter, detail)
}

fn comparison<F: Field>(
    field: F,
    op: CompareOp,
    value: &CompareValue,
) -> Result<FieldFilter<F>, ScimError> {
    if *value == CompareValue::Null {
        // `eq null`: absent; `ne null`: present.
        let present = FieldFilter::Present(field);
        return match op {
            CompareOp::Eq => Ok(FieldFilter::Not(Box::new(present))),
            CompareOp::Ne => Ok(present),
            _ => Err(invalid(format!(
                "null compares with eq and ne only, not {}",
                op.as_str()
            ))),
        };
    }
    if let CompareValue::Str(s) = value
        && s.chars().any(char::is_control)
    {
        return Err(invalid(
            "a filter's string has control characters; no stored value has them".into(),
        ));
    }
    let kind = field.kind();
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let converted = match (kind, value) {
        (FieldKind::Id, CompareValue::Str(s)) if !ordering && !substring => {
            FieldValue::Id(Uuid::parse_str(s).ok())
        }
        (FieldKind::ExactText, CompareValue::Str(s)) => FieldValue::Text(s.clone()),
        (FieldKind::FoldedText, CompareValue::Str(s)) => FieldValue::Text(s.to_lowercase()),
        (FieldKind::Bool, CompareValue::Bool(b)) if !ordering && !substring => FieldValue::Bool(*b),
        (FieldKind::Time, CompareValue::Str(s)) if !substring => FieldValue::Time(
            OffsetDateTime::parse(s, &Rfc3339)
                .map_err(|_| invalid(format!("{s:?} is not an RFC 3339 date-time")))?,
        ),
        _ => {
            return Err(invalid(format!(
                "{field:?} does not support {} {value}",
                op.as_str()
            )));
        }
    };
    Ok(FieldFilter::Compare {
        field,
        op,
        value: converted,
    })
}

/// The one field of a value path's inner filter: its `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ValueOnly;

impl Field for ValueOnly {
    fn kind(self) -> FieldKind {
        // Checked again once rebased onto the real field.
        FieldKind::ExactText
    }
}

impl Resolve for ValueOnly {
    const FILTERABLE: &'static str = "value";

    fn resolve(path: &AttrPath) -> Option<Self> {
        (path.uri.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("value"))
            .then_some(ValueOnly)
    }
}

/// The inner filter of `field[...]` on `field` itself; literals are converted again for
/// the field's kind.
fn rebase<F: Field>(filter: FieldFilter<ValueOnly>, field: F) -> Result<FieldFilter<F>, ScimError> {
    Ok(match filter {
        FieldFilter::And(a, b) => {
            FieldFilter::And(Box::new(rebase(*a, field)?), Box::new(rebase(*b, field)?))
        }
        FieldFilter::Or(a, b) => {
            FieldFilter::Or(Box::new(rebase(*a, field)?), Box::new(rebase(*b, field)?))
        }
        FieldFilter::Not(inner) => FieldFilter::Not(Box::new(rebase(*inner, field)?)),
        FieldFilter::Present(_) => FieldFilter::Present(field),
        FieldFilter::Compare {
            op,
            value: FieldValue::Text(s),
            ..
        } => comparison(field, op, &CompareValue::Str(s))?,
        FieldFilter::Compare { op, .. } => {
            return Err(invalid(format!(
                "{field:?} does not support {} with that value",
                op.as_str()
            )));
        }
    })
}

/// The sort of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<F> {
    /// The field; `None` sorts by creation.
    pub by: Option<F>,
    /// Descending when true.
    pub descending: bool,
}

/// A list request, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<F> {
    /// Which resources; `None` for all of the connection's.
    pub filter: Option<FieldFilter<F>>,
    /// Their order (then by id).
    pub sort: Sort<F>,
    /// How many to skip (`startIndex - 1`).
    pub offset: usize,
    /// How many to return, at most [`MAX_COUNT`] (0 counts without returning any).
    pub count: usize,
}

/// The raw list parameters (query string or `/.search` body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// `filter`.
    pub filter: Option<String>,
    /// `sortBy`.
    pub sort_by: Option<String>,
    /// `sortOrder`: `ascending` or `descending`.
    pub sort_order: Option<String>,
    /// `startIndex` (1-based).
    pub start_index: Option<i64>,
    /// `count`.
    pub count: Option<i64>,
}

impl ListParams {
    /// Resolves the parameters for fields `F`.
    pub fn resolve<F: Resolve>(&self) -> Result<ListQuery<F>, ScimError> {
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(resolve_filter(&Filter::parse(text)?)?),
        };
        let by = match self.sort_by.as_deref() {
            None | Some("") => None,
            Some(path) => {
                let parsed = Filter::parse(&format!("{path} pr"))
                    .ok()
                    .and_then(|f| match f {
                        Filter::Present(path) => F::resolve(&path),
                        _ => None,
                    })
                    .filter(|f| f.sortable());
                Some(parsed.ok_or_else(|| {
                    ScimError::invalid_value(format!("{path} cannot be sorted on"))
                })?)
            }
        };
        let descending = match self.sort_order.as_deref() {
            None | Some("") => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(_) => {
                return Err(ScimError::invalid_value(
                    "sortOrder is ascending or descending",
                ));
            }
        };
        // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self.count.map_or(DEFAULT_COUNT, |c| {
            usize::try_from(c.max(0))
                .unwrap_or(MAX_COUNT)
                .min(MAX_COUNT)
        });
        Ok(ListQuery {
            filter,
            sort: Sort { by, descending },
            offset: usize::try_from(start - 1).unwrap_or(usize::MAX),
            count,
        })
    }
}

#[cfg(test)]
mod tests;
