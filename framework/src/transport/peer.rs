//! Outbound links that reconnect forever, with jittered exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::endpoint_state::EndpointState;
use super::error::LinkError;
use super::handshake_io;
use super::link::{Direction, Link};
use super::link_task;
use super::settings::Backoff;
use super::stats::TransportStats;
use crate::id::NodeId;
use crate::secure::{HandshakeError, Token};

/// Where and how to reach a peer (one `remote_ports` entry).
#[derive(Debug, Clone)]
pub struct PeerSpec {
    /// Host name or address to dial.
    pub host: String,
    /// The peer's RPC port.
    pub port: u16,
    /// The token the peer's listener expects.
    pub token: Token,
    /// Ask for an encrypted link (obespoir's `"encode": 1`).
    pub encrypt: bool,
    /// First reconnect delay (obespoir's `reconnect_time`); doubles per
    /// failure up to `max_backoff`.
    pub reconnect: Duration,
    /// Longest delay between attempts.
    pub max_backoff: Duration,
}

impl PeerSpec {
    /// The id the peer should have: md5 of `"{host}_{port}"`.
    pub fn expected_id(&self) -> NodeId {
        NodeId::of(&self.host, self.port)
    }
}

/// The state of an outbound peer link.
#[derive(Debug, Clone)]
pub enum PeerState {
    /// Dialing or handshaking.
    Connecting,
    /// Established.
    Up(Link),
    /// The last attempt failed, or the link dropped; a retry is scheduled.
    Down {
        /// Why.
        error: String,
        /// Consecutive failed attempts.
        failures: u32,
    },
    /// Stopped for good ([`PeerLink::close`] or node shutdown).
    Closed,
}

/// Handle to an outbound peer link. Dropping it does not stop the link;
/// [`PeerLink::close`] does.
#[derive(Debug, Clone)]
pub struct PeerLink {
    spec: Arc<PeerSpec>,
    state: watch::Receiver<PeerState>,
    stop: CancellationToken,
}

impl PeerLink {
    pub(super) fn spawn(inner: Arc<EndpointState>, spec: PeerSpec) -> PeerLink {
        let (tx, rx) = watch::channel(PeerState::Connecting);
        let stop = inner.shutdown.token().child_token();
        let spec = Arc::new(spec);
        let task_stop = stop.clone();
        let task_spec = Arc::clone(&spec);
        inner.shutdown.clone().spawn(async move { run(inner, task_spec, tx, task_stop).await });
        PeerLink { spec, state: rx, stop }
    }

    /// The spec this link dials.
    pub fn spec(&self) -> &PeerSpec {
        &self.spec
    }

    /// The current state.
    pub fn state(&self) -> PeerState {
        self.state.borrow().clone()
    }

    /// The live link, if up.
    pub fn link(&self) -> Option<Link> {
        match &*self.state.borrow() {
            PeerState::Up(link) if !link.is_closed() => Some(link.clone()),
            _ => None,
        }
    }

    /// Waits until the link is up, at most `timeout`.
    pub async fn wait_up(&self, timeout: Duration) -> Option<Link> {
        let mut rx = self.state.clone();
        let wait = rx.wait_for(|s| matches!(s, PeerState::Up(l) if !l.is_closed()));
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(state)) => match &*state {
                PeerState::Up(link) => Some(link.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Stops reconnecting and closes the link.
    pub fn close(&self) {
        self.stop.cancel();
    }
}

async fn run(
    inner: Arc<EndpointState>,
    spec: Arc<PeerSpec>,
    state: watch::Sender<PeerState>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::new(spec.reconnect, spec.max_backoff);
    let mut failures: u32 = 0;
    let mut attempts: u64 = 0;
    let addr = format!("{}:{}", spec.host, spec.port);
    loop {
        if attempts > 0 {
            TransportStats::bump(&inner.stats.reconnects);
        }
        attempts += 1;
        state.send_replace(PeerState::Connecting);
        let deadline = inner.ctx.settings.handshake_timeout;
        let attempt = tokio::select! {
            () = stop.cancelled() => break,
            r = tokio::time::timeout(deadline, dial(&inner, &spec)) => r,
        };
        let error = match attempt.unwrap_or(Err(LinkError::Handshake(HandshakeError::Timeout))) {
            Ok(link) => {
                failures = 0;
                backoff.reset();
                tracing::info!(%addr, peer = %link.peer_id(), encrypted = link.encrypted(), "rpc link up");
                state.send_replace(PeerState::Up(link.clone()));
                tokio::select! {
                    () = stop.cancelled() => {
                        link.close();
                        break;
                    }
                    () = link.closed() => {}
                }
                "link closed".to_owned()
            }
            Err(err) => {
                if let LinkError::Handshake(h) = &err {
                    inner.count_handshake_failure_kind(h);
                }
                failures = failures.saturating_add(1);
                // Say it loudly once, then quietly: a peer that is down for
                // an hour must not flood the log.
                if failures == 1 {
                    tracing::warn!(%addr, error = %err, "rpc link to peer failed; will keep retrying");
                } else {
                    tracing::debug!(%addr, error = %err, failures, "rpc link attempt failed");
                }
                err.to_string()
            }
        };
        state.send_replace(PeerState::Down { error, failures });
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
    state.send_replace(PeerState::Closed);
}

async fn dial(inner: &Arc<EndpointState>, spec: &PeerSpec) -> Result<Link, LinkError> {
    let mut stream = TcpStream::connect((spec.host.as_str(), spec.port)).await?;
    let params = inner.handshake_params(spec.token.clone(), spec.encrypt);
    let (established, leftover) = handshake_io::dial(&mut stream, params).await?;
    let expected = spec.expected_id();
    if established.peer_id != expected {
        tracing::warn!(host = %spec.host, port = spec.port, %expected, proven = %established.peer_id,
            "peer's node id differs from md5(host_port): its configured host differs from the address dialed");
    }
    Ok(link_task::start(
        stream,
        established,
        leftover,
        Direction::Outbound,
        Arc::clone(&inner.ctx),
        &inner.shutdown,
    ))
}
