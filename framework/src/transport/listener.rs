//! The RPC accept loop: connection cap, handshake deadline, accept backoff.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::endpoint_state::EndpointState;
use super::error::LinkError;
use super::handshake_io;
use super::link::Direction;
use super::link_task;
use super::stats::TransportStats;
use crate::routing::Lane;
use crate::secure::HandshakeError;

/// Longest pause after a failing `accept` (for example out of file
/// descriptors): long enough to let the condition clear, short enough to
/// resume quickly.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

pub(super) async fn accept_loop(inner: Arc<EndpointState>, listener: TcpListener) {
    let permits = Arc::new(Semaphore::new(inner.listener_settings.max_connections));
    let shutdown = inner.shutdown.clone();
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        let (mut stream, addr) = match accepted {
            Ok(conn) => {
                backoff = Duration::from_millis(5);
                conn
            }
            Err(err) => {
                tracing::error!(error = %err, ?backoff, "rpc accept failed; backing off");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                continue;
            }
        };
        // Accept, then refuse over the cap: leaving connections in the
        // kernel backlog would only make their handshakes time out later.
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            TransportStats::bump(&inner.stats.connections_refused);
            tracing::warn!(%addr, "rpc connection refused: connection cap reached");
            drop(stream);
            continue;
        };
        let inner = Arc::clone(&inner);
        shutdown.spawn(async move {
            let _permit = permit;
            let deadline = inner.ctx.settings.handshake_timeout;
            // The dialer numbers the lanes; ours is not used.
            let params = inner.handshake_params(inner.token.clone(), inner.encrypt, Lane::SOLE);
            let outcome = tokio::select! {
                () = inner.shutdown.cancelled() => return,
                r = tokio::time::timeout(deadline, handshake_io::accept(&mut stream, params)) => r,
            };
            let result = outcome.unwrap_or(Err(LinkError::Handshake(HandshakeError::Timeout)));
            match result {
                Ok((established, leftover)) => {
                    tracing::info!(%addr, peer = %established.peer_id, peer_type = ?established.peer_type, lane = established.lane.index,
                        encrypted = established.encrypted(), "rpc link accepted");
                    let link = link_task::start(
                        stream,
                        established,
                        leftover,
                        Direction::Inbound,
                        Arc::clone(&inner.ctx),
                        &inner.shutdown,
                    );
                    // Hold the connection permit for the link's lifetime.
                    link.closed().await;
                }
                Err(err) => {
                    inner.count_handshake_failure(&err);
                    tracing::warn!(%addr, error = %err, "rpc handshake refused; closing connection");
                }
            }
        });
    }
}
