//! Every JSON request body of the API, sent to its route in the in-process app: the first
//! byte picks the route, the rest is the body (placeholders such as `$GROUP` expanded).
//! The body goes through the route's own extractor, deserialisation and service
//! validation. List routes take the rest as their query string instead.
//!
//! Invariants: no panic; no `5xx`; every error is `{"error": {"code", "message"}}` with a
//! stable code; every `401` has a challenge; no secret sent in the body (a password, code
//! or token) comes back in the answer.

#![no_main]

use auth_fuzz::world::{Answer, World, check_answer, with_world};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// How a route takes the fuzzed bytes.
#[derive(Clone, Copy)]
enum Input {
    /// As a JSON body.
    Body,
    /// As the query string.
    Query,
}

/// `(method, path, signed in as the owner, input)` of every route that takes a body or a
/// query string.
const ROUTES: &[(Method, &str, bool, Input)] = &[
    (Method::POST, "/auth/sign-up", false, Input::Body),
    (Method::POST, "/auth/sign-in", false, Input::Body),
    (Method::POST, "/auth/sign-in/email/send", false, Input::Body),
    (Method::POST, "/auth/sign-in/email", false, Input::Body),
    (Method::POST, "/auth/refresh", false, Input::Body),
    (Method::POST, "/auth/verify-email", false, Input::Body),
    (Method::POST, "/auth/password/forgot", false, Input::Body),
    (Method::POST, "/auth/password/reset", false, Input::Body),
    (Method::POST, "/auth/password/change", true, Input::Body),
    (Method::PATCH, "/auth/me", true, Input::Body),
    (Method::POST, "/auth/email/change", true, Input::Body),
    (
        Method::POST,
        "/auth/email/change/confirm",
        true,
        Input::Body,
    ),
    (Method::DELETE, "/auth/me", true, Input::Body),
    (Method::POST, "/auth/api-keys", true, Input::Body),
    (Method::PATCH, "/auth/api-keys/$KEY_ID", true, Input::Body),
    (
        Method::POST,
        "/auth/api-keys/$KEY_ID/rotate",
        true,
        Input::Body,
    ),
    (Method::POST, "/auth/groups", true, Input::Body),
    (Method::PATCH, "/auth/groups/$GROUP", true, Input::Body),
    (
        Method::POST,
        "/auth/groups/$GROUP/members",
        true,
        Input::Body,
    ),
    (
        Method::PATCH,
        "/auth/groups/$GROUP/members/$MEMBER",
        true,
        Input::Body,
    ),
    (
        Method::POST,
        "/auth/groups/$GROUP/invites",
        true,
        Input::Body,
    ),
    (Method::POST, "/auth/invites/accept", true, Input::Body),
    (Method::GET, "/auth/api-keys", true, Input::Query),
    (Method::GET, "/auth/groups", true, Input::Query),
    (
        Method::GET,
        "/auth/groups/$GROUP/members",
        true,
        Input::Query,
    ),
    (
        Method::GET,
        "/auth/groups/$GROUP/effective-members",
        true,
        Input::Query,
    ),
    (
        Method::GET,
        "/auth/groups/$GROUP/invites",
        true,
        Input::Query,
    ),
    (Method::GET, "/auth/sessions", true, Input::Query),
];

/// Body fields that carry secrets.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "new_password",
    "current_password",
    "code",
    "token",
    "refresh_token",
];

/// Query bytes, percent-encoded where a URI does not allow them as they are.
fn query(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~=&%+:,*$".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every string anywhere in `value`, with the name of the field holding it, and every
/// field name (held by `""`).
fn strings<'a>(value: &'a Value, field: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
    match value {
        Value::String(s) => out.push((field, s)),
        Value::Array(items) => items.iter().for_each(|v| strings(v, field, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            // A field name is plain text the answer may name (`unknown field ...`).
            out.push(("", k));
            strings(v, k, out);
        }),
        _ => {}
    }
}

/// No secret of the request body appears in the answer. A secret that is also sent as a
/// plain field or a field name (the same text as a name or an address) may rightly come
/// back, so those are not checked; nor are short ones, which appear anywhere by chance.
fn check_no_secret_echoed(what: &str, body: &[u8], answer: &Answer) {
    let Ok(sent) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let mut all = Vec::new();
    strings(&sent, "", &mut all);
    let answer_text = answer.text();
    for (field, secret) in &all {
        let plain_elsewhere = all
            .iter()
            .any(|(f, s)| !SECRET_FIELDS.contains(f) && s.contains(secret));
        if SECRET_FIELDS.contains(field) && secret.len() >= 8 && !plain_elsewhere {
            assert!(
                !answer_text.contains(secret),
                "{what}: the answer echoes the {field} sent: {answer_text}"
            );
        }
    }
}

/// A key the API just created (or rotated) is presented twice, as a client would use it:
/// whatever its settings (rate limit, quota, expiry), the answers pass the same checks.
fn use_created_key(world: &World, what: &str, answer: &Answer) {
    let Some(secret) = answer
        .json()
        .get("secret")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let Ok(value) = HeaderValue::from_str(&secret) else {
        panic!("{what}: a created key is not a header value");
    };
    let headers = [(HeaderName::from_static("x-api-key"), value)];
    for _ in 0..2 {
        let used = world.send(Method::GET, "/probe", None, &headers, &[]);
        check_answer(&format!("{what}, then the new key"), &used);
    }
}

fn run(world: &World, data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (method, path, signed_in, input) = &ROUTES[usize::from(selector) % ROUTES.len()];
    let token = signed_in.then_some("$SESSION");
    let what = format!("{method} {path}");
    match input {
        Input::Body => {
            let answer = world.send(method.clone(), path, token, &[], rest);
            check_answer(&what, &answer);
            check_no_secret_echoed(&what, &world.expand(rest), &answer);
            if answer.status == StatusCode::CREATED {
                use_created_key(world, &what, &answer);
            }
        }
        Input::Query => {
            let uri = format!("{path}?{}", query(rest));
            let answer = world.send(method.clone(), &uri, token, &[], &[]);
            check_answer(&what, &answer);
        }
    }
}

fuzz_target!(|data: &[u8]| with_world(|world| run(world, data)));
