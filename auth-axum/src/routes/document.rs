//! Completes the OpenAPI document with what the handlers' annotations share rather than
//! repeat: the answers of the extractors every route goes through (credentials, bodies,
//! ids, the store), written once here from what each operation takes, and the `links`
//! from a created resource to the operations that take its id, so that a client (or a
//! stateful fuzzer) can follow them.
//!
//! An answer an annotation already documents keeps its own description; only the
//! missing ones are added, each with the error body the API really sends.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// The answers of the credential extractors, on every operation with a security
/// requirement.
const GUARDED: [(&str, &str); 3] = [
    (
        "401",
        "NOT_SIGNED_IN (no credential), INVALID_TOKEN, SESSION_EXPIRED, SESSION_REVOKED, \
         API_KEY_INVALID, API_KEY_REVOKED, API_KEY_EXPIRED",
    ),
    (
        "403",
        "FORBIDDEN (an API key: this route needs a signed-in session), CSRF_REJECTED (a \
         session cookie on an unsafe request from another origin)",
    ),
    (
        "429",
        "RATE_LIMITED, QUOTA_EXCEEDED (the presented API key's limits)",
    ),
];

/// The answers of the JSON body extractor, on every operation with a request body.
const WITH_BODY: [(&str, &str); 2] = [
    ("413", "PAYLOAD_TOO_LARGE (over the configured body limit)"),
    (
        "422",
        "INVALID_BODY (not a JSON object of this shape, or a Content-Type other than JSON)",
    ),
];

/// The answer of the query and path extractors, on every operation with parameters.
const WITH_PARAMETERS: (&str, &str) = (
    "422",
    "INVALID_INPUT (a malformed id, an unknown or malformed query parameter), INVALID_CURSOR",
);

/// The answer of every operation that takes an id in its path.
const WITH_ID: (&str, &str) = (
    "404",
    "The id names nothing the caller may see (`*_NOT_FOUND`)",
);

/// The answer of every operation: the store (or the password hashing pool) cannot serve
/// the request now.
const ANY: (&str, &str) = (
    "503",
    "STORE_UNAVAILABLE, OVERLOADED (retry after Retry-After)",
);

/// Where a created resource's id is in a response, and the operations that take it.
struct Links {
    /// The operation whose response carries the ids.
    from: &'static str,
    /// The response's status.
    status: &'static str,
    /// The operations that take them.
    to: &'static [&'static str],
    /// Each path parameter of theirs, with the runtime expression giving its value.
    parameters: &'static [(&'static str, &'static str)],
    /// Fields of their request body, with the runtime expression giving each value.
    body: &'static [(&'static str, &'static str)],
}

/// The operations of an API key, of a group, of a membership, of an invite.
const KEY_OPERATIONS: &[&str] = &[
    "get_key",
    "update_key",
    "delete_key",
    "revoke_key",
    "rotate_key",
];
const GROUP_OPERATIONS: &[&str] = &[
    "get_group",
    "update_group",
    "delete_group",
    "list_members",
    "list_effective_members",
    "add_member",
    "list_invites",
    "create_invite",
];
const MEMBER_OPERATIONS: &[&str] = &["update_member", "remove_member"];

/// Every link of the document.
const LINKS: &[Links] = &[
    Links {
        from: "create_key",
        status: "201",
        to: KEY_OPERATIONS,
        parameters: &[("id", "$response.body#/key/id")],
        body: &[],
    },
    Links {
        from: "rotate_key",
        status: "201",
        to: KEY_OPERATIONS,
        parameters: &[("id", "$response.body#/key/id")],
        body: &[],
    },
    Links {
        from: "create_group",
        status: "201",
        to: GROUP_OPERATIONS,
        parameters: &[("id", "$response.body#/id")],
        body: &[],
    },
    Links {
        from: "add_member",
        status: "201",
        to: MEMBER_OPERATIONS,
        parameters: &[
            ("id", "$response.body#/group_id"),
            ("member_id", "$response.body#/id"),
        ],
        body: &[],
    },
    Links {
        from: "create_invite",
        status: "201",
        to: &["revoke_invite"],
        parameters: &[("id", "$response.body#/invite/id")],
        body: &[],
    },
    Links {
        from: "create_invite",
        status: "201",
        to: &["accept_invite"],
        parameters: &[],
        body: &[("token", "$response.body#/token")],
    },
    Links {
        from: "list_accounts",
        status: "200",
        to: &["unlink_account"],
        parameters: &[("id", "$response.body#/0/id")],
        body: &[],
    },
];

/// Adds the shared answers to every operation, declares every path parameter an id (a
/// UUID), and adds the links.
pub(super) fn complete(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            add_shared_responses(operation);
            declare_ids(operation);
        }
    }
    add_links(doc);
    close_tagged_unions(doc);
}

