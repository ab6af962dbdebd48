//! The betting state machine under random event sequences, through the
//! store (where the state actually lives): every sequence keeps a match in
//! a state the machine allows, a refused event changes nothing stored, and
//! the final states stay final.

mod common;

use betting::{ALL_ACTIONS, Action, EmbeddedStore, MatchState, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn result_for(action: Action) -> Option<&'static str> {
    // A result only goes with SetResult; a stray one elsewhere must be
    // refused, so sometimes send one anyway.
    match action {
        Action::SetResult => Some("home"),
        _ => None,
    }
}

#[test]
fn any_event_sequence_keeps_every_match_in_a_valid_state() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = EmbeddedStore::open(dir.path().join("props.db")).unwrap();
    // A fixed, small CI budget; no failure files written into the tree.
    let mut runner = TestRunner::new(Config { cases: 64, failure_persistence: None, ..Config::default() });
    let events = proptest::collection::vec((0..ALL_ACTIONS.len(), any::<bool>()), 1..16);
    runner
        .run(&events, |events| {
            rt.block_on(async {
                let created = store.create_match(&common::three_way("football")).await.unwrap();
                prop_assert_eq!(created.state, MatchState::NotStarted);
                let mut before = created;
                for (i, stray_result) in events {
                    let action = ALL_ACTIONS[i];
                    let result = if stray_result && action != Action::SetResult {
                        Some("draw")
                    } else {
                        result_for(action)
                    };
                    let expected = before.state.next(action);
                    let outcome = store.transition(before.id, action, result).await;
                    let stored = store.get_match(before.id).await.unwrap();
                    match (expected, outcome) {
                        (Ok(next), Ok(m)) => {
                            prop_assert_eq!(m.state, next, "{} + {}", before.state, action);
                            prop_assert_eq!(&stored, &m, "the answer is what was stored");
                        }
                        (Ok(next), Err(err)) => {
                            // The store may refuse more than the bare machine
                            // (a stray result), but then nothing changes.
                            prop_assert!(
                                stray_result,
                                "{} + {} -> {} refused: {}",
                                before.state,
                                action,
                                next,
                                err
                            );
                            prop_assert_eq!(&stored, &before, "a refused event changed the match");
                        }
                        (Err(_), Ok(m)) => {
                            prop_assert!(
                                false,
                                "{} + {} was accepted (-> {})",
                                before.state,
                                action,
                                m.state
                            );
                        }
                        (Err(_), Err(_)) => {
                            prop_assert_eq!(&stored, &before, "a refused event changed the match")
                        }
                    }
                    if matches!(before.state, MatchState::Settled | MatchState::Refunded) {
                        prop_assert_eq!(stored.state, before.state, "a final state was left");
                    }
                    prop_assert_ne!(stored.state, MatchState::PaidOut, "PaidOut belongs to orders");
                    before = stored;
                }
                Ok(())
            })
        })
        .unwrap();
}
