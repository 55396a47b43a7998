//! Credentials as a client presents them: the first byte picks the header (or the
//! headers) and the route, the rest is the header value (placeholders such as `$SESSION`
//! and `$KEY` expanded), sent to routes behind the extractors and guards.
//!
//! Invariants: no panic; no `5xx`; every error in the JSON shape with a stable code; every
//! `401` with a `WWW-Authenticate` challenge; a request that is let through was made with
//! one of the world's real credentials (a mangled one never passes; sign-out answers any
//! session cookie, to clear it).

#![no_main]

use auth_fuzz::world::{World, check_answer, with_world};
use axum::http::{HeaderName, HeaderValue, Method, header};
use libfuzzer_sys::fuzz_target;

/// Routes behind credentials: any principal, an API-key scope, a session.
const ROUTES: &[(Method, &str)] = &[
    (Method::GET, "/probe"),
    (Method::GET, "/scoped"),
    (Method::GET, "/auth/me"),
    (Method::GET, "/auth/groups/$GROUP"),
    (Method::POST, "/auth/sign-out"),
];

/// The header a value goes in; `Cookie` under the session cookie's name.
fn header_of(selector: u8) -> (HeaderName, &'static str) {
    match selector % 4 {
        0 => (header::AUTHORIZATION, ""),
        1 => (HeaderName::from_static("x-api-key"), ""),
        2 => (header::COOKIE, "session="),
        _ => (header::AUTHORIZATION, "Bearer "),
    }
}

fn run(world: &World, data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (method, path) = &ROUTES[usize::from(selector / 4) % ROUTES.len()];
    let (name, prefix) = header_of(selector);
    let mut value = prefix.as_bytes().to_vec();
    value.extend_from_slice(&world.expand(rest));
    let Ok(value) = HeaderValue::from_bytes(&value) else {
        return;
    };
    // Sign-out with a real session would end the world's session: only mangled ones.
    let real = ["$SESSION", "$OTHER_SESSION", "$KEY"]
        .iter()
        .map(|p| world.value(p))
        .any(|v| !v.is_empty() && value.as_bytes().windows(v.len()).any(|w| w == v.as_bytes()));
    if *method == Method::POST && real {
        return;
    }
    let headers = [(name.clone(), value.clone())];
    let answer = world.send(method.clone(), path, None, &headers, &[]);
    let what = format!("{method} {path} with {name}");
    check_answer(&what, &answer);
    // Sign-out answers 204 to any session cookie, working or not, to clear it from the
    // browser: that lets nothing through.
    let clears_cookie = *path == "/auth/sign-out" && name == header::COOKIE;
    if answer.status.is_success() && !clears_cookie {
        assert!(
            real,
            "{what}: let through without a real credential: {value:?} -> {}",
            answer.text()
        );
    }
}

fuzz_target!(|data: &[u8]| with_world(|world| run(world, data)));
