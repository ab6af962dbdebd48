//! Metrics read at scrape time from state the node keeps anyway: transport
//! counters, links, dialed peers, members, sessions. Reading them when
//! scraped keeps the hot path free of double bookkeeping.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::config::type_name;
use crate::node::{NodeState, RoomCounters};
use crate::proto::{MemberState, NodeType};
use crate::rooms::RoomStats;
use crate::session::SessionStats;
use crate::transport::TransportStats;

/// Reads the node when scraped; holds it weakly so the registry does not
/// keep a stopped node alive.
#[derive(Debug)]
pub(crate) struct ScrapeCollector {
    node: Weak<NodeState>,
}

impl ScrapeCollector {
    pub(crate) fn new(node: Weak<NodeState>) -> ScrapeCollector {
        ScrapeCollector { node }
    }
}

type Labels = Vec<(&'static str, String)>;

fn counter(enc: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    let encoder = enc.encode_descriptor(name, help, None, metric.metric_type())?;
    metric.encode(encoder)
}

fn gauge(enc: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    let encoder = enc.encode_descriptor(name, help, None, metric.metric_type())?;
    metric.encode(encoder)
}

fn gauges(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &BTreeMap<Labels, i64>,
) -> std::fmt::Result {
    if rows.is_empty() {
        return Ok(());
    }
    let mut encoder = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in rows {
        ConstGauge::new(*value).encode(encoder.encode_family(labels)?)?;
    }
    Ok(())
}

fn type_label(t: NodeType) -> String {
    type_name(t).to_owned()
}

impl Collector for ScrapeCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
        let Some(shared) = self.node.upgrade() else { return Ok(()) };
        let stats = shared.router.endpoint.stats();
        let get = TransportStats::get;
        let transport = [
            (
                "rpc_auth_failures",
                "Inbound or outbound link handshakes refused for a wrong token",
                get(&stats.auth_failures),
            ),
            (
                "rpc_handshake_failures",
                "Link handshakes that failed otherwise (version, malformed, timeout)",
                get(&stats.handshake_failures),
            ),
            (
                "rpc_connections_refused",
                "Inbound RPC connections refused at rpc.max_connections",
                get(&stats.connections_refused),
            ),
            (
                "rpc_links_established",
                "RPC links established, both directions",
                get(&stats.links_established),
            ),
            (
                "rpc_protocol_errors",
                "Links closed because the peer broke the protocol",
                get(&stats.protocol_errors),
            ),
            (
                "rpc_heartbeat_timeouts",
                "Links declared dead after rpc.dead_after of silence",
                get(&stats.heartbeat_timeouts),
            ),
            ("rpc_reconnects", "Outbound redial attempts after the first", get(&stats.reconnects)),
            (
                "rpc_queue_drops",
                "Frames dropped because a link's send queue was full",
                get(&stats.queue_drops),
            ),
            (
                "rpc_late_responses",
                "Responses that arrived after their call gave up",
                get(&stats.late_responses),
            ),
            (
                "rpc_forged_sources",
                "Messages dropped because a peer sent them in another node's name",
                get(&stats.forged_sources),
            ),
            (
                "rpc_call_timeouts",
                "Calls that got no response within rpc.call_timeout",
                get(&stats.call_timeouts),
            ),
            ("rpc_frames_written", "RPC frames written", get(&stats.frames_written)),
            ("rpc_writes", "Socket writes used for them (frames per write = coalescing)", get(&stats.writes)),
        ];
        for (name, help, value) in transport {
            counter(&mut enc, name, help, value)?;
        }

        let slow = shared.sessions.as_ref().map_or(0, |s| SessionStats::get(&s.stats.slow_disconnects));
        counter(
            &mut enc,
            "client_queue_drops",
            "Clients disconnected because a push (to the session, its user or a group) did not fit their send queue (websocket.send_queue frames or websocket.limits.send_queue_bytes): one per disconnection; that push fails with 429 for a single-session push and is skipped in a broadcast",
            slow,
        )?;
        let sessions = shared.sessions.as_ref().map_or(0, |s| s.len());
        gauge(
            &mut enc,
            "sessions",
            "Client sessions connected to this proxy",
            i64::try_from(sessions).unwrap_or(i64::MAX),
        )?;
        let pending = i64::try_from(shared.router.endpoint.pending_calls()).unwrap_or(i64::MAX);
        gauge(&mut enc, "pending_calls", "Calls from this node waiting for a response", pending)?;
        let relayed = i64::try_from(shared.router.relays.len()).unwrap_or(i64::MAX);
        gauge(
            &mut enc,
            "relayed_in_flight",
            "Requests relayed by this node still waiting for their answer",
            relayed,
        )?;
        gauge(
            &mut enc,
            "draining",
            "1 while this node drains",
            i64::from(shared.cluster.drain.is_draining()),
        )?;
        let buffered = shared.sessions.as_ref().map_or(0, |s| s.buffered_bytes());
        gauge(
            &mut enc,
            "client_buffered_bytes",
            "Bytes of pushes queued for this proxy's clients, not yet written",
            i64::try_from(buffered).unwrap_or(i64::MAX),
        )?;
        let running = i64::try_from(shared.handlers.inflight.running()).unwrap_or(i64::MAX);
        gauge(&mut enc, "handlers_inflight", "Handlers running now, against handlers.max_inflight", running)?;

        let mut links: BTreeMap<Labels, i64> = BTreeMap::new();
        for link in shared.router.endpoint.links() {
            let direction = match link.direction() {
                crate::transport::Direction::Inbound => "inbound",
                crate::transport::Direction::Outbound => "outbound",
            };
            *links
                .entry(vec![("peer_type", type_label(link.peer_type())), ("direction", direction.into())])
                .or_default() += 1;
        }
        gauges(&mut enc, "links", "Live RPC links, by peer type and who dialed", &links)?;

        let mut peers: BTreeMap<Labels, i64> = BTreeMap::new();
        for peer in shared.cluster.peers.all() {
            let labels = vec![
                ("peer_type", type_label(peer.node_type)),
                ("origin", peer.origin.as_str().into()),
                ("state", peer.state_name().into()),
            ];
            *peers.entry(labels).or_default() += 1;
        }
        gauges(
            &mut enc,
            "peers",
            "Peers this node dials, by type, origin (config or membership) and link state",
            &peers,
        )?;

        let mut members: BTreeMap<Labels, i64> = BTreeMap::new();
        for m in shared.cluster.members.known() {
            let state = if m.state() == MemberState::Draining { "draining" } else { "active" };
            *members
                .entry(vec![("node_type", type_label(m.node_type())), ("state", state.into())])
                .or_default() += 1;
        }
        gauges(&mut enc, "members", "Cluster members this node knows of, by type and state", &members)?;

        for (name, help, value) in shared.topic_stats.metrics() {
            counter(&mut enc, name, help, value)?;
        }
        let topics = shared.sessions.as_ref().map(|s| s.topic_gauges()).unwrap_or_default();
        for (name, help, value) in topics.metrics() {
            gauge(&mut enc, name, help, i64::try_from(value).unwrap_or(i64::MAX))?;
        }
        let counters = shared.handlers.state.get::<RoomCounters>();
        rooms(&mut enc, counters.as_ref().map_or(&[][..], |c| &c.0))
    }
}

/// The game's room counters, summed over what it registered; nothing for
/// a node without rooms.
fn rooms(enc: &mut DescriptorEncoder<'_>, stats: &[Arc<RoomStats>]) -> std::fmt::Result {
    let Some(first) = stats.first() else { return Ok(()) };
    let mut totals = first.metrics();
    for more in &stats[1..] {
        for (total, (_, _, value)) in totals.iter_mut().zip(more.metrics()) {
            total.2 += value;
        }
    }
    for (name, help, value) in totals {
        counter(enc, name, help, value)?;
    }
    let open: u64 = stats.iter().map(|s| s.open()).sum();
    gauge(enc, "rooms_open", "Rooms alive on this node", i64::try_from(open).unwrap_or(i64::MAX))
}
