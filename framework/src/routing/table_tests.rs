use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::config::{IdRange, NoStateRules, RouteRules};
use crate::proto::NodeType::{self, Proxy, Route, Service};

const TYPES: [NodeType; 3] = [Proxy, Route, Service];

fn rules(range: &[(NodeType, &[(i32, i32)])], special: &[(NodeType, &[i32])]) -> RouteRules {
    let mut out = RouteRules::default();
    for (t, ranges) in range {
        out.range.entry(*t).or_default().extend(ranges.iter().map(|&(lo, hi)| IdRange::new(lo, hi)));
    }
    for (t, ids) in special {
        out.special.entry(*t).or_default().extend_from_slice(ids);
    }
    out
}

fn table(own: NodeType, range: &[(NodeType, &[(i32, i32)])], special: &[(NodeType, &[i32])]) -> RouteTable {
    RouteTable::new(own, &rules(range, special)).unwrap()
}

/// obespoir's demo route node (`route_config.json`).
fn demo_route_rules() -> RouteRules {
    rules(&[(Route, &[(0, 5000)]), (Service, &[(5001, 1_000_000)])], &[(Route, &[1000])])
}

#[test]
fn obespoir_demo_route_table() {
    let t = RouteTable::new(Route, &demo_route_rules()).unwrap();
    assert_eq!(t.node_type(), Route);
    assert_eq!(t.target(1000), Target::Local, "login is special for route");
    assert_eq!(t.target(20000), Target::Forward(Service), "enter-rank");
    assert_eq!(t.target(5000), Target::Local);
    assert_eq!(t.target(5001), Target::Forward(Service));
    assert_eq!(t.target(999), Target::Local, "the offline notice");
    assert_eq!(t.target(1_000_001), Target::Local, "unmatched ids are local on a route");
    assert_eq!(t.target(-1), Target::Local);
}

#[test]
fn obespoir_demo_service_and_proxy_tables() {
    let service = table(Service, &[(Service, &[(5001, 1_000_000)])], &[]);
    assert_eq!(service.target(20000), Target::Local);
    assert_eq!(service.target(1000), Target::Forward(Route));
    assert_eq!(service.target(999), Target::Forward(Route));

    let proxy = RouteTable::new(Proxy, &RouteRules::default()).unwrap();
    assert_eq!(proxy, RouteTable::empty(Proxy));
    for id in [i32::MIN, 0, 1000, 20000, i32::MAX] {
        assert_eq!(proxy.target(id), Target::Forward(Route));
    }
}

#[test]
fn range_bounds_are_inclusive() {
    let t = table(Proxy, &[(Service, &[(10, 20)]), (Route, &[(30, 30)])], &[]);
    let fallback = Target::Forward(Route);
    assert_eq!(t.target(9), fallback);
    assert_eq!(t.target(10), Target::Forward(Service));
    assert_eq!(t.target(20), Target::Forward(Service));
    assert_eq!(t.target(21), fallback);
    assert_eq!(t.target(29), fallback);
    assert_eq!(t.target(30), Target::Forward(Route));
    assert_eq!(t.target(31), fallback);
}

#[test]
fn the_extremes_of_i32_are_routable() {
    let t = table(Route, &[(Service, &[(i32::MIN, i32::MIN + 1), (i32::MAX, i32::MAX)])], &[]);
    assert_eq!(t.target(i32::MIN), Target::Forward(Service));
    assert_eq!(t.target(i32::MIN + 1), Target::Forward(Service));
    assert_eq!(t.target(i32::MIN + 2), Target::Local);
    assert_eq!(t.target(i32::MAX - 1), Target::Local);
    assert_eq!(t.target(i32::MAX), Target::Forward(Service));

    let all = table(Proxy, &[(Service, &[(i32::MIN, i32::MAX)])], &[(Proxy, &[i32::MIN, i32::MAX])]);
    assert_eq!(all.target(i32::MIN), Target::Local);
    assert_eq!(all.target(0), Target::Forward(Service));
    assert_eq!(all.target(i32::MAX), Target::Local);
}

#[test]
fn special_beats_range() {
    let t = table(Service, &[(Service, &[(0, 100)])], &[(Route, &[50]), (Proxy, &[0, 100])]);
    assert_eq!(t.target(49), Target::Local);
    assert_eq!(t.target(50), Target::Forward(Route));
    assert_eq!(t.target(51), Target::Local);
    assert_eq!(t.target(0), Target::Forward(Proxy));
    assert_eq!(t.target(100), Target::Forward(Proxy));
}

