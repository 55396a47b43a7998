//! `/auth/groups`, members and invites, by role: owner, admin, member, non-member.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use time::Duration;

fn group_path(id: &str) -> String {
    format!("/auth/groups/{id}")
}

fn member_path(group: &str, member: &str) -> String {
    format!("/auth/groups/{group}/members/{member}")
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

// --- groups ----------------------------------------------------------------------------

#[tokio::test]
async fn create_a_group_and_become_its_owner() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    let res = app
        .send(post("/auth/groups").bearer(&a.token).json(json!({
            "name": "Acme", "slug": "acme", "type": "org", "tags": { "plan": "pro" }
        })))
        .await;
    let group = res.expect(StatusCode::CREATED);
    assert_eq!(group["name"], "Acme");
    assert_eq!(group["slug"], "acme");
    assert_eq!(group["type"], "org");
    assert_eq!(group["tags"], json!({ "plan": "pro" }));
    let mine = app
        .send(get("/auth/groups").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(items(&mine).len(), 1);
    assert_eq!(mine["items"][0]["group"]["id"], group["id"]);
    assert_eq!(mine["items"][0]["member"]["role"], "owner");
    assert_eq!(mine["items"][0]["member"]["user_id"], a.id.as_str());
    let b = app.sign_up("b@example.com").await;
    let theirs = app
        .send(get("/auth/groups").bearer(&b.token))
        .await
        .expect(StatusCode::OK);
    assert!(items(&theirs).is_empty());
}

#[tokio::test]
async fn create_group_refuses_taken_slugs_and_bad_input() {
    let app = TestApp::new();
    let a = app.sign_up("a@example.com").await;
    app.group(&a, json!({ "name": "Acme", "slug": "acme" }))
        .await;
    let res = app
        .send(
            post("/auth/groups")
                .bearer(&a.token)
                .json(json!({ "name": "Other", "slug": "acme" })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "SLUG_TAKEN");
    for body in [
        json!({ "name": "" }),
        json!({ "name": "n".repeat(1_000_000) }),
        json!({ "name": "x", "slug": "Not A Slug" }),
        json!({ "name": "x", "type": "UPPER" }),
        json!({ "name": "x", "extend": "not an object" }),
    ] {
        let res = app
            .send(post("/auth/groups").bearer(&a.token).json(body))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    for body in [
        json!({}),
        json!({ "name": 1 }),
        json!({ "name": "x", "owner": "me" }),
    ] {
        let res = app
            .send(post("/auth/groups").bearer(&a.token).json(body))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    }
    let mine = app
        .send(get("/auth/groups").bearer(&a.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(items(&mine).len(), 1);
}

#[tokio::test]
async fn subgroups_need_group_create_on_the_parent() {
    let app = TestApp::new();
    let org = app.org().await;
    let child = |parent: &str| json!({ "name": "Team", "parent_id": parent });
    let res = app
        .send(
            post("/auth/groups")
                .bearer(&org.owner.token)
                .json(child(&org.group)),
        )
        .await;
    assert_eq!(
        res.expect(StatusCode::CREATED)["parent_id"],
        org.group.as_str()
    );
    for who in [&org.admin, &org.member] {
        let res = app
            .send(
                post("/auth/groups")
                    .bearer(&who.token)
                    .json(child(&org.group)),
            )
            .await;
        assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    let res = app
        .send(
            post("/auth/groups")
                .bearer(&org.stranger.token)
                .json(child(&org.group)),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let res = app
        .send(
            post("/auth/groups")
                .bearer(&org.owner.token)
                .json(child(&unknown_id())),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
}

#[tokio::test]
async fn get_group_by_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = group_path(&org.group);
    for who in [&org.owner, &org.admin, &org.member] {
        let group = app
            .send(get(&path).bearer(&who.token))
            .await
            .expect(StatusCode::OK);
        assert_eq!(group["id"], org.group.as_str());
    }
    let res = app.send(get(&path).bearer(&org.stranger.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let res = app
        .send(get(&group_path(&unknown_id())).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    for bad in ["not-a-uuid", "%FF"] {
        let res = app
            .send(get(&group_path(bad)).bearer(&org.owner.token))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    let res = app.send(get(&path)).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
}

#[tokio::test]
async fn a_parents_owner_reaches_the_child_group() {
    let app = TestApp::new();
    let org = app.org().await;
    let child = app
        .group(
            &org.owner,
            json!({ "name": "Team", "parent_id": org.group }),
        )
        .await;
    // The admin of the parent inherits into the child.
    let group = app
        .send(get(&group_path(&child)).bearer(&org.admin.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(group["parent_id"], org.group.as_str());
    let res = app
        .send(get(&group_path(&child)).bearer(&org.stranger.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
}

#[tokio::test]
async fn update_group_by_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = group_path(&org.group);
    let group = app
        .send(
            patch(&path)
                .bearer(&org.admin.token)
                .json(json!({ "name": "Acme Inc" })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(group["name"], "Acme Inc");
    assert_eq!(group["slug"], "acme");
    let res = app
        .send(
            patch(&path)
                .bearer(&org.member.token)
                .json(json!({ "name": "Mine" })),
        )
        .await;
    let error = assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert!(error["message"].as_str().unwrap().contains("group:update"));
    let res = app
        .send(
            patch(&path)
                .bearer(&org.stranger.token)
                .json(json!({ "name": "Mine" })),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let got = app
        .send(get(&path).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(got["name"], "Acme Inc");
}

#[tokio::test]
async fn only_an_owner_moves_a_group_out_of_its_tree() {
    let app = TestApp::new();
    let org = app.org().await;
    let team = app
        .group(
            &org.owner,
            json!({ "name": "Team", "parent_id": org.group }),
        )
        .await;
    // The admin owns an organization of their own and tries to carry the team off to it,
    // or to cut it loose as a root.
    let theirs = app.group(&org.admin, json!({ "name": "Admin's" })).await;
    for target in [json!(theirs), Value::Null] {
        let res = app
            .send(
                patch(&group_path(&team))
                    .bearer(&org.admin.token)
                    .json(json!({ "parent_id": target })),
            )
            .await;
        let error = assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
        assert!(error["message"].as_str().unwrap().contains("group:delete"));
    }
    let got = app
        .send(get(&group_path(&team)).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(got["parent_id"], org.group.as_str());
    // The owner may move it to a root of their own.
    let moved = app
        .send(
            patch(&group_path(&team))
                .bearer(&org.owner.token)
                .json(json!({ "parent_id": null })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(moved["parent_id"], Value::Null);
}

#[tokio::test]
async fn update_group_refuses_conflicts_and_bad_input() {
    let app = TestApp::new();
    let org = app.org().await;
    app.group(&org.owner, json!({ "name": "Other", "slug": "other" }))
        .await;
    let child = app
        .group(
            &org.owner,
            json!({ "name": "Team", "parent_id": org.group }),
        )
        .await;
    let path = group_path(&org.group);
    let res = app
        .send(
            patch(&path)
                .bearer(&org.owner.token)
                .json(json!({ "slug": "other" })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "SLUG_TAKEN");
    let res = app
        .send(
            patch(&path)
                .bearer(&org.owner.token)
                .json(json!({ "parent_id": child })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "GROUP_CYCLE");
    for (body, code) in [
        (json!({ "name": "" }), "INVALID_INPUT"),
        (json!({ "name": "x".repeat(1_000_000) }), "INVALID_INPUT"),
        (json!({ "slug": "Bad Slug" }), "INVALID_INPUT"),
        (json!({ "name": ["x"] }), "INVALID_BODY"),
        (json!({ "nmae": "typo" }), "INVALID_BODY"),
        (json!({ "parent_id": "nope" }), "INVALID_BODY"),
    ] {
        let res = app
            .send(patch(&path).bearer(&org.owner.token).json(body))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    // Moving under a group where you may not create is refused.
    let foreign = app.group(&org.stranger, json!({ "name": "Theirs" })).await;
    let res = app
        .send(
            patch(&path)
                .bearer(&org.owner.token)
                .json(json!({ "parent_id": foreign })),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
}

#[tokio::test]
async fn delete_group_needs_group_delete() {
    let app = TestApp::new();
    let org = app.org().await;
    app.group(
        &org.owner,
        json!({ "name": "Team", "parent_id": org.group }),
    )
    .await;
    let path = group_path(&org.group);
    for who in [&org.admin, &org.member] {
        let res = app.send(delete(&path).bearer(&who.token)).await;
        assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    let res = app.send(delete(&path).bearer(&org.stranger.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let body = app
        .send(delete(&path).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(body, json!({ "groups_deleted": 2 }));
    let res = app.send(get(&path).bearer(&org.owner.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let mine = app
        .send(get("/auth/groups").bearer(&org.member.token))
        .await
        .expect(StatusCode::OK);
    assert!(items(&mine).is_empty());
}

// --- members ---------------------------------------------------------------------------

#[tokio::test]
async fn list_members_by_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = format!("/auth/groups/{}/members", org.group);
    let page = app
        .send(get(&path).bearer(&org.member.token))
        .await
        .expect(StatusCode::OK);
    let mut roles: Vec<&str> = items(&page)
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    roles.sort_unstable();
    assert_eq!(roles, ["admin", "member", "owner"]);
    let res = app.send(get(&path).bearer(&org.stranger.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let page = app
        .send(get(&format!("{path}?limit=1")).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(items(&page).len(), 1);
    assert!(page["next_cursor"].is_string());
    let res = app
        .send(get(&format!("{path}?limit=0")).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
}

#[tokio::test]
async fn add_member_by_role() {
    // Direct adds of other users: the app opted in.
    let app = TestApp::with_config(direct_adds());
    let org = app.org().await;
    let newcomer = app.sign_up("new@example.com").await;
    let path = format!("/auth/groups/{}/members", org.group);
    let add = |user: &str| json!({ "user_id": user });
    let res = app
        .send(
            post(&path)
                .bearer(&org.member.token)
                .json(add(&newcomer.id)),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app
        .send(
            post(&path)
                .bearer(&org.stranger.token)
                .json(add(&newcomer.id)),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let member = app
        .send(post(&path).bearer(&org.admin.token).json(add(&newcomer.id)))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(member["role"], "member");
    assert_eq!(member["status"], "active");
    assert_eq!(member["user_id"], newcomer.id.as_str());
    let res = app
        .send(post(&path).bearer(&org.admin.token).json(add(&newcomer.id)))
        .await;
    assert_error(&res, StatusCode::CONFLICT, "DUPLICATE_MEMBERSHIP");
    let res = app
        .send(
            post(&path)
                .bearer(&org.admin.token)
                .json(add(&unknown_id())),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "USER_NOT_FOUND");
    let other = app.sign_up("other@example.com").await;
    for (body, code) in [
        (
            json!({ "user_id": other.id, "role": "emperor" }),
            "INVALID_INPUT",
        ),
        (json!({ "user_id": "not-a-uuid" }), "INVALID_BODY"),
        (json!({ "role": "member" }), "INVALID_BODY"),
        (
            json!({ "user_id": other.id, "status": "sleeping" }),
            "INVALID_BODY",
        ),
    ] {
        let res = app
            .send(post(&path).bearer(&org.owner.token).json(body))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
}

#[tokio::test]
async fn adding_another_user_directly_needs_their_consent_by_default() {
    let app = TestApp::new();
    let org = app.org().await;
    let newcomer = app.sign_up("new@example.com").await;
    let path = format!("/auth/groups/{}/members", org.group);
    for role in ["member", "owner"] {
        let res = app
            .send(
                post(&path)
                    .bearer(&org.owner.token)
                    .json(json!({ "user_id": newcomer.id, "role": role })),
            )
            .await;
        assert_error(&res, StatusCode::FORBIDDEN, "INVITE_REQUIRED");
    }
    // Adding oneself (to a team below the org, as the admin one is there) is no one
    // else's consent.
    let team = app
        .group(
            &org.owner,
            json!({ "name": "Team", "slug": "team", "parent_id": org.group }),
        )
        .await;
    let me = app
        .send(
            post(&format!("/auth/groups/{team}/members"))
                .bearer(&org.admin.token)
                .json(json!({ "user_id": org.admin.id, "role": "admin" })),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(me["user_id"], org.admin.id.as_str());
}

#[tokio::test]
async fn an_admin_cannot_grant_the_owner_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = member_path(&org.group, &org.member_membership);
    let res = app
        .send(
            patch(&path)
                .bearer(&org.admin.token)
                .json(json!({ "role": "owner" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app
        .send(
            patch(&member_path(&org.group, &org.admin_membership))
                .bearer(&org.admin.token)
                .json(json!({ "role": "owner" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let member = app
        .send(
            patch(&path)
                .bearer(&org.admin.token)
                .json(json!({ "role": "admin" })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(member["role"], "admin");
    let member = app
        .send(
            patch(&path)
                .bearer(&org.owner.token)
                .json(json!({ "role": "owner" })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(member["role"], "owner");
    let res = app
        .send(
            patch(&path)
                .bearer(&org.owner.token)
                .json(json!({ "role": "emperor" })),
        )
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
}

#[tokio::test]
async fn an_admin_cannot_demote_remove_or_add_an_owner() {
    let app = TestApp::new();
    let org = app.org().await;
    // A second owner, so the last-owner guard is not what refuses.
    app.send(
        patch(&member_path(&org.group, &org.member_membership))
            .bearer(&org.owner.token)
            .json(json!({ "role": "owner" })),
    )
    .await
    .expect(StatusCode::OK);
    let owner = member_path(&org.group, &org.owner_membership);
    let res = app
        .send(
            patch(&owner)
                .bearer(&org.admin.token)
                .json(json!({ "role": "member" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app.send(delete(&owner).bearer(&org.admin.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app
        .send(
            post(&format!("/auth/groups/{}/members", org.group))
                .bearer(&org.admin.token)
                .json(json!({ "user_id": org.stranger.id, "role": "owner" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    // The other owner may.
    app.send(delete(&owner).bearer(&org.member.token))
        .await
        .expect(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn update_member_by_role_and_id() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = member_path(&org.group, &org.admin_membership);
    let res = app
        .send(
            patch(&path)
                .bearer(&org.member.token)
                .json(json!({ "status": "suspended" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app
        .send(
            patch(&path)
                .bearer(&org.stranger.token)
                .json(json!({ "status": "suspended" })),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let res = app
        .send(
            patch(&member_path(&org.group, &unknown_id()))
                .bearer(&org.owner.token)
                .json(json!({ "status": "suspended" })),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "MEMBER_NOT_FOUND");
    let res = app
        .send(
            patch(&member_path(&org.group, "nope"))
                .bearer(&org.owner.token)
                .json(json!({})),
        )
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    // A membership of another group is not found through this one.
    let other = app.group(&org.owner, json!({ "name": "Other" })).await;
    let res = app
        .send(
            patch(&member_path(&other, &org.admin_membership))
                .bearer(&org.owner.token)
                .json(json!({ "status": "suspended" })),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "MEMBER_NOT_FOUND");
    for (body, code) in [
        (json!({ "status": "sleeping" }), "INVALID_BODY"),
        (json!({ "rol": "admin" }), "INVALID_BODY"),
        (json!({ "extend": [1] }), "INVALID_INPUT"),
    ] {
        let res = app
            .send(patch(&path).bearer(&org.owner.token).json(body))
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let member = app
        .send(
            patch(&path)
                .bearer(&org.owner.token)
                .json(json!({ "status": "suspended" })),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(member["status"], "suspended");
    // Suspended: the admin's rights are gone.
    let res = app
        .send(get(&group_path(&org.group)).bearer(&org.admin.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_or_leave() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = member_path(&org.group, &org.owner_membership);
    let res = app
        .send(
            patch(&path)
                .bearer(&org.owner.token)
                .json(json!({ "role": "admin" })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "LAST_OWNER");
    // An admin may not touch an owner at all.
    let res = app
        .send(
            patch(&path)
                .bearer(&org.admin.token)
                .json(json!({ "role": "member" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app.send(delete(&path).bearer(&org.owner.token)).await;
    assert_error(&res, StatusCode::CONFLICT, "LAST_OWNER");
    // With a second owner, the first may leave.
    app.send(
        patch(&member_path(&org.group, &org.admin_membership))
            .bearer(&org.owner.token)
            .json(json!({ "role": "owner" })),
    )
    .await
    .expect(StatusCode::OK);
    let res = app.send(delete(&path).bearer(&org.owner.token)).await;
    assert_eq!(res.expect(StatusCode::NO_CONTENT), Value::Null);
    let res = app
        .send(get(&group_path(&org.group)).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
}

#[tokio::test]
async fn remove_member_by_role_or_leave() {
    let app = TestApp::new();
    let org = app.org().await;
    let admin_path = member_path(&org.group, &org.admin_membership);
    let member_path_ = member_path(&org.group, &org.member_membership);
    let res = app
        .send(delete(&admin_path).bearer(&org.member.token))
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app
        .send(delete(&admin_path).bearer(&org.stranger.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let res = app
        .send(delete(&member_path(&org.group, &unknown_id())).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "MEMBER_NOT_FOUND");
    let res = app
        .send(delete(&member_path(&org.group, "nope")).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    // Anyone may leave.
    app.send(delete(&member_path_).bearer(&org.member.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    let res = app
        .send(get(&group_path(&org.group)).bearer(&org.member.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    app.send(delete(&admin_path).bearer(&org.owner.token))
        .await
        .expect(StatusCode::NO_CONTENT);
    let res = app.send(delete(&admin_path).bearer(&org.owner.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "MEMBER_NOT_FOUND");
}

// --- invites ---------------------------------------------------------------------------

/// Creates an invite into the org's group as `by`; returns (id, token).
async fn invite(app: &TestApp, org: &Org, by: &Client, body: Value) -> (String, String) {
    let res = app
        .send(
            post(&format!("/auth/groups/{}/invites", org.group))
                .bearer(&by.token)
                .json(body),
        )
        .await;
    let v = res.expect(StatusCode::CREATED);
    (id_of(&v["invite"]), str_of(&v["token"]))
}

async fn accept(app: &TestApp, who: &Client, token: &str) -> Res {
    app.send(
        post("/auth/invites/accept")
            .bearer(&who.token)
            .json(json!({ "token": token })),
    )
    .await
}

#[tokio::test]
async fn an_invite_accepted_by_another_user_makes_a_member() {
    let app = TestApp::new();
    let org = app.org().await;
    let res = app
        .send(
            post(&format!("/auth/groups/{}/invites", org.group))
                .bearer(&org.owner.token)
                .json(json!({ "role": "admin" })),
        )
        .await;
    let created = res.expect(StatusCode::CREATED);
    let token = str_of(&created["token"]);
    assert_eq!(created["invite"]["status"], "pending");
    assert_eq!(created["invite"]["inviter_id"], org.owner.id.as_str());
    assert!(created["invite"].get("token_hash").is_none());
    let listed = app
        .send(get(&format!("/auth/groups/{}/invites", org.group)).bearer(&org.admin.token))
        .await;
    assert!(!listed.text().contains(&token));
    assert_eq!(items(&listed.expect(StatusCode::OK)).len(), 1);

    let newcomer = app.sign_up("new@example.com").await;
    let body = accept(&app, &newcomer, &token).await.expect(StatusCode::OK);
    assert_eq!(body["invite"]["status"], "accepted");
    assert_eq!(body["invite"]["accepted_by"], newcomer.id.as_str());
    assert_eq!(body["member"]["user_id"], newcomer.id.as_str());
    assert_eq!(body["member"]["role"], "admin");
    let mine = app
        .send(get("/auth/groups").bearer(&newcomer.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine["items"][0]["group"]["id"], org.group.as_str());
    app.send(get(&group_path(&org.group)).bearer(&newcomer.token))
        .await
        .expect(StatusCode::OK);

    let twice = accept(&app, &newcomer, &token).await;
    assert_error(&twice, StatusCode::CONFLICT, "INVITE_NOT_PENDING");
    let other = accept(&app, &org.stranger, &token).await;
    assert_error(&other, StatusCode::CONFLICT, "INVITE_NOT_PENDING");
}

#[tokio::test]
async fn an_invite_from_a_demoted_admin_is_refused_at_acceptance() {
    let app = TestApp::new();
    let org = app.org().await;
    let (_, token) = invite(&app, &org, &org.admin, json!({ "role": "admin" })).await;
    app.send(
        patch(&member_path(&org.group, &org.admin_membership))
            .bearer(&org.owner.token)
            .json(json!({ "role": "member" })),
    )
    .await
    .expect(StatusCode::OK);
    let newcomer = app.sign_up("new@example.com").await;
    let res = accept(&app, &newcomer, &token).await;
    assert_error(&res, StatusCode::FORBIDDEN, "INVITE_INVITER_UNAUTHORIZED");
}

#[tokio::test]
async fn an_invite_expiry_beyond_the_cap_is_422() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = format!("/auth/groups/{}/invites", org.group);
    for expires_at in ["9999-12-31T00:00:00Z", "2030-03-01T00:00:00Z"] {
        let res = app
            .send(
                post(&path)
                    .bearer(&org.owner.token)
                    .json(json!({ "expires_at": expires_at })),
            )
            .await;
        assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    }
    invite(
        &app,
        &org,
        &org.owner,
        json!({ "expires_at": "2030-01-20T00:00:00Z" }),
    )
    .await;
}

#[tokio::test]
async fn creating_invites_by_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = format!("/auth/groups/{}/invites", org.group);
    let res = app
        .send(post(&path).bearer(&org.member.token).json(json!({})))
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app
        .send(post(&path).bearer(&org.stranger.token).json(json!({})))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    // An admin cannot invite an owner.
    let res = app
        .send(
            post(&path)
                .bearer(&org.admin.token)
                .json(json!({ "role": "owner" })),
        )
        .await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    invite(&app, &org, &org.admin, json!({ "role": "admin" })).await;
    for (body, status, code) in [
        (
            json!({ "role": "emperor" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_INPUT",
        ),
        (
            json!({ "email": "nope" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_EMAIL",
        ),
        (
            json!({ "expires_at": "2000-01-01T00:00:00Z" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_INPUT",
        ),
        (
            json!({ "group_id": org.group }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_BODY",
        ),
        (
            json!({ "email": 42 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_BODY",
        ),
    ] {
        let res = app
            .send(post(&path).bearer(&org.owner.token).json(body))
            .await;
        assert_error(&res, status, code);
    }
    let res = app
        .send(
            post(&format!("/auth/groups/{}/invites", unknown_id()))
                .bearer(&org.owner.token)
                .json(json!({})),
        )
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
}

#[tokio::test]
async fn a_second_pending_invite_for_an_address_is_409() {
    let app = TestApp::new();
    let org = app.org().await;
    invite(&app, &org, &org.owner, json!({ "email": "x@example.com" })).await;
    let res = app
        .send(
            post(&format!("/auth/groups/{}/invites", org.group))
                .bearer(&org.admin.token)
                .json(json!({ "email": "X@example.com" })),
        )
        .await;
    assert_error(&res, StatusCode::CONFLICT, "DUPLICATE_INVITE");
}

#[tokio::test]
async fn listing_invites_by_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let path = format!("/auth/groups/{}/invites", org.group);
    let res = app.send(get(&path).bearer(&org.member.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app.send(get(&path).bearer(&org.stranger.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let page = app
        .send(get(&path).bearer(&org.owner.token))
        .await
        .expect(StatusCode::OK);
    assert!(items(&page).is_empty());
}

#[tokio::test]
async fn an_email_bound_invite_needs_that_verified_address() {
    let app = TestApp::new();
    let org = app.org().await;
    let (_, token) = invite(
        &app,
        &org,
        &org.owner,
        json!({ "email": "bound@example.com" }),
    )
    .await;
    let res = accept(&app, &org.stranger, &token).await;
    assert_error(&res, StatusCode::FORBIDDEN, "INVITE_EMAIL_MISMATCH");
    // The right address, unverified, is refused too.
    let bound = app.sign_up("bound@example.com").await;
    let res = accept(&app, &bound, &token).await;
    assert_error(&res, StatusCode::FORBIDDEN, "INVITE_EMAIL_MISMATCH");
    app.send(post("/auth/verify-email/send").bearer(&bound.token))
        .await
        .expect(StatusCode::ACCEPTED);
    let code = app.code("bound@example.com", auth_core::Purpose::VerifyEmail);
    app.send(
        post("/auth/verify-email").json(json!({ "email": "bound@example.com", "code": code })),
    )
    .await
    .expect(StatusCode::OK);
    let body = accept(&app, &bound, &token).await.expect(StatusCode::OK);
    assert_eq!(body["member"]["role"], "member");
}

#[tokio::test]
async fn accepting_refuses_unknown_expired_and_duplicate() {
    let app = TestApp::new();
    let org = app.org().await;
    for token in ["x".repeat(43), "short".to_owned()] {
        let res = accept(&app, &org.stranger, &token).await;
        let error = assert_error(&res, StatusCode::NOT_FOUND, "INVITE_NOT_FOUND");
        assert!(!error["message"].as_str().unwrap().contains(&token));
    }
    let (_, token) = invite(&app, &org, &org.owner, json!({})).await;
    let res = accept(&app, &org.member, &token).await;
    assert_error(&res, StatusCode::CONFLICT, "DUPLICATE_MEMBERSHIP");
    let (_, expiring) = invite(
        &app,
        &org,
        &org.owner,
        json!({ "expires_at": "2030-01-02T00:00:00Z" }),
    )
    .await;
    app.clock.advance(Duration::days(2));
    let res = accept(&app, &org.stranger, &expiring).await;
    assert_error(&res, StatusCode::GONE, "INVITE_EXPIRED");
    let res = app
        .send(post("/auth/invites/accept").json(json!({ "token": token })))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "NOT_SIGNED_IN");
}

#[tokio::test]
async fn revoking_invites_by_role() {
    let app = TestApp::new();
    let org = app.org().await;
    let (id, token) = invite(&app, &org, &org.owner, json!({})).await;
    let path = format!("/auth/invites/{id}/revoke");
    let res = app.send(post(&path).bearer(&org.member.token)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "FORBIDDEN");
    let res = app.send(post(&path).bearer(&org.stranger.token)).await;
    assert_error(&res, StatusCode::NOT_FOUND, "INVITE_NOT_FOUND");
    let invite = app
        .send(post(&path).bearer(&org.admin.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(invite["status"], "revoked");
    let res = app.send(post(&path).bearer(&org.owner.token)).await;
    assert_error(&res, StatusCode::CONFLICT, "INVITE_NOT_PENDING");
    let res = accept(&app, &org.stranger, &token).await;
    assert_error(&res, StatusCode::CONFLICT, "INVITE_NOT_PENDING");
    let res = app
        .send(post(&format!("/auth/invites/{}/revoke", unknown_id())).bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "INVITE_NOT_FOUND");
    let res = app
        .send(post("/auth/invites/nope/revoke").bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
}

#[tokio::test]
async fn effective_members_show_the_inherited_ones_and_can_be_managed_at_their_source() {
    let app = TestApp::new();
    let org = app.org().await;
    let team = app
        .group(
            &org.owner,
            json!({ "name": "Team", "slug": "team", "parent_id": org.group }),
        )
        .await;
    let newcomer = app.sign_up("newcomer@example.com").await;
    let direct = app.add_member(&team, &newcomer, "member").await;
    let res = app
        .send(get(&format!("/auth/groups/{team}/effective-members")).bearer(&newcomer.token))
        .await;
    let body = res.expect(StatusCode::OK);
    let items = body["items"].as_array().unwrap();
    // The team's creator is its owner too; then the org's three members, inherited.
    let own: Vec<_> = items.iter().filter(|e| e["inherited"] == false).collect();
    let inherited: Vec<_> = items.iter().filter(|e| e["inherited"] == true).collect();
    assert!(own.iter().any(|e| e["member"]["id"] == direct.as_str()));
    assert_eq!(inherited.len(), 3, "{body}");
    for e in &inherited {
        assert_eq!(e["source_group_id"], org.group.as_str());
        assert_eq!(e["source_group_name"], "Acme");
        assert_eq!(e["depth"], 1);
    }
    assert_eq!(body["truncated"], false);
    // The inherited member's role changes at the org, by someone allowed there.
    let path = format!(
        "/auth/groups/{}/members/{}",
        org.group, org.member_membership
    );
    let refused = app
        .send(
            patch(&path)
                .bearer(&newcomer.token)
                .json(json!({ "role": "admin" })),
        )
        .await;
    assert_error(&refused, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let changed = app
        .send(
            patch(&path)
                .bearer(&org.owner.token)
                .json(json!({ "role": "admin" })),
        )
        .await;
    assert_eq!(changed.expect(StatusCode::OK)["role"], "admin");
    let after = app
        .send(get(&format!("/auth/groups/{team}/effective-members")).bearer(&newcomer.token))
        .await
        .expect(StatusCode::OK);
    let changed_row = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["member"]["id"] == org.member_membership.as_str())
        .unwrap()
        .clone();
    assert_eq!(changed_row["member"]["role"], "admin");
    // Strangers learn nothing.
    let res = app
        .send(get(&format!("/auth/groups/{team}/effective-members")).bearer(&org.stranger.token))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "GROUP_NOT_FOUND");
    let res = app
        .send(get("/auth/groups/nope/effective-members").bearer(&org.owner.token))
        .await;
    assert_error(&res, StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
}
