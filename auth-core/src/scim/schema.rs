//! The schemas this server speaks (RFC 7643): the core User with the Enterprise User
//! extension, and the Group. One static description drives everything: the `/Schemas`
//! and `/ResourceTypes` documents, the checks of incoming resources, PATCH, attribute
//! projection and filter matching. What is not described here is not supported.

use serde_json::{Map, Value, json};

/// The core User schema's URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Enterprise User extension's URN.
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The core Group schema's URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A JSON string.
    String,
    /// A JSON boolean.
    Boolean,
    /// A JSON integer.
    Integer,
    /// An RFC 3339 date-time string.
    DateTime,
    /// A URI: `external` or `uri`, or a resource type name (`User`, `Group`).
    Reference(&'static [&'static str]),
    /// An object of the sub-attributes.
    Complex(&'static [Attribute]),
}

impl AttrType {
    fn name(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Reference(_) => "reference",
            AttrType::Complex(_) => "complex",
        }
    }
}

/// Who may set an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the server only; ignored in requests.
    ReadOnly,
    /// Set and changed by clients.
    ReadWrite,
    /// Set by clients on creation (or when unset), never changed.
    Immutable,
}

impl Mutability {
    fn name(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
        }
    }
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always, whatever `attributes` and `excludedAttributes` say.
    Always,
    /// Unless excluded.
    Default,
}

impl Returned {
    fn name(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Default => "default",
        }
    }
}

/// One attribute of a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    /// The name, in its canonical case (names compare case-insensitively).
    pub name: &'static str,
    /// The type.
    pub kind: AttrType,
    /// Whether it holds a list of values.
    pub multi_valued: bool,
    /// Whether a resource must have it.
    pub required: bool,
    /// Whether string comparisons are case-sensitive.
    pub case_exact: bool,
    /// Who may set it.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// Unique within the server (per connection here) when true.
    pub unique: bool,
    /// Suggested values (`work`, `home`, ...); others are accepted.
    pub canonical: &'static [&'static str],
    /// Most values of a multi-valued attribute in one resource.
    pub max_values: usize,
    /// What it is.
    pub description: &'static str,
}

impl Attribute {
    /// The sub-attributes of a complex attribute (none otherwise).
    pub fn sub_attributes(&self) -> &'static [Attribute] {
        match self.kind {
            AttrType::Complex(subs) => subs,
            _ => &[],
        }
    }

    /// The sub-attribute `name` (case-insensitive).
    pub fn sub(&self, name: &str) -> Option<&'static Attribute> {
        find(self.sub_attributes(), name)
    }

    /// The attribute as RFC 7643 §7 describes it in `/Schemas`.
    fn describe(&self) -> Value {
        let mut out = Map::new();
        out.insert("name".into(), json!(self.name));
        out.insert("type".into(), json!(self.kind.name()));
        out.insert("multiValued".into(), json!(self.multi_valued));
        out.insert("description".into(), json!(self.description));
        out.insert("required".into(), json!(self.required));
        out.insert("mutability".into(), json!(self.mutability.name()));
        out.insert("returned".into(), json!(self.returned.name()));
        let uniqueness = if self.unique { "server" } else { "none" };
        out.insert("uniqueness".into(), json!(uniqueness));
        if matches!(self.kind, AttrType::String | AttrType::Reference(_)) {
            out.insert("caseExact".into(), json!(self.case_exact));
        }
        if !self.canonical.is_empty() {
            out.insert("canonicalValues".into(), json!(self.canonical));
        }
        if let AttrType::Reference(types) = self.kind {
            out.insert("referenceTypes".into(), json!(types));
        }
        if let AttrType::Complex(subs) = self.kind {
            let subs: Vec<Value> = subs.iter().map(Attribute::describe).collect();
            out.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(out)
    }
}

/// The attribute `name` of `attributes` (case-insensitive).
pub fn find(attributes: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A schema: its URN and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// The URN.
    pub id: &'static str,
    /// A short name.
    pub name: &'static str,
    /// What it describes.
    pub description: &'static str,
    /// Its attributes.
    pub attributes: &'static [Attribute],
}

impl Schema {
    /// The attribute `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        find(self.attributes, name)
    }

    /// The schema as `/Schemas` returns it, with `meta.location` under `base`.
    pub fn describe(&self, base: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attribute::describe).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base}/Schemas/{}", self.id),
            },
        })
    }
}

/// A resource type: its endpoint, core schema and extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    /// `User` or `Group`.
    pub name: &'static str,
    /// `/Users` or `/Groups`.
    pub endpoint: &'static str,
    /// The core schema.
    pub schema: &'static Schema,
    /// The extension schemas (none required here).
    pub extensions: &'static [&'static Schema],
}

