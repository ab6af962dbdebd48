//! The pure rules of membership: which announcements to trust, which
//! members to link to, which nodes get no new work. No I/O, unit-tested.

use std::collections::{HashMap, HashSet};

use crate::id::NodeId;
use crate::proto::{Member, MemberState, NodeType};

/// One route's last list.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub(crate) members: Vec<Member>,
    pub(crate) removed: HashSet<NodeId>,
}

/// Ids that get no new work, `(excluded, barred)`: excluded are marked
/// draining by a direct announcement or by any route's list, removed by
/// any route, or evicted here; barred are only the removed and evicted
/// ones. A draining node still takes the sessions pinned to it (it may
/// hold their rooms while they finish); a removed or evicted one does not.
pub(crate) fn excluded_set(
    direct: &HashMap<NodeId, Member>,
    views: &HashMap<NodeId, View>,
    evicted: &HashSet<NodeId>,
) -> (HashSet<NodeId>, HashSet<NodeId>) {
    let listed = views.values().flat_map(|v| &v.members).chain(direct.values());
    let draining =
        listed.filter(|m| m.state() == MemberState::Draining).filter_map(|m| NodeId::parse(&m.node_id).ok());
    let removed = views.values().flat_map(|v| v.removed.iter().cloned());
    let barred: HashSet<NodeId> = removed.chain(evicted.iter().cloned()).collect();
    let excluded = draining.chain(barred.iter().cloned()).collect();
    (excluded, barred)
}

/// The member's id when its claims are consistent: the id is the md5 of
/// the address it gives, so a dial reaches the node it names.
pub(crate) fn checked_id(m: &Member) -> Option<NodeId> {
    let id = NodeId::parse(&m.node_id).ok()?;
    let port = u16::try_from(m.port).ok()?;
    (NodeId::of(&m.host, port) == id && m.node_type() != NodeType::Unspecified).then_some(id)
}

/// A node as membership sees it: type, id, and the types its routing
/// table sends requests to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Side<'a> {
    pub(crate) node_type: NodeType,
    pub(crate) id: &'a NodeId,
    pub(crate) forwards_to: &'a [i32],
}

impl Side<'_> {
    fn sends_to(&self, t: NodeType) -> bool {
        self.forwards_to.contains(&(t as i32))
    }
}

/// Whether a node should dial a member it learned of. Routes are linked by
/// config. Two other nodes are worth a direct link when one of them sends
/// requests to the other's type; of such a pair, the one with the smaller
/// id dials, so the pair gets one link.
pub(crate) fn should_dial(own: Side<'_>, member: Side<'_>) -> bool {
    own.node_type != NodeType::Route
        && member.node_type != NodeType::Route
        && (own.sends_to(member.node_type) || member.sends_to(own.node_type))
        && own.id < member.id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(port: u16, node_type: NodeType, state: MemberState) -> Member {
        Member {
            node_id: NodeId::of("127.0.0.1", port).to_string(),
            node_type: node_type as i32,
            host: "127.0.0.1".into(),
            port: u32::from(port),
            state: state as i32,
            name: format!("n{port}"),
            forwards_to: Vec::new(),
        }
    }

    #[test]
    fn a_member_must_be_named_by_the_md5_of_its_address() {
        let good = member(7000, NodeType::Service, MemberState::Active);
        assert_eq!(checked_id(&good), Some(NodeId::of("127.0.0.1", 7000)));
        let mut lying = good.clone();
        lying.port = 7001;
        assert_eq!(checked_id(&lying), None);
        let mut huge = good.clone();
        huge.port = 70_000;
        assert_eq!(checked_id(&huge), None);
        let mut untyped = good;
        untyped.node_type = 0;
        assert_eq!(checked_id(&untyped), None);
    }

    #[test]
    fn nodes_link_when_one_sends_to_the_others_type_and_the_smaller_id_dials() {
        let (a, b) = (NodeId::of("h", 1), NodeId::of("h", 2));
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        let to_service = [NodeType::Service as i32];
        let side = |node_type, id, forwards_to| Side { node_type, id, forwards_to };
        let proxy = |id| side(NodeType::Proxy, id, &to_service[..]);
        let service = |id| side(NodeType::Service, id, &[][..]);
        assert!(should_dial(proxy(&low), service(&high)));
        assert!(should_dial(service(&low), proxy(&high)), "either end may be the sender");
        assert!(!should_dial(service(&high), proxy(&low)), "only the smaller id dials");
        let blind_proxy = side(NodeType::Proxy, &low, &[][..]);
        assert!(
            !should_dial(blind_proxy, service(&high)),
            "a proxy sending all through routes needs no link"
        );
        assert!(!should_dial(service(&low), service(&high)));
        assert!(should_dial(side(NodeType::Service, &low, &to_service[..]), service(&high)));
        assert!(
            !should_dial(side(NodeType::Route, &low, &to_service[..]), service(&high)),
            "routes link by config"
        );
        assert!(!should_dial(proxy(&low), side(NodeType::Route, &high, &[][..])));
    }

    #[test]
    fn draining_removed_and_evicted_nodes_get_no_new_work() {
        let id = |port| NodeId::of("127.0.0.1", port);
        let mut direct = HashMap::new();
        direct.insert(id(1), member(1, NodeType::Service, MemberState::Draining));
        let mut views = HashMap::new();
        views.insert(
            NodeId::of("r", 1),
            View {
                members: vec![
                    member(2, NodeType::Service, MemberState::Draining),
                    member(3, NodeType::Service, MemberState::Active),
                ],
                removed: [id(4)].into(),
            },
        );
        let evicted = [id(5)].into();
        let (excluded, barred) = excluded_set(&direct, &views, &evicted);
        let ports: Vec<u16> = (1..=6).filter(|p| excluded.contains(&id(*p))).collect();
        assert_eq!(ports, [1, 2, 4, 5]);
        let ports: Vec<u16> = (1..=6).filter(|p| barred.contains(&id(*p))).collect();
        assert_eq!(ports, [4, 5], "draining nodes keep their pinned sessions");
    }
}