#[test]
fn the_own_type_means_local() {
    for own in TYPES {
        let t = table(own, &[(own, &[(0, 9)])], &[(own, &[42])]);
        assert_eq!(t.target(5), Target::Local);
        assert_eq!(t.target(42), Target::Local);
    }
}

#[test]
fn empty_tables_send_everything_to_a_route() {
    for own in TYPES {
        let expected = if own == Route { Target::Local } else { Target::Forward(Route) };
        let t = RouteTable::empty(own);
        for id in [i32::MIN, -1, 0, 1, i32::MAX] {
            assert_eq!(t.target(id), expected);
        }
        // Types present with empty lists are no different.
        assert_eq!(table(own, &[(Service, &[])], &[(Proxy, &[])]), t);
    }
}

#[test]
fn conflicting_rules_are_refused() {
    let err =
        RouteTable::new(Route, &rules(&[(Route, &[(0, 10)]), (Service, &[(10, 20)])], &[])).unwrap_err();
    assert_eq!(
        err,
        TableError::Overlap {
            first: RangeRef { node_type: Some(Route), index: 0, range: IdRange::new(0, 10) },
            second: RangeRef { node_type: Some(Service), index: 0, range: IdRange::new(10, 20) },
        }
    );
    assert_eq!(err.to_string(), "range.service[0] [10, 20] overlaps range.route[0] [0, 10]");

    let err = RouteTable::new(Route, &rules(&[(Service, &[(5, 4)])], &[])).unwrap_err();
    assert_eq!(err.to_string(), "range.service[0] [5, 4]: the low bound is above the high bound");

    let err = RouteTable::new(Route, &rules(&[], &[(Route, &[7]), (Service, &[7])])).unwrap_err();
    assert_eq!(err, TableError::SpecialTwice { id: 7, first: Route, second: Service });

    let err = RouteTable::new(Route, &rules(&[(NodeType::Unspecified, &[(0, 1)])], &[])).unwrap_err();
    assert_eq!(err, TableError::UnspecifiedType);
}

#[test]
fn every_overlapping_range_is_reported() {
    // A wide range swallowing two later ones, and a contained duplicate.
    let r = rules(&[(Service, &[(0, 100), (10, 20), (30, 40)]), (Route, &[(10, 20)])], &[]);
    let overlaps = route_conflicts(&r);
    assert_eq!(overlaps.len(), 3, "{overlaps:#?}");
    assert!(
        overlaps
            .iter()
            .all(|c| matches!(c, TableError::Overlap { first, .. } if first.range == IdRange::new(0, 100)))
    );
}

#[test]
fn state_table_lookups() {
    let no_state =
        NoStateRules { range: vec![IdRange::new(100, 200), IdRange::new(0, 10)], special: vec![500, 500, 7] };
    let t = StateTable::new(&no_state).unwrap();
    for (id, stateless) in [
        (-1, false),
        (0, true),
        (10, true),
        (11, false),
        (99, false),
        (100, true),
        (200, true),
        (201, false),
        (500, true),
        (7, true),
    ] {
        assert_eq!(t.is_stateless(id), stateless, "{id}");
    }
    let empty = StateTable::empty();
    assert!(!empty.is_stateless(0) && !empty.is_stateless(i32::MIN) && !empty.is_stateless(i32::MAX));

    let demo =
        StateTable::new(&NoStateRules { range: vec![IdRange::new(0, 100_000)], special: vec![] }).unwrap();
    assert!(demo.is_stateless(1000) && demo.is_stateless(100_000) && !demo.is_stateless(100_001));

    let overlap = NoStateRules { range: vec![IdRange::new(0, 10), IdRange::new(10, 20)], special: vec![] };
    assert!(matches!(StateTable::new(&overlap), Err(TableError::Overlap { .. })));
}

/// The reference semantics, written as plainly as possible.
fn naive(own: NodeType, rules: &RouteRules, command: i32) -> Target {
    let resolve = |t: NodeType| if t == own { Target::Local } else { Target::Forward(t) };
    for (t, ids) in &rules.special {
        if ids.contains(&command) {
            return resolve(*t);
        }
    }
    for (t, ranges) in &rules.range {
        if ranges.iter().any(|r| r.contains(command)) {
            return resolve(*t);
        }
    }
    resolve(Route)
}

