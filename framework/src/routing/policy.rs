//! Routing policy as pure decisions: where a message goes next from a node,
//! given its pins; which of several equal paths a key always takes; and
//! whether a refused request is worth a second node.
//! The node (`NodeState::link_for_type`) turns these into links; nothing
//! here knows about sockets, so the policy is unit-tested on plain data.

use crate::id::NodeId;
use crate::proto::{NodeType, Pin};
use crate::status::Code;

/// One way to reach the next stop, in the order they are tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hop {
    /// The session's pinned node, if it is linked and usable.
    Pinned(NodeId),
    /// Any usable linked node of the type, balanced.
    AnyOf(NodeType),
}

/// The hops to try, in order, for a message from a `here` node whose next
/// stop is a node of type `target`: the pinned node of the type, then any
/// such node; then, unless a route is what we are or what we look for
/// (routes do not relay to routes), the pinned route, then any route.
///
/// A pin to a dead or draining node is simply not usable: the answer names
/// the node that served, and the proxy re-pins to it.
pub(crate) fn next_hops(here: NodeType, target: NodeType, pins: &[Pin]) -> impl Iterator<Item = Hop> + '_ {
    // Lazy and without allocation: this runs for every message, and most
    // stop at the first hop.
    let pinned = move |t: NodeType| {
        pins.iter().find(|p| p.node_type == t as i32).and_then(|p| NodeId::parse(&p.node_id).ok())
    };
    let via_route = here != NodeType::Route && target != NodeType::Route;
    std::iter::once_with(move || pinned(target).map(Hop::Pinned))
        .chain(std::iter::once(Some(Hop::AnyOf(target))))
        .chain(std::iter::once_with(move || pinned(NodeType::Route).map(Hop::Pinned).filter(|_| via_route)))
        .chain(std::iter::once(via_route.then_some(Hop::AnyOf(NodeType::Route))))
        .flatten()
}

/// Whether a refusal is worth one more try on another node of the type.
/// Only a refusal from before the handler started (`not_run`) qualifies:
/// never a second run of a handler that may have acted. A draining node's
/// refusal (unavailable) does, whatever the command: the session must move
/// anyway. A busy node's (overloaded) does only for stateless commands: a
/// stateful command's session stays with its node, and its client backs
/// off.
pub(crate) fn worth_another_node(not_run: bool, status: Code, stateless: bool) -> bool {
    not_run && (status == Code::UNAVAILABLE || (status == Code::OVERLOADED && stateless))
}

/// The one of `candidates` that `key` goes to: rendezvous (highest random
/// weight) hashing, so that every node that sees the same candidates picks
/// the same one whatever their order, and losing a candidate moves only
/// the keys it had. Used wherever messages for one key must take one path:
/// a destination's route (its pushes and reply keep their order), a user's
/// login authority.
pub(crate) fn rendezvous<'a, I>(key: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates.into_iter().max_by_key(|node| (fnv1a(key, node), *node))
}

/// FNV-1a over `key`, a separator and `node`: stable across processes,
/// builds and versions, which `std`'s hasher does not promise.
fn fnv1a(key: &str, node: &str) -> u64 {
    let bytes = key.bytes().chain([0xff]).chain(node.bytes());
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(t: NodeType, id: &NodeId) -> Pin {
        Pin { node_type: t as i32, node_id: id.to_string() }
    }

    fn id(n: u8) -> NodeId {
        NodeId::parse(&format!("{n:032x}")).unwrap()
    }

    #[test]
    fn a_proxy_tries_the_pin_then_any_of_the_type_then_a_route() {
        let (svc, route) = (id(1), id(2));
        let pins = [pin(NodeType::Service, &svc), pin(NodeType::Route, &route)];
        assert_eq!(
            next_hops(NodeType::Proxy, NodeType::Service, &pins).collect::<Vec<_>>(),
            [
                Hop::Pinned(svc),
                Hop::AnyOf(NodeType::Service),
                Hop::Pinned(route),
                Hop::AnyOf(NodeType::Route)
            ]
        );
        assert_eq!(
            next_hops(NodeType::Proxy, NodeType::Service, &[]).collect::<Vec<_>>(),
            [Hop::AnyOf(NodeType::Service), Hop::AnyOf(NodeType::Route)]
        );
    }

    #[test]
    fn routes_never_relay_through_routes() {
        let svc = id(1);
        let pins = [pin(NodeType::Service, &svc), pin(NodeType::Route, &id(2))];
        assert_eq!(
            next_hops(NodeType::Route, NodeType::Service, &pins).collect::<Vec<_>>(),
            [Hop::Pinned(svc), Hop::AnyOf(NodeType::Service)]
        );
        assert_eq!(
            next_hops(NodeType::Service, NodeType::Route, &pins[1..]).collect::<Vec<_>>(),
            [Hop::Pinned(id(2)), Hop::AnyOf(NodeType::Route)]
        );
    }

    #[test]
    fn a_malformed_pin_is_skipped() {
        let pins = [Pin { node_type: NodeType::Service as i32, node_id: "not an id".into() }];
        assert_eq!(
            next_hops(NodeType::Service, NodeType::Service, &pins).collect::<Vec<_>>(),
            [Hop::AnyOf(NodeType::Service), Hop::AnyOf(NodeType::Route)]
        );
    }

    #[test]
    fn only_refusals_before_the_handler_ran_are_retried_elsewhere() {
        assert!(worth_another_node(true, Code::UNAVAILABLE, false), "draining: any command moves");
        assert!(worth_another_node(true, Code::OVERLOADED, true), "busy: stateless moves");
        assert!(!worth_another_node(true, Code::OVERLOADED, false), "busy: stateful stays");
        assert!(!worth_another_node(false, Code::UNAVAILABLE, true), "the handler may have acted");
        assert!(!worth_another_node(true, Code::BAD_REQUEST, true));
    }
}
