use super::*;

use Action as A;
use MatchState as S;

/// Every allowed transition, written out once: anything not here is refused.
const ALLOWED: &[(MatchState, Action, MatchState)] = &[
    (S::NotStarted, A::Approve, S::BettingStopped),
    (S::NotStarted, A::Cancel, S::Cancelled),
    (S::BettingStopped, A::Open, S::BettingOpen),
    (S::BettingStopped, A::Kickoff, S::Closed),
    (S::BettingStopped, A::SetResult, S::Settling),
    (S::BettingStopped, A::SetNoResult, S::NoResult),
    (S::BettingStopped, A::Cancel, S::Cancelled),
    (S::BettingOpen, A::Stop, S::BettingStopped),
    (S::BettingOpen, A::Kickoff, S::Closed),
    (S::BettingOpen, A::SetResult, S::Settling),
    (S::BettingOpen, A::SetNoResult, S::NoResult),
    (S::BettingOpen, A::Cancel, S::Cancelled),
    (S::Closed, A::SetResult, S::Settling),
    (S::Closed, A::SetNoResult, S::NoResult),
    (S::Closed, A::Cancel, S::Cancelled),
    (S::Settling, A::FinishSettlement, S::Settled),
    (S::Cancelled, A::FinishRefund, S::Refunded),
    (S::NoResult, A::FinishRefund, S::Refunded),
];

#[test]
fn every_pair_of_state_and_action_is_allowed_or_refused_as_documented() {
    let mut checked = 0;
    for from in ALL_STATES {
        for action in ALL_ACTIONS {
            let expected = ALLOWED.iter().find(|(f, a, _)| *f == from && *a == action).map(|(_, _, to)| *to);
            match (from.next(action), expected) {
                (Ok(to), Some(want)) => assert_eq!(to, want, "{from} + {action}"),
                (Err(err), None) => {
                    assert_eq!(err, IllegalTransition { from, action });
                    assert!(err.to_string().contains(from.name()), "{err}");
                }
                (got, want) => panic!("{from} + {action}: got {got:?}, documented {want:?}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 90);
}

#[test]
fn final_states_have_no_way_out() {
    for from in [S::Settled, S::Refunded, S::PaidOut] {
        for action in ALL_ACTIONS {
            assert!(from.next(action).is_err(), "{from} + {action}");
        }
    }
}

#[test]
fn every_match_state_but_paid_out_is_reachable_from_creation() {
    let mut seen = vec![S::NotStarted];
    let mut frontier = vec![S::NotStarted];
    while let Some(state) = frontier.pop() {
        for action in ALL_ACTIONS {
            if let Ok(next) = state.next(action)
                && !seen.contains(&next)
            {
                seen.push(next);
                frontier.push(next);
            }
        }
    }
    seen.sort();
    let mut want: Vec<_> = ALL_STATES.into_iter().filter(|s| *s != S::PaidOut).collect();
    want.sort();
    assert_eq!(seen, want, "PaidOut belongs to orders, everything else to matches");
}

#[test]
fn only_an_open_match_takes_bets() {
    for state in ALL_STATES {
        assert_eq!(state.accepts_bets(), state == S::BettingOpen, "{state}");
    }
}

#[test]
fn listed_matches_are_doing_or_finished_never_both() {
    for state in ALL_STATES {
        assert!(!(state.is_doing() && state.is_finished()), "{state}");
        let listed = state.is_doing() || state.is_finished();
        assert_eq!(listed, !matches!(state, S::NotStarted | S::PaidOut), "{state}");
    }
}

#[test]
fn payout_and_kickoff_work_is_pending_exactly_where_the_machine_expects_it() {
    for state in ALL_STATES {
        let finishes = state.next(A::FinishSettlement).is_ok() || state.next(A::FinishRefund).is_ok();
        assert_eq!(state.needs_payout(), finishes, "{state}");
        assert_eq!(state.awaits_kickoff(), state.next(A::Kickoff).is_ok(), "{state}");
    }
}

#[test]
fn states_keep_the_seeds_numbers_on_the_wire() {
    for (n, state) in ALL_STATES.into_iter().enumerate() {
        assert_eq!(usize::from(state.code()), n);
        assert_eq!(MatchState::try_from(state.code()), Ok(state));
        assert_eq!(serde_json::to_string(&state).unwrap(), n.to_string());
        assert_eq!(serde_json::from_str::<MatchState>(&n.to_string()).unwrap(), state);
    }
    assert_eq!(MatchState::try_from(10), Err(UnknownState(10)));
    assert!(serde_json::from_str::<MatchState>("10").is_err());
}

#[test]
fn a_payout_run_finishes_with_the_transition_the_state_allows() {
    for state in ALL_STATES {
        match state.payout_finish() {
            // The finishing transition is one the machine accepts here.
            Ok(Some(action)) => assert!(state.needs_payout() && state.next(action).is_ok(), "{state}"),
            // Already paid out: a repeated run is a no-op, not an error.
            Ok(None) => assert!(matches!(state, S::Settled | S::Refunded), "{state}"),
            Err(err) => assert!(!state.needs_payout() && err.from == state, "{state}"),
        }
    }
}