impl ResourceType {
    /// The schema (core or extension) with this URN (case-insensitive).
    pub fn schema_by_urn(&self, urn: &str) -> Option<&'static Schema> {
        std::iter::once(self.schema)
            .chain(self.extensions.iter().copied())
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every schema URN of the type, core first.
    pub fn schema_urns(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.schema.id).chain(self.extensions.iter().map(|s| s.id))
    }

    /// The resource type as `/ResourceTypes` returns it.
    pub fn describe(&self, base: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": format!("{}s provisioned by the directory", self.name),
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter()
                .map(|s| json!({ "schema": s.id, "required": false }))
                .collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base}/ResourceTypes/{}", self.name),
            },
        })
    }
}

const fn attr(name: &'static str, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind: AttrType::String,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        canonical: &[],
        max_values: 1,
        description,
    }
}

const fn typed(mut a: Attribute, kind: AttrType) -> Attribute {
    a.kind = kind;
    a
}

const fn required(mut a: Attribute) -> Attribute {
    a.required = true;
    a
}

/// Most values of an ordinary multi-valued attribute (emails, addresses).
pub const MAX_VALUES: usize = 100;
/// Most members of one group.
pub const MAX_MEMBERS: usize = 100_000;

const fn multi(mut a: Attribute) -> Attribute {
    a.multi_valued = true;
    a.max_values = MAX_VALUES;
    a
}

const fn many(mut a: Attribute, max: usize) -> Attribute {
    a.multi_valued = true;
    a.max_values = max;
    a
}

const fn read_only(mut a: Attribute) -> Attribute {
    a.mutability = Mutability::ReadOnly;
    a
}

const fn immutable(mut a: Attribute) -> Attribute {
    a.mutability = Mutability::Immutable;
    a
}

const fn exact(mut a: Attribute) -> Attribute {
    a.case_exact = true;
    a
}

const fn canonical(mut a: Attribute, values: &'static [&'static str]) -> Attribute {
    a.canonical = values;
    a
}

const PRIMARY: Attribute = typed(
    attr(
        "primary",
        "Whether this is the preferred value (at most one is).",
    ),
    AttrType::Boolean,
);
const DISPLAY: Attribute = attr("display", "A human-readable name for the value.");

const NAME: [Attribute; 6] = [
    attr("formatted", "The full name, formatted for display."),
    attr("familyName", "The family name."),
    attr("givenName", "The given name."),
    attr("middleName", "The middle name(s)."),
    attr("honorificPrefix", "The honorific prefix (Ms.)."),
    attr("honorificSuffix", "The honorific suffix (III)."),
];

const EMAIL: [Attribute; 4] = [
    required(attr("value", "The email address.")),
    DISPLAY,
    canonical(
        attr("type", "The address's kind."),
        &["work", "home", "other"],
    ),
    PRIMARY,
];

const PHONE: [Attribute; 4] = [
    attr("value", "The phone number."),
    DISPLAY,
    canonical(
        attr("type", "The number's kind."),
        &["work", "home", "mobile", "fax", "pager", "other"],
    ),
    PRIMARY,
];

const ADDRESS: [Attribute; 8] = [
    attr("formatted", "The full address, formatted for display."),
    attr("streetAddress", "The street address."),
    attr("locality", "The city or locality."),
    attr("region", "The state or region."),
    attr("postalCode", "The postal code."),
    attr("country", "The country (ISO 3166-1 alpha-2)."),
    canonical(
        attr("type", "The address's kind."),
        &["work", "home", "other"],
    ),
    PRIMARY,
];

const USER_GROUP: [Attribute; 4] = [
    exact(read_only(attr("value", "The group's id."))),
    read_only(typed(
        attr("$ref", "The group's URI."),
        AttrType::Reference(&["Group"]),
    )),
    read_only(attr("display", "The group's display name.")),
    read_only(canonical(
        attr("type", "How the user belongs."),
        &["direct"],
    )),
];

const USER_ATTRIBUTES: [Attribute; 17] = [
    Attribute {
        unique: true,
        ..required(attr(
            "userName",
            "The directory's unique name for the user (unique per connection).",
        ))
    },
    typed(attr("name", "The user's name."), AttrType::Complex(&NAME)),
    attr("displayName", "The name to display."),
    attr("nickName", "The casual name."),
    typed(
        attr("profileUrl", "The user's profile page."),
        AttrType::Reference(&["external"]),
    ),
    attr("title", "The job title."),
    attr(
        "userType",
        "The relationship to the organization (Employee, Contractor).",
    ),
    attr("preferredLanguage", "The preferred language (en-US)."),
    attr("locale", "The locale for formatting (en-US)."),
    attr("timezone", "The time zone (America/Los_Angeles)."),
    typed(
        attr(
            "active",
            "Whether the user may sign in; false suspends their membership.",
        ),
        AttrType::Boolean,
    ),
    required(multi(typed(
        attr(
            "emails",
            "Email addresses; the primary one (else the first) is the account's address.",
        ),
        AttrType::Complex(&EMAIL),
    ))),
    multi(typed(
        attr("phoneNumbers", "Phone numbers."),
        AttrType::Complex(&PHONE),
    )),
    multi(typed(
        attr("addresses", "Postal addresses."),
        AttrType::Complex(&ADDRESS),
    )),
    read_only(multi(typed(
        attr(
            "groups",
            "The groups the user belongs to (set through /Groups).",
        ),
        AttrType::Complex(&USER_GROUP),
    ))),
    exact(attr("externalId", "The directory's own id for the user.")),
    exact(read_only(attr("id", "The server's id for the user."))),
];

