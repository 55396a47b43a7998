//! PATCH requests in the shapes Entra ID, Okta and JumpCloud send, and RFC 7644's own
//! cases.

use serde_json::{Value, json};

use super::*;
use crate::scim::document::normalize;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_TYPE, USER_TYPE};

fn user() -> Document {
    normalize(
        &USER_TYPE,
        &json!({
            "userName": "ada@example.com",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Byron"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        }),
    )
    .unwrap()
}

fn patched(rt: &ResourceType, mut doc: Document, operations: Value) -> Result<Document, ScimError> {
    let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations});
    apply(rt, &mut doc, &parse_request(&body)?)?;
    Ok(doc)
}

fn patch_user(operations: Value) -> Document {
    patched(&USER_TYPE, user(), operations).unwrap()
}

fn group(members: &[&str]) -> Document {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    normalize(
        &GROUP_TYPE,
        &json!({"displayName": "Eng", "members": members}),
    )
    .unwrap()
}

fn members(doc: &Document) -> Vec<&str> {
    doc.get("members")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(|v| v["value"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn entra_replaces_a_work_address_through_a_value_path_and_a_sub_attribute() {
    let doc = patch_user(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@lovelace.test"},
        {"op": "Replace", "path": "name.familyName", "value": "Lovelace"}
    ]));
    assert_eq!(
        doc["emails"],
        json!([{"value": "ada@lovelace.test", "type": "work", "primary": true}])
    );
    assert_eq!(
        doc["name"],
        json!({"givenName": "Ada", "familyName": "Lovelace"})
    );
}

#[test]
fn entra_adds_a_first_address_of_a_kind_through_an_eq_filter() {
    let doc = patch_user(json!([
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
        {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "London"}
    ]));
    assert_eq!(
        doc["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(
        doc["addresses"],
        json!([{"type": "work", "locality": "London"}])
    );
}

#[test]
fn entra_string_booleans_and_path_less_objects_with_dotted_and_extension_keys() {
    let doc = patch_user(json!([
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "replace", "value": {
            "displayName": "Ada L.",
            "name.givenName": "Augusta Ada",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Engines",
            "id": "ignored, read-only",
            "unknownAttribute": "ignored"
        }}
    ]));
    assert_eq!(doc["active"], json!(false));
    assert_eq!(doc["displayName"], "Ada L.");
    assert_eq!(doc["name"]["givenName"], "Augusta Ada");
    assert_eq!(
        doc["name"]["familyName"], "Byron",
        "a complex replace merges"
    );
    assert_eq!(
        doc[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Engines"})
    );
    assert!(doc.get("id").is_none());
}

#[test]
fn entra_sets_the_manager_by_its_id_alone() {
    let doc = patch_user(json!([{
        "op": "Add",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "value": "2819c223-7f76-453a-919d-413861904646"
    }]));
    assert_eq!(
        doc[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"value": "2819c223-7f76-453a-919d-413861904646"})
    );
    let doc = patch_user(json!([{
        "op": "replace",
        "value": {ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "manager": {"value": "m"}}}
    }]));
    assert_eq!(
        doc[ENTERPRISE_USER_SCHEMA],
        json!({"employeeNumber": "701984", "manager": {"value": "m"}})
    );
}

#[test]
fn entra_adds_and_removes_members_by_lists_of_values() {
    let doc = patched(
        &GROUP_TYPE,
        group(&["a"]),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "b"}, {"value": "c"}]}]),
    )
    .unwrap();
    assert_eq!(members(&doc), ["a", "b", "c"]);
    let doc = patched(
        &GROUP_TYPE,
        doc,
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "a"}, {"value": "c"}]}]),
    )
    .unwrap();
    assert_eq!(members(&doc), ["b"]);
}

#[test]
fn okta_batches_member_changes_and_renames_with_the_id_in_the_body() {
    let doc = patched(
        &GROUP_TYPE,
        group(&["a", "b", "c"]),
        json!([
            {"op": "remove", "path": "members[value eq \"a\"]"},
            {"op": "remove", "path": "members[value eq \"not-a-member\"]"},
            {"op": "add", "path": "members", "value": [{"value": "d", "display": "d@example.com"}, {"value": "b"}]},
            {"op": "replace", "value": {"id": "ignored", "displayName": "Engineering"}}
        ]),
    )
    .unwrap();
    assert_eq!(
        members(&doc),
        ["b", "c", "d"],
        "adding a member twice keeps one"
    );
    assert_eq!(doc["displayName"], "Engineering");
}

