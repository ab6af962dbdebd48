//! Which node may speak for which: the source rule every link enforces.
//!
//! An envelope names the node that created it (`source`); answers go back
//! there, and proxies trust it when a reply or push comes in. The token only
//! proves that a peer belongs to the cluster, so without a rule any peer
//! holding it could claim to be another node: answer a proxy's pending
//! call in that node's name, or make a service send its reply to a client
//! that never asked (obespoir's session impersonation, where the forged
//! `src` was trusted). The rule: a peer speaks only for itself; routes, whose
//! job is relaying, may pass on messages of other nodes. Control frames are
//! about the link itself and carry no source.

use crate::proto::{Envelope, Kind, NodeType};

/// Whether a peer of `peer_type`, proven by the handshake to be `peer_id`,
/// may send `envelope`.
pub(crate) fn source_allowed(peer_id: &str, peer_type: NodeType, envelope: &Envelope) -> bool {
    envelope.kind() == Kind::Control || peer_type == NodeType::Route || envelope.source == peer_id
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: &str = "80c1039db0c62ca51f2839fb424b538e";
    const OTHER: &str = "3a868e96c1d28dac1076c9108fbfec48";

    fn env(kind: Kind, source: &str) -> Envelope {
        Envelope { kind: kind as i32, source: source.to_owned().into(), ..Envelope::default() }
    }

    #[test]
    fn a_peer_speaks_for_itself() {
        for kind in [Kind::Request, Kind::Response, Kind::Push, Kind::Notify, Kind::Session] {
            assert!(source_allowed(PEER, NodeType::Service, &env(kind, PEER)), "{kind:?}");
        }
    }

    #[test]
    fn a_service_or_proxy_cannot_speak_for_another_node() {
        for peer_type in [NodeType::Service, NodeType::Proxy] {
            for kind in [Kind::Request, Kind::Response, Kind::Push, Kind::Notify, Kind::Session] {
                assert!(!source_allowed(PEER, peer_type, &env(kind, OTHER)), "{peer_type:?} {kind:?}");
                // An empty source is not "nobody": a push without one would
                // reach a client with no sender to hold to account.
                assert!(!source_allowed(PEER, peer_type, &env(kind, "")), "{peer_type:?} {kind:?} empty");
            }
        }
    }

    #[test]
    fn routes_relay_for_other_nodes() {
        assert!(source_allowed(PEER, NodeType::Route, &env(Kind::Response, OTHER)));
        assert!(source_allowed(PEER, NodeType::Route, &env(Kind::Push, OTHER)));
    }

    #[test]
    fn control_frames_are_about_the_link() {
        assert!(source_allowed(PEER, NodeType::Service, &env(Kind::Control, "")));
    }
}
