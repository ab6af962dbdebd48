//! Admitting clients: the accept loop with its connection limits (total
//! and per IP), then on each connection's own task the websocket handshake
//! (origin check, one deadline) and, on encrypted links, the cipher hello.
//! What follows the handshake is [`ClientConn`]'s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::cipher;
use super::conn::ClientConn;
use crate::config::WebsocketConfig;
use crate::limits::{IpGuard, IpLimiter};
use crate::node::NodeState;
use crate::secure::ClientLinkCipher;
use crate::tls::{HandshakeError, MaybeTls, ServerTls, accept_until};

/// First pause after a failing `accept`; doubles while it keeps failing.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
/// Longest pause after a failing `accept`.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accepts client connections until shutdown, or until the node drains.
/// With `tls`, each connection is a TLS one, its handshake counted under
/// the same limits and deadline as the websocket handshake.
pub(crate) async fn accept_loop(
    shared: Arc<NodeState>,
    listener: TcpListener,
    max_connections: usize,
    tls: Option<ServerTls>,
) {
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    let limits = shared.config.websocket.as_ref().map(|ws| ws.limits.clone()).unwrap_or_default();
    let per_ip = IpLimiter::new(limits.max_connections_per_ip);
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let (stream, addr) = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            () = shared.cluster.drain.started() => break,
            r = listener.accept() => match r {
                Ok(conn) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    conn
                }
                // Out of file descriptors (EMFILE/ENFILE) is the usual
                // cause: the pending connection stays in the backlog, so
                // retrying at once would spin. Wait, longer each time, until
                // a connection closes and frees a descriptor.
                Err(err) => {
                    tracing::error!(error = %err, ?backoff, "websocket accept failed; backing off");
                    tokio::select! {
                        () = shared.shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            shared.metrics.client_refused();
            tracing::warn!(%addr, "client refused: connection limit reached");
            continue;
        };
        let Some(ip_slot) = per_ip.try_acquire(addr.ip()) else {
            shared.metrics.limit_hit("connections_per_ip");
            tracing::warn!(%addr, "client refused: websocket.limits.max_connections_per_ip reached");
            continue;
        };
        let task_shared = Arc::clone(&shared);
        // A connection is in-flight work: draining waits for it to finish.
        let slots = (permit, ip_slot);
        let tls = tls.clone();
        shared.shutdown.spawn(shared.cluster.drain.track(serve_client(
            task_shared,
            stream,
            addr,
            tls,
            slots,
        )));
    }
    // Draining: dropping the listener refuses new clients at once, so load
    // balancers in front move them to another proxy. Those already waiting
    // in the backlog are refused (and counted) first.
    // The std listener stays non-blocking: `accept` says `WouldBlock` as
    // soon as the backlog is empty.
    let refused = listener.into_std().map_or(0, |listener| refuse_backlog(&listener));
    shared.metrics.clients_refused(refused);
    tracing::info!(refused, "draining: no longer accepting clients");
}

/// Most backlog connections refused at once (above any `somaxconn`).
const MAX_BACKLOG_REFUSALS: u64 = 65_536;

/// Accepts and closes every connection waiting in the backlog of
/// `listener` (non-blocking), without waiting for more; returns how many.
fn refuse_backlog(listener: &std::net::TcpListener) -> u64 {
    let mut refused = 0;
    while refused < MAX_BACKLOG_REFUSALS && listener.accept().is_ok() {
        refused += 1;
    }
    refused
}

fn ws_config(max_frame: usize) -> WebSocketConfig {
    // tungstenite's defaults (128 KiB read and write buffers) would cost
    // far more than the session itself on an idle connection. Frames fed
    // without a flush (a burst of pushes) collect up to 16 KiB and leave in
    // one write; the buffer is empty between writes and only as large as
    // the largest burst.
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(max_frame.saturating_mul(4).max(64 * 1024))
        .max_message_size(Some(max_frame))
        .max_frame_size(Some(max_frame))
}

/// One client, from the TCP accept to the end of its connection. `_slots`
/// hold its places under `max_connections` and the per-IP limit until then.
async fn serve_client(
    shared: Arc<NodeState>,
    stream: TcpStream,
    addr: SocketAddr,
    tls: Option<ServerTls>,
    _slots: (OwnedSemaphorePermit, IpGuard),
) {
    let Some(sessions) = shared.sessions.clone() else { return };
    let Some(settings) = shared.config.websocket.as_ref() else { return };
    // Not held across the connection's life: the handshake's future and
    // the stream it returns take no room once the connection runs.
    let Some((ws, link_cipher)) = handshake(&shared, settings, stream, addr, tls).await else { return };
    let mut conn = ClientConn::open(&shared, sessions, settings, ws, link_cipher, addr);
    conn.serve().await;
}

