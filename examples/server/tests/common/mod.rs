//! What the HTTP tests of the example server share: an HTTP/1.1 client speaking to the
//! app's router served on 127.0.0.1, and an organization to sign in to.

#![allow(dead_code)]

use auth_core::groups::NewGroup;
use auth_core::{Auth, Caller, GroupId, RequestMeta};
use auth_memory::MemoryStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP/1.1 answer: status, headers (lowercase names), body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value a `Set-Cookie` gives `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next()?.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
            .next_back()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// The app on 127.0.0.1, spoken to over real HTTP.
pub struct App {
    pub origin: String,
    pub auth: Auth<MemoryStore>,
}

impl App {
    /// `method path` with the session or flow `cookie` and a JSON `body` (none if empty).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: &str,
    ) -> Answer {
        self.request_as(method, path, cookie, "application/json", body)
            .await
    }

    /// [`Self::request`] with a body of `content_type`.
    pub async fn request_as(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> Answer {
        let host = self.origin.trim_start_matches("http://");
        let mut stream = TcpStream::connect(host).await.unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {}\r\nConnection: close\r\n",
            self.origin
        );
        if let Some(cookie) = cookie {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if !body.is_empty() {
            request.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
            .collect();
        Answer {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    /// `POST /auth/sso/sign-in` with `body`: the provider's URL and the flow cookie.
    pub async fn start(&self, body: serde_json::Value) -> (String, String) {
        let answer = self
            .request("POST", "/auth/sso/sign-in", None, &body.to_string())
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let flow = answer.cookie("sso-flow").expect("the flow cookie");
        let set = answer.header("set-cookie").unwrap().to_ascii_lowercase();
        assert!(
            set.contains("httponly") && set.contains("samesite=lax"),
            "{set}"
        );
        (answer.json()["url"].as_str().unwrap().to_owned(), flow)
    }

    /// `GET /auth/me` with the session cookie `answer` set.
    pub async fn me(&self, answer: &Answer) -> serde_json::Value {
        let token = answer.cookie("session").expect("a session cookie");
        let me = self
            .request("GET", "/auth/me", Some(&format!("session={token}")), "")
            .await;
        assert_eq!(me.status, 200, "{}", me.body);
        me.json()
    }
}

/// An organization (owned by `owner@example.org`) with `example.com` verified.
pub async fn organization(auth: &Auth<MemoryStore>) -> GroupId {
    let meta = RequestMeta::none();
    let owner = auth
        .users()
        .create(
            &Caller::System,
            auth_core::users::NewUser {
                email: "owner@example.org".into(),
                ..Default::default()
            },
            &meta,
        )
        .await
        .unwrap();
    let group = auth
        .groups()
        .create_owned_by(
            &Caller::System,
            NewGroup {
                name: "Example".into(),
                ..Default::default()
            },
            owner.id,
            &meta,
        )
        .await
        .unwrap()
        .id;
    let sso = auth.sso();
    let domain = sso
        .add_domain(&Caller::System, group, "example.com", &meta)
        .await
        .unwrap();
    sso.mark_domain_verified(&Caller::System, group, domain.id, &meta)
        .await
        .unwrap();
    group
}
