//! Outbound links that reconnect forever, with jittered exponential backoff.
//!
//! A peer is dialed once per lane (see [`crate::routing::Lane`]): each lane
//! is its own connection with its own handshake, keys, heartbeats and
//! reconnection, so a lane that drops is redialed while the others carry
//! its sessions.

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
use crate::routing::Lane;
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

/// Handle to an outbound peer link (all its lanes). Dropping it does not
/// stop the link; [`PeerLink::close`] does.
#[derive(Debug, Clone)]
pub struct PeerLink {
    spec: Arc<PeerSpec>,
    /// The state of each lane, by lane index.
    lanes: watch::Receiver<Vec<PeerState>>,
    stop: CancellationToken,
}

impl PeerLink {
    pub(super) fn spawn(inner: Arc<EndpointState>, spec: PeerSpec, lanes: u16) -> PeerLink {
        let lanes = lanes.max(1);
        let (tx, rx) = watch::channel(vec![PeerState::Connecting; usize::from(lanes)]);
        let tx = Arc::new(tx);
        let stop = inner.shutdown.token().child_token();
        let spec = Arc::new(spec);
        for index in 0..lanes {
            let lane = LaneDialer {
                inner: Arc::clone(&inner),
                spec: Arc::clone(&spec),
                lane: Lane { index, count: lanes },
                states: Arc::clone(&tx),
                stop: stop.clone(),
            };
            inner.shutdown.clone().spawn(lane.run());
        }
        PeerLink { spec, lanes: rx, stop }
    }

    /// The spec this link dials.
    pub fn spec(&self) -> &PeerSpec {
        &self.spec
    }

    /// The state of the peer as a whole: up while any lane is up (the
    /// first such lane is the link shown), else the first lane's trouble.
    pub fn state(&self) -> PeerState {
        summarize(&self.lanes.borrow())
    }

    /// The state of each lane, by lane index.
    pub fn lane_states(&self) -> Vec<PeerState> {
        self.lanes.borrow().clone()
    }

    /// A live lane, if any is up.
    pub fn link(&self) -> Option<Link> {
        self.lanes.borrow().iter().find_map(live)
    }

    /// Waits until some lane is up, at most `timeout`.
    pub async fn wait_up(&self, timeout: Duration) -> Option<Link> {
        let mut rx = self.lanes.clone();
        let wait = rx.wait_for(|lanes| lanes.iter().any(|s| live(s).is_some()));
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(lanes)) => lanes.iter().find_map(live),
            _ => None,
        }
    }

    /// Waits until every lane is up, at most `timeout`.
    pub async fn wait_all_up(&self, timeout: Duration) -> bool {
        let mut rx = self.lanes.clone();
        let wait = rx.wait_for(|lanes| lanes.iter().all(|s| live(s).is_some()));
        matches!(tokio::time::timeout(timeout, wait).await, Ok(Ok(_)))
    }

    /// Stops reconnecting and closes every lane.
    pub fn close(&self) {
        self.stop.cancel();
    }
}

fn live(state: &PeerState) -> Option<Link> {
    match state {
        PeerState::Up(link) if !link.is_closed() => Some(link.clone()),
        _ => None,
    }
}

/// One state for the peer out of its lanes' states.
fn summarize(lanes: &[PeerState]) -> PeerState {
    if let Some(link) = lanes.iter().find_map(live) {
        return PeerState::Up(link);
    }
    if lanes.iter().all(|s| matches!(s, PeerState::Closed)) {
        return PeerState::Closed;
    }
    lanes
        .iter()
        .find(|s| matches!(s, PeerState::Down { .. }))
        .or_else(|| lanes.first())
        .cloned()
        .unwrap_or(PeerState::Closed)
}

/// The reconnect loop of one lane.
struct LaneDialer {
    inner: Arc<EndpointState>,
    spec: Arc<PeerSpec>,
    lane: Lane,
    states: Arc<watch::Sender<Vec<PeerState>>>,
    stop: CancellationToken,
}

impl LaneDialer {
    fn set(&self, state: PeerState) {
        let index = usize::from(self.lane.index);
        self.states.send_modify(|lanes| lanes[index] = state);
    }

    async fn run(self) {
        self.dial_forever().await;
        self.set(PeerState::Closed);
    }

    async fn dial_forever(&self) {
        let LaneDialer { inner, spec, stop, .. } = self;
        let mut backoff = Backoff::new(spec.reconnect, spec.max_backoff);
        let mut failures: u32 = 0;
        let mut attempts: u64 = 0;
        let addr = format!("{}:{}", spec.host, spec.port);
        let lane = self.lane.index;
        loop {
            if attempts > 0 {
                TransportStats::bump(&inner.stats.reconnects);
            }
            attempts += 1;
            self.set(PeerState::Connecting);
            let deadline = inner.ctx.settings.handshake_timeout;
            let attempt = tokio::select! {
                () = stop.cancelled() => return,
                r = tokio::time::timeout(deadline, dial(inner, spec, self.lane)) => r,
            };
            let error = match attempt.unwrap_or(Err(LinkError::Handshake(HandshakeError::Timeout))) {
                Ok(link) => {
                    failures = 0;
                    backoff.reset();
                    tracing::info!(%addr, peer = %link.peer_id(), lane, encrypted = link.encrypted(), "rpc link up");
                    self.set(PeerState::Up(link.clone()));
                    tokio::select! {
                        () = stop.cancelled() => {
                            link.close();
                            return;
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
                    // Say it loudly once per peer (lane 0 speaks for all),
                    // then quietly: a peer that is down for an hour must not
                    // flood the log.
                    if failures == 1 && lane == 0 {
                        tracing::warn!(%addr, error = %err, "rpc link to peer failed; will keep retrying");
                    } else {
                        tracing::debug!(%addr, lane, error = %err, failures, "rpc link attempt failed");
                    }
                    err.to_string()
                }
            };
            self.set(PeerState::Down { error, failures });
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
    }
}

async fn dial(inner: &Arc<EndpointState>, spec: &PeerSpec, lane: Lane) -> Result<Link, LinkError> {
    let mut stream = TcpStream::connect((spec.host.as_str(), spec.port)).await?;
    let params = inner.handshake_params(spec.token.clone(), spec.encrypt, lane);
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
