//! Command id → node type, and command id → stateless, as lookup tables.
//!
//! Both tables are built once from validated config and then only read, on
//! every message: a lookup is a binary search over sorted, non-overlapping
//! ranges and a binary search over sorted special ids, with no allocation.

use std::collections::{BTreeMap, btree_map};
use std::fmt;

use crate::config::{IdRange, NoStateRules, RouteRules, type_name};
use crate::proto::NodeType;

/// Where a message without an explicit destination goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// This node handles it.
    Local,
    /// Forward it to a node of this type.
    Forward(NodeType),
}

/// `rpc.route` as a lookup table for a node of one type.
///
/// Resolution, as in obespoir: a `special` id wins; otherwise the range
/// containing the id decides; an id matching nothing goes to a route. A
/// decision naming the node's own type means [`Target::Local`], so on a
/// route node unmatched ids are handled locally.
///
/// Unlike obespoir, overlapping ranges and ids special for two types are
/// refused when the table is built, so the order of config entries never
/// changes a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    own: NodeType,
    /// Sorted by id, ids unique.
    special: Box<[(i32, Target)]>,
    /// Sorted, non-overlapping.
    ranges: Box<[(IdRange, Target)]>,
    /// For ids matching nothing.
    fallback: Target,
}

impl RouteTable {
    /// The table of `rules` for a node of type `own`.
    ///
    /// # Errors
    /// The first conflict in `rules` (see [`TableError`]); config loading
    /// reports them all.
    pub fn new(own: NodeType, rules: &RouteRules) -> Result<Self, TableError> {
        if let Some(conflict) = route_conflicts(rules).into_iter().next() {
            return Err(conflict);
        }
        let resolve = |to: NodeType| if to == own { Target::Local } else { Target::Forward(to) };
        let mut special: Vec<(i32, Target)> = rules
            .special
            .iter()
            .flat_map(|(&to, ids)| ids.iter().map(move |&id| (id, resolve(to))))
            .collect();
        special.sort_unstable_by_key(|&(id, _)| id);
        // The same id listed twice under one type is harmless.
        special.dedup_by_key(|&mut (id, _)| id);
        let mut ranges: Vec<(IdRange, Target)> = rules
            .range
            .iter()
            .flat_map(|(&to, ranges)| ranges.iter().map(move |&r| (r, resolve(to))))
            .collect();
        ranges.sort_unstable_by_key(|&(r, _)| r.lo);
        Ok(RouteTable {
            own,
            special: special.into(),
            ranges: ranges.into(),
            fallback: resolve(NodeType::Route),
        })
    }

    /// A table without rules: every id goes to a route (or is local on a
    /// route).
    pub fn empty(own: NodeType) -> Self {
        let fallback = if own == NodeType::Route { Target::Local } else { Target::Forward(NodeType::Route) };
        RouteTable { own, special: Box::new([]), ranges: Box::new([]), fallback }
    }

    /// Whether `rpc.route` names a node type for `command` (a `special` id
    /// or a range), rather than leaving it to the fallback.
    pub fn names(&self, command: i32) -> bool {
        self.special.binary_search_by_key(&command, |&(id, _)| id).is_ok()
            || self.ranges.iter().any(|(r, _)| r.lo <= command && command <= r.hi)
    }

    /// The type of the node this table decides for.
    pub fn node_type(&self) -> NodeType {
        self.own
    }

    /// The node types some command is forwarded to, other than routes,
    /// sorted: the types this node sends requests to directly when linked.
    pub fn forward_types(&self) -> Vec<NodeType> {
        let mut types: Vec<NodeType> = self
            .special
            .iter()
            .map(|&(_, t)| t)
            .chain(self.ranges.iter().map(|&(_, t)| t))
            .filter_map(|t| match t {
                Target::Forward(to) if to != NodeType::Route => Some(to),
                _ => None,
            })
            .collect();
        types.sort_unstable();
        types.dedup();
        types
    }

    /// Where a message with `command` and no explicit destination goes.
    #[inline]
    pub fn target(&self, command: i32) -> Target {
        if let Ok(i) = self.special.binary_search_by_key(&command, |&(id, _)| id) {
            return self.special[i].1;
        }
        // The first range that does not end before `command`; the ranges
        // are disjoint, so it is the only one that can contain it.
        let i = self.ranges.partition_point(|(r, _)| r.hi < command);
        match self.ranges.get(i) {
            Some(&(r, target)) if r.lo <= command => target,
            _ => self.fallback,
        }
    }
}

/// `websocket.no_state` as a lookup table.
///
/// A stateless command may be served by any instance, so the proxy need
/// not send it to the instance that served the session before. Everything
/// else is stateful (obespoir's default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateTable {
    /// Sorted, non-overlapping.
    ranges: Box<[IdRange]>,
    /// Sorted, unique.
    special: Box<[i32]>,
}

