//! A minimal HTTP/1.1 client for tests (one request per connection) and
//! the admin API on top of it.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::cluster::TestNode;
use crate::config::TOKEN;
use crate::wait::WAIT;

/// An answer: the status, the head (status line and headers, lower-cased)
/// and the body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The status line and headers, lower-cased.
    pub head: String,
    /// The body, as text.
    pub body: String,
}

/// One request with `Connection: close`; `headers` are extra header lines,
/// each ending in `\r\n`.
///
/// # Panics
/// When the server cannot be reached or does not answer within [`WAIT`].
pub async fn request(
    addr: impl ToSocketAddrs,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("http connects");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw)).await.expect("an HTTP answer").unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    Answer { status, head: head.to_ascii_lowercase(), body: body.to_owned() }
}

/// A request without a body, with an optional `Authorization` value; the
/// status and the body.
pub async fn http(addr: impl ToSocketAddrs, method: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    let answer = request(addr, method, path, &auth, b"").await;
    (answer.status, answer.body)
}

/// A request with a JSON body (as text) and an optional bearer token; the
/// status and the JSON body (`Null` when it is not JSON).
pub async fn http_json(
    addr: impl ToSocketAddrs,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut headers = String::from("Content-Type: application/json\r\n");
    if let Some(token) = token {
        headers.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let answer = request(addr, method, path, &headers, body.as_bytes()).await;
    (answer.status, serde_json::from_str(&answer.body).unwrap_or(Value::Null))
}

/// An admin call to a [`TestNode`] with [`TOKEN`]; the status and the JSON
/// body (the text as a JSON string when it is not JSON).
pub async fn admin(node: &TestNode, method: &str, path: &str) -> (u16, Value) {
    let (status, body) = http(node.http_addr(), method, path, Some(&format!("Bearer {TOKEN}"))).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// An admin API at an address, with its token.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Where it listens (`host:port`).
    pub addr: String,
    /// Its bearer token.
    pub token: String,
}

impl Admin {
    /// The admin API at `addr` with `token`.
    pub fn new(addr: impl Into<String>, token: impl Into<String>) -> Admin {
        Admin { addr: addr.into(), token: token.into() }
    }

    /// `method path` with a JSON body and the admin token; (status, body).
    pub async fn call(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        self.call_with(method, path, body, Some(&self.token)).await
    }

    /// As [`Admin::call`], with another token or none.
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> (u16, Value) {
        http_json(self.addr.as_str(), method, path, token, &body.to_string()).await
    }
}