const MANAGER: [Attribute; 3] = [
    exact(attr("value", "The manager's user id.")),
    typed(
        attr("$ref", "The manager's URI."),
        AttrType::Reference(&["User"]),
    ),
    read_only(attr("displayName", "The manager's display name.")),
];

const ENTERPRISE_ATTRIBUTES: [Attribute; 6] = [
    attr("employeeNumber", "The employee number."),
    attr("costCenter", "The cost center."),
    attr("organization", "The organization."),
    attr("division", "The division."),
    attr("department", "The department."),
    typed(
        attr("manager", "The user's manager."),
        AttrType::Complex(&MANAGER),
    ),
];

const MEMBER: [Attribute; 3] = [
    exact(immutable(attr("value", "The member's id."))),
    immutable(typed(
        attr("$ref", "The member's URI."),
        AttrType::Reference(&["User"]),
    )),
    immutable(canonical(
        attr("type", "The member's resource type."),
        &["User"],
    )),
];

const GROUP_ATTRIBUTES: [Attribute; 4] = [
    required(attr("displayName", "The group's name.")),
    many(
        typed(
            attr("members", "The users in the group."),
            AttrType::Complex(&MEMBER),
        ),
        MAX_MEMBERS,
    ),
    exact(attr("externalId", "The directory's own id for the group.")),
    exact(read_only(attr("id", "The server's id for the group."))),
];

/// The core User schema, as supported here.
pub static USER: Schema = Schema {
    id: USER_SCHEMA,
    name: "User",
    description: "A user account",
    attributes: &USER_ATTRIBUTES,
};

/// The Enterprise User extension, as supported here.
pub static ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise user",
    attributes: &ENTERPRISE_ATTRIBUTES,
};

/// The core Group schema, as supported here.
pub static GROUP: Schema = Schema {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "A group of users (a child group of the connection's organization)",
    attributes: &GROUP_ATTRIBUTES,
};

/// The User resource type (`/Users`).
pub static USER_TYPE: ResourceType = ResourceType {
    name: "User",
    endpoint: "/Users",
    schema: &USER,
    extensions: &[&ENTERPRISE_USER],
};

/// The Group resource type (`/Groups`).
pub static GROUP_TYPE: ResourceType = ResourceType {
    name: "Group",
    endpoint: "/Groups",
    schema: &GROUP,
    extensions: &[],
};

/// Every resource type served.
pub static RESOURCE_TYPES: [&ResourceType; 2] = [&USER_TYPE, &GROUP_TYPE];

/// Every schema served.
pub static SCHEMAS: [&Schema; 3] = [&USER, &ENTERPRISE_USER, &GROUP];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_in_any_case() {
        let emails = USER.attribute("EMAILS").unwrap();
        assert_eq!(emails.name, "emails");
        assert_eq!(emails.sub("VALUE").unwrap().name, "value");
        assert!(
            USER.attribute("password").is_none(),
            "passwords are not accepted"
        );
    }

    #[test]
    fn schemas_describe_every_attribute_with_its_rules() {
        let user = USER.describe("https://app.test/scim/v2");
        let attrs = user["attributes"].as_array().unwrap();
        assert_eq!(attrs.len(), USER_ATTRIBUTES.len());
        let user_name = &attrs[0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
        let emails = attrs.iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"][0]["name"], "value");
        assert_eq!(
            user["meta"]["location"],
            format!("https://app.test/scim/v2/Schemas/{USER_SCHEMA}")
        );
    }

    #[test]
    fn resource_types_name_their_schemas() {
        let user = USER_TYPE.describe("https://app.test/scim/v2");
        assert_eq!(user["endpoint"], "/Users");
        assert_eq!(
            user["schemaExtensions"][0]["schema"],
            ENTERPRISE_USER_SCHEMA
        );
        assert!(
            USER_TYPE
                .schema_by_urn(&ENTERPRISE_USER_SCHEMA.to_uppercase())
                .is_some()
        );
        assert!(GROUP_TYPE.schema_by_urn(ENTERPRISE_USER_SCHEMA).is_none());
    }
}