impl StateTable {
    /// The table of `rules`.
    ///
    /// # Errors
    /// The first inverted or overlapping range (see [`TableError`]).
    pub fn new(rules: &NoStateRules) -> Result<Self, TableError> {
        if let Some(conflict) = state_conflicts(rules).into_iter().next() {
            return Err(conflict);
        }
        let mut ranges = rules.range.clone();
        ranges.sort_unstable_by_key(|r| r.lo);
        let mut special = rules.special.clone();
        special.sort_unstable();
        special.dedup();
        Ok(StateTable { ranges: ranges.into(), special: special.into() })
    }

    /// A table in which every command is stateful.
    pub fn empty() -> Self {
        StateTable::default()
    }

    /// Whether `command` needs no session affinity.
    #[inline]
    pub fn is_stateless(&self, command: i32) -> bool {
        if self.special.binary_search(&command).is_ok() {
            return true;
        }
        let i = self.ranges.partition_point(|r| r.hi < command);
        self.ranges.get(i).is_some_and(|r| r.lo <= command)
    }
}

/// A range in the rules: its node type (none for `no_state`), its position
/// in that type's list, and its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RangeRef {
    /// The type the range routes to; `None` in `no_state`.
    pub node_type: Option<NodeType>,
    /// Position in its list.
    pub index: usize,
    /// The range.
    pub range: IdRange,
}

impl fmt::Display for RangeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node_type {
            Some(t) => write!(f, "range.{}[{}] {}", type_name(t), self.index, self.range),
            None => write!(f, "range[{}] {}", self.index, self.range),
        }
    }
}

/// Rules that cannot make a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// A range whose low bound is above its high bound.
    #[error("{at}: the low bound is above the high bound")]
    Inverted {
        /// The range.
        at: RangeRef,
    },
    /// Two ranges share ids. obespoir let the later type silently win;
    /// here it is an error whether the types are the same or not.
    #[error("{second} overlaps {first}")]
    Overlap {
        /// The range that starts first.
        first: RangeRef,
        /// The range that starts inside it.
        second: RangeRef,
    },
    /// An id is special for two types.
    #[error("special id {id} is listed under both {} and {}", type_name(*first), type_name(*second))]
    SpecialTwice {
        /// The id.
        id: i32,
        /// The type it was first listed under.
        first: NodeType,
        /// The other type.
        second: NodeType,
    },
    /// A rule names [`NodeType::Unspecified`], which no node has.
    #[error("a rule routes to the unspecified node type")]
    UnspecifiedType,
}

/// Every conflict in `rules`, in a stable order: inverted ranges and
/// overlaps first (by position), then ids special for two types.
pub(crate) fn route_conflicts(rules: &RouteRules) -> Vec<TableError> {
    let mut conflicts = Vec::new();
    if rules.range.contains_key(&NodeType::Unspecified) || rules.special.contains_key(&NodeType::Unspecified)
    {
        conflicts.push(TableError::UnspecifiedType);
    }
    let refs = rules.range.iter().flat_map(|(&t, ranges)| {
        ranges.iter().enumerate().map(move |(index, &range)| RangeRef { node_type: Some(t), index, range })
    });
    range_conflicts(refs.collect(), &mut conflicts);

    let mut owner: BTreeMap<i32, NodeType> = BTreeMap::new();
    for (&t, ids) in &rules.special {
        for &id in ids {
            match owner.entry(id) {
                btree_map::Entry::Vacant(slot) => {
                    slot.insert(t);
                }
                btree_map::Entry::Occupied(slot) if *slot.get() != t => {
                    conflicts.push(TableError::SpecialTwice { id, first: *slot.get(), second: t });
                }
                btree_map::Entry::Occupied(_) => {}
            }
        }
    }
    conflicts
}

/// Every inverted or overlapping range in `rules`.
pub(crate) fn state_conflicts(rules: &NoStateRules) -> Vec<TableError> {
    let refs =
        rules.range.iter().enumerate().map(|(index, &range)| RangeRef { node_type: None, index, range });
    let mut conflicts = Vec::new();
    range_conflicts(refs.collect(), &mut conflicts);
    conflicts
}

/// Pushes one [`TableError::Inverted`] per inverted range, then one
/// [`TableError::Overlap`] per range that starts inside an earlier one
/// (paired with the earlier range reaching furthest). O(n log n).
fn range_conflicts(mut refs: Vec<RangeRef>, out: &mut Vec<TableError>) {
    refs.retain(|at| {
        let inverted = at.range.lo > at.range.hi;
        if inverted {
            out.push(TableError::Inverted { at: *at });
        }
        !inverted
    });
    refs.sort_by_key(|at| (at.range.lo, at.range.hi));
    let mut reach: Option<RangeRef> = None;
    for at in refs {
        match reach {
            Some(prev) if at.range.lo <= prev.range.hi => {
                out.push(TableError::Overlap { first: prev, second: at });
                if at.range.hi > prev.range.hi {
                    reach = Some(at);
                }
            }
            _ => reach = Some(at),
        }
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