/// Random valid rules: disjoint ranges cut from sorted distinct bounds,
/// each given to a random type, and specials spread over the types.
fn arb_rules() -> impl Strategy<Value = RouteRules> {
    let bounds = prop::collection::btree_set(any::<i32>(), 0..40);
    let specials = prop::collection::btree_map(any::<i32>(), 0..3usize, 0..12);
    (bounds, prop::collection::vec((0..3usize, any::<bool>()), 20), specials).prop_map(
        |(bounds, picks, specials)| {
            let bounds: Vec<i32> = bounds.into_iter().collect();
            let mut range: BTreeMap<NodeType, Vec<IdRange>> = BTreeMap::new();
            for (pair, (t, single)) in bounds.chunks_exact(2).zip(picks) {
                let hi = if single { pair[0] } else { pair[1] };
                range.entry(TYPES[t]).or_default().push(IdRange::new(pair[0], hi));
            }
            let mut special: BTreeMap<NodeType, Vec<i32>> = BTreeMap::new();
            for (id, t) in specials {
                special.entry(TYPES[t]).or_default().push(id);
            }
            RouteRules { range, special }
        },
    )
}

proptest! {
    #[test]
    fn target_agrees_with_a_linear_scan(
        rules in arb_rules(),
        own in 0..3usize,
        probes in prop::collection::vec(any::<i32>(), 32),
    ) {
        let own = TYPES[own];
        let t = RouteTable::new(own, &rules).unwrap();
        let edges = rules.range.values().flatten().flat_map(|r| {
            [r.lo.saturating_sub(1), r.lo, r.hi, r.hi.saturating_add(1)]
        });
        let specials = rules.special.values().flatten().copied();
        for command in probes.into_iter().chain(edges).chain(specials).chain([i32::MIN, 0, i32::MAX]) {
            prop_assert_eq!(t.target(command), naive(own, &rules, command), "command {}", command);
        }
    }

    #[test]
    fn is_stateless_agrees_with_a_linear_scan(
        rules in arb_rules(),
        probes in prop::collection::vec(any::<i32>(), 32),
    ) {
        let no_state = NoStateRules {
            range: rules.range.values().flatten().copied().collect(),
            special: rules.special.values().flatten().copied().collect(),
        };
        let t = StateTable::new(&no_state).unwrap();
        let edges: Vec<i32> = no_state.range.iter().flat_map(|r| [r.lo.saturating_sub(1), r.lo, r.hi, r.hi.saturating_add(1)]).collect();
        for command in probes.into_iter().chain(edges) {
            let expected = no_state.special.contains(&command) || no_state.range.iter().any(|r| r.contains(command));
            prop_assert_eq!(t.is_stateless(command), expected, "command {}", command);
        }
    }
}

/// Any ranges at all, inverted or overlapping ones included, over a small
/// id space so that collisions are common.
fn arb_any_ranges() -> impl Strategy<Value = RouteRules> {
    prop::collection::vec((0..3usize, -50i32..50, -50i32..50), 0..8).prop_map(|picks| {
        let mut range: BTreeMap<NodeType, Vec<IdRange>> = BTreeMap::new();
        for (t, lo, hi) in picks {
            range.entry(TYPES[t]).or_default().push(IdRange::new(lo, hi));
        }
        RouteRules { range, special: BTreeMap::new() }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_table_is_built_exactly_when_ranges_are_upright_and_disjoint(rules in arb_any_ranges()) {
        let all: Vec<IdRange> = rules.range.values().flatten().copied().collect();
        let inverted = all.iter().any(|r| r.lo > r.hi);
        let overlapping = all.iter().enumerate().any(|(i, a)| {
            all[i + 1..].iter().any(|b| a.lo <= a.hi && b.lo <= b.hi && a.lo <= b.hi && b.lo <= a.hi)
        });
        let built = RouteTable::new(Route, &rules);
        prop_assert_eq!(built.is_ok(), !inverted && !overlapping, "{:?}", built.err());
        if let Ok(table) = built {
            // Then every id of every range goes to that range's type.
            for (t, ranges) in &rules.range {
                for r in ranges {
                    for id in r.lo..=r.hi {
                        let want = if *t == Route { Target::Local } else { Target::Forward(*t) };
                        prop_assert_eq!(table.target(id), want);
                    }
                }
            }
        }
    }

    #[test]
    fn a_special_id_wins_over_any_range(rules in arb_rules(), id in any::<i32>(), t in 0..3usize) {
        let mut rules = rules;
        for ids in rules.special.values_mut() {
            ids.retain(|&s| s != id);
        }
        rules.special.entry(TYPES[t]).or_default().push(id);
        let table = RouteTable::new(Service, &rules).unwrap();
        let want = if TYPES[t] == Service { Target::Local } else { Target::Forward(TYPES[t]) };
        prop_assert_eq!(table.target(id), want);
    }
}
