//! `websocket.allowed_origins`: a browser handshake from a page not on the
//! list is refused with HTTP 403 before a session exists; listed pages and
//! native clients (no `Origin`) connect.

use espoir::EventTable;
use espoir_testkit::*;
use serde_json::json;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A websocket handshake to `url` sending `origin`; the HTTP status the
/// proxy answered with when it refused.
async fn handshake(url: &str, origin: Option<&str>) -> Result<(), u16> {
    let mut request = url.into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(()),
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("unexpected handshake failure: {other}"),
    }
}

#[tokio::test]
async fn only_listed_pages_and_native_clients_connect() {
    let ports = Ports::bind().await;
    let ws = r#""allowed_origins": ["https://game.example.com"], "limits": {"max_connections_per_ip": 100},"#;
    let proxy =
        TestNode::start(local_proxy_config_ids(&ports, ws, "", [10000, 10000]), ports, EventTable::new())
            .await;
    let url = proxy.ws_url();

    assert_eq!(handshake(&url, Some("https://game.example.com")).await, Ok(()));
    assert_eq!(handshake(&url, None).await, Ok(()), "native clients send no Origin");
    assert_eq!(handshake(&url, Some("https://evil.example")).await, Err(403));
    assert_eq!(handshake(&url, Some("http://game.example.com")).await, Err(403), "another scheme");
    assert_eq!(proxy.limit_hits("origin"), 2.0);
    assert_eq!(proxy.metric("espoir_client_connections_total"), 2.0, "refused pages got no session");

    // A listed page is served like any client.
    let mut client = Client::connect(&url).await;
    let (command, body) = client.request(10000, &json!({})).await;
    assert_eq!((command, body["code"].as_u64()), (10000, Some(200)));
}

#[tokio::test]
async fn without_a_list_every_origin_connects_as_in_obespoir() {
    let ports = Ports::bind().await;
    let ws = r#""limits": {"max_connections_per_ip": 100},"#;
    let proxy =
        TestNode::start(local_proxy_config_ids(&ports, ws, "", [10000, 10000]), ports, EventTable::new())
            .await;
    assert_eq!(handshake(&proxy.ws_url(), Some("https://anywhere.example")).await, Ok(()));
}