/// Rewrites each branch of an internally tagged enum (`oneOf` of `allOf: [$ref X, {the
/// tag}]`) as one object: X's properties with the tag's. utoipa's form cannot be
/// satisfied when X refuses unknown fields (`additionalProperties: false` would refuse the
/// tag itself), so no client or fuzzer could build a valid body from it; the merged form
/// says exactly what serde accepts.
fn close_tagged_unions(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let originals = components.schemas.clone();
    for schema in components.schemas.values_mut() {
        let RefOr::T(Schema::OneOf(one_of)) = schema else {
            continue;
        };
        for branch in &mut one_of.items {
            if let Some(merged) = merged_branch(branch, &originals) {
                *branch = RefOr::T(Schema::Object(merged));
            }
        }
    }
}

/// `allOf: [$ref X, {object with the tag}]` as one object, when X is an object schema.
fn merged_branch(
    branch: &RefOr<Schema>,
    schemas: &std::collections::BTreeMap<String, RefOr<Schema>>,
) -> Option<Object> {
    let RefOr::T(Schema::AllOf(all_of)) = branch else {
        return None;
    };
    let [RefOr::Ref(reference), RefOr::T(Schema::Object(tag))] = all_of.items.as_slice() else {
        return None;
    };
    let name = reference
        .ref_location
        .strip_prefix("#/components/schemas/")?;
    let Some(RefOr::T(Schema::Object(target))) = schemas.get(name) else {
        return None;
    };
    let mut merged = target.clone();
    for (property, schema) in &tag.properties {
        merged.properties.insert(property.clone(), schema.clone());
    }
    merged.required.extend(tag.required.iter().cloned());
    Some(merged)
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

fn parameters_in(operation: &Operation, place: ParameterIn) -> bool {
    operation
        .parameters
        .iter()
        .flatten()
        .any(|parameter| match parameter {
            RefOr::T(parameter) => parameter.parameter_in == place,
            RefOr::Ref(_) => false,
        })
}

fn add_shared_responses(operation: &mut Operation) {
    let mut shared = Vec::new();
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        shared.extend(GUARDED);
    }
    if operation.request_body.is_some() {
        shared.extend(WITH_BODY);
    }
    if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        shared.push(WITH_PARAMETERS);
    }
    if parameters_in(operation, ParameterIn::Path) {
        shared.push(WITH_ID);
    }
    shared.push(ANY);
    let responses = &mut operation.responses.responses;
    for (status, description) in shared {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    }
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response {
            add_error_headers(status, response);
        }
    }
}

/// An error answer: the JSON error body.
fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// `WWW-Authenticate` on a 401 (RFC 9110 §15.5.2), `Retry-After` on a 429 or a 503.
fn add_error_headers(status: &str, response: &mut utoipa::openapi::Response) {
    let (name, description) = match status {
        "401" => ("WWW-Authenticate", "The Bearer challenge (RFC 6750)"),
        "429" | "503" => ("Retry-After", "Seconds to wait before retrying"),
        _ => return,
    };
    let header = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build();
    response
        .headers
        .entry(name.to_owned())
        .or_insert(RefOr::T(header));
}

/// Every path parameter of the API is an id: a UUID (anything else is `422 INVALID_INPUT`).
fn declare_ids(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        if let RefOr::T(parameter) = parameter
            && parameter.parameter_in == ParameterIn::Path
        {
            parameter.schema = Some(RefOr::T(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into(),
            ));
        }
    }
}

fn add_links(doc: &mut OpenApi) {
    for links in LINKS {
        let Some(response) = find_operation(doc, links.from)
            .and_then(|operation| operation.responses.responses.get_mut(links.status))
        else {
            continue;
        };
        let RefOr::T(response) = response else {
            continue;
        };
        for target in links.to {
            let link = links.parameters.iter().fold(
                LinkBuilder::new().operation_id(*target),
                |link, (name, value)| link.parameter(*name, *value),
            );
            let body: serde_json::Map<String, serde_json::Value> = links
                .body
                .iter()
                .map(|(field, value)| ((*field).to_owned(), (*value).into()))
                .collect();
            let link = link
                .request_body((!body.is_empty()).then_some(serde_json::Value::Object(body)))
                .build();
            response.links.insert((*target).to_owned(), RefOr::T(link));
        }
    }
}

fn find_operation<'a>(doc: &'a mut OpenApi, operation_id: &str) -> Option<&'a mut Operation> {
    doc.paths
        .paths
        .values_mut()
        .flat_map(operations)
        .find(|operation| operation.operation_id.as_deref() == Some(operation_id))
}