#[test]
fn jumpcloud_adds_and_removes_members_by_value_lists_in_one_request() {
    // JumpCloud, like Entra ID, names members by value lists rather than RFC filters, in
    // lower case, and may send both changes in one request.
    let doc = patched(
        &GROUP_TYPE,
        group(&["a", "b"]),
        json!([
            {"op": "add", "path": "members", "value": [{"value": "c"}]},
            {"op": "remove", "path": "members", "value": [{"value": "a"}]}
        ]),
    )
    .unwrap();
    assert_eq!(members(&doc), ["b", "c"]);
}

#[test]
fn okta_deactivates_with_a_path_less_replace() {
    let doc = patch_user(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(doc["active"], json!(false));
}

#[test]
fn adding_a_primary_value_takes_primary_from_the_others() {
    let doc = patch_user(json!([
        {"op": "add", "path": "emails", "value": [{"value": "ada@home.test", "type": "home", "primary": true}]}
    ]));
    assert_eq!(
        doc["emails"],
        json!([
            {"value": "ada@example.com", "type": "work"},
            {"value": "ada@home.test", "type": "home", "primary": true}
        ])
    );
}

#[test]
fn removes_by_filter_by_sub_attribute_and_whole_attributes() {
    let doc = patch_user(json!([
        {"op": "add", "path": "emails", "value": [{"value": "ada@home.test", "type": "home"}]},
        {"op": "remove", "path": "emails[type eq \"home\"]"},
        {"op": "remove", "path": "name.givenName"},
        {"op": "remove", "path": "emails[type eq \"work\"].primary"},
        {"op": "remove", "path": "active"}
    ]));
    assert_eq!(
        doc["emails"],
        json!([{"value": "ada@example.com", "type": "work"}])
    );
    assert_eq!(doc["name"], json!({"familyName": "Byron"}));
    assert!(doc.get("active").is_none());
}

#[test]
fn what_a_put_could_not_store_a_patch_cannot_either() {
    let err = patched(
        &USER_TYPE,
        user(),
        json!([{"op": "remove", "path": "userName"}]),
    )
    .unwrap_err();
    assert_eq!(err.detail, "userName is required");
    let err = patched(
        &USER_TYPE,
        user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "b@x.test", "primary": true}, {"value": "c@x.test", "primary": true}]}]),
    )
    .unwrap_err();
    assert_eq!(err.detail, "at most one of emails is primary");
    let err = patched(
        &USER_TYPE,
        user(),
        json!([{"op": "replace", "path": "active", "value": 3}]),
    )
    .unwrap_err();
    assert_eq!(err.detail, "active must be a boolean");
}

#[test]
fn bad_operations_have_their_scim_type() {
    let cases = [
        (json!([{"op": "remove"}]), ScimType::NoTarget),
        (
            json!([{"op": "move", "path": "userName"}]),
            ScimType::InvalidSyntax,
        ),
        (
            json!([{"op": "add", "path": "userName"}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "add", "path": "favouriteColour", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "add", "path": "emails[type eq", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "add", "path": "userName[value eq \"x\"]", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "replace", "path": "emails[type co \"z\"].value", "value": "x@y.test"}]),
            ScimType::NoTarget,
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": 3}]),
            ScimType::InvalidValue,
        ),
        (json!([]), ScimType::InvalidSyntax),
        (json!("not a list"), ScimType::InvalidSyntax),
    ];
    for (operations, expected) in cases {
        let err = patched(&USER_TYPE, user(), operations.clone()).unwrap_err();
        assert_eq!(err.scim_type, Some(expected), "{operations}: {err}");
        assert_eq!(err.status, 400);
    }
    let no_schema = parse_request(&json!({"Operations": [{"op": "remove", "path": "title"}]}));
    assert_eq!(
        no_schema.unwrap_err().scim_type,
        Some(ScimType::InvalidSyntax)
    );
}