/// The websocket handshake and, on encrypted links, the cipher hello, all
/// within `websocket.limits.handshake_timeout` of the TCP accept. `None`
/// when the client is refused or fails it (the reason is logged).
async fn handshake(
    shared: &NodeState,
    settings: &WebsocketConfig,
    stream: TcpStream,
    addr: SocketAddr,
    tls: Option<ServerTls>,
) -> Option<(WebSocketStream<MaybeTls>, Option<Box<ClientLinkCipher>>)> {
    let _ = stream.set_nodelay(true);
    // One deadline from the TCP accept to a usable link, TLS and hello
    // included.
    let handshake_until = tokio::time::Instant::now() + settings.limits.handshake_timeout;
    let stream = match accept_until(tls.as_ref().map(ServerTls::acceptor), stream, handshake_until).await {
        Ok(stream) => stream,
        Err(err) => {
            let limit = match err {
                HandshakeError::Failed(_) => "tls_handshake",
                HandshakeError::TimedOut => "handshake_timeout",
            };
            shared.metrics.limit_hit(limit);
            tracing::debug!(%addr, error = %err, "client connection refused");
            return None;
        }
    };
    let origins = &settings.allowed_origins;
    // The error type is tungstenite's (`Callback`), not ours to shrink.
    #[allow(clippy::result_large_err)]
    let check_origin = |request: &Request, response: Response| {
        let origin = request.headers().get("origin").map(|o| o.as_bytes());
        if origins.allows(origin) {
            return Ok(response);
        }
        shared.metrics.limit_hit("origin");
        tracing::debug!(%addr, origin = ?origin.map(String::from_utf8_lossy), "websocket origin refused");
        let mut refusal = ErrorResponse::new(Some("origin not allowed".to_owned()));
        *refusal.status_mut() = StatusCode::FORBIDDEN;
        Err(refusal)
    };
    // Boxed, like every once-per-connection await of the gateway: the
    // connection task's future is as large as its largest await, and it
    // lives as long as the client does (an idle proxy holds tens of
    // thousands of them).
    let handshake = Box::pin(tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        check_origin,
        Some(ws_config(settings.max_frame)),
    ));
    let mut ws = match tokio::time::timeout_at(handshake_until, handshake).await {
        Ok(Ok(ws)) => ws,
        // No session was created, so there is nobody to announce offline
        // (obespoir sends an offline notice for failed handshakes, bug 35).
        Ok(Err(err)) => {
            tracing::debug!(%addr, error = %err, "websocket handshake failed");
            return None;
        }
        Err(_) => {
            shared.metrics.limit_hit("handshake_timeout");
            tracing::debug!(%addr, "websocket handshake timed out");
            return None;
        }
    };
    if !settings.encrypt {
        return Some((ws, None));
    }
    // An encrypted link is set up before the session exists, so nothing
    // reaches the cluster from a client that cannot prove the token.
    // Validation requires the token with encode 1; a hand-built config
    // without one refuses clients rather than serving them in clear.
    let Some(token) = settings.token.as_ref() else {
        tracing::error!("websocket.encode is 1 but websocket.token is missing: client refused");
        return None;
    };
    let left = handshake_until.saturating_duration_since(tokio::time::Instant::now());
    match Box::pin(cipher::accept(&mut ws, token, settings.max_frame, left)).await {
        // Boxed: two AES-GCM key schedules inline would grow every
        // connection, encrypted or not.
        Some(link_cipher) => Some((ws, Some(Box::new(link_cipher)))),
        None => {
            tracing::debug!(%addr, "client did not set up the encrypted link");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn clients_waiting_in_the_backlog_are_refused_and_counted() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<std::net::TcpStream> =
            (0..3).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
        // A connect returns once the client's side of the handshake is
        // done; the server's side may reach the backlog a moment later.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut refused = refuse_backlog(&listener);
        while refused < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            refused += refuse_backlog(&listener);
        }
        assert_eq!(refused, 3);
        assert_eq!(refuse_backlog(&listener), 0, "nothing left, and no wait for more");
        for mut client in clients {
            client.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut buf = [0u8; 1];
            // Closed by the proxy: end of stream (or a reset), not a hang.
            assert!(matches!(std::io::Read::read(&mut client, &mut buf), Ok(0) | Err(_)));
        }
    }
}
