//! What importing one feed entry does to the store, decided without I/O:
//! create the match, update it while it is still unapproved, or leave it.

use crate::error::BetError;
use crate::model::{Match, NewMatch};
use crate::state::MatchState;

/// What importing a match from the feed did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// A new match (state 0, awaiting the admin's approval).
    Created(Match),
    /// The unapproved match of this feed id, changed to what the feed says.
    Updated(Match),
    /// Already as the feed says.
    Unchanged(Match),
    /// The feed says something else, but the match is approved (or
    /// further): bets may rest on it, so only the admin changes it.
    Locked(Match),
}

/// The step a store takes for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    Create,
    Update(Match),
    Unchanged,
    Locked,
}

/// Decides the step for `spec` given the match already imported under its
/// feed id, if any.
///
/// # Errors
/// [`BetError::Invalid`] when the entry does not validate.
pub(crate) fn plan(existing: Option<&Match>, spec: &NewMatch) -> Result<Plan, BetError> {
    let options = spec.validate()?;
    let Some(m) = existing else { return Ok(Plan::Create) };
    let wanted = Match {
        kind: spec.kind.clone(),
        home: spec.home.clone(),
        away: spec.away.clone(),
        start_time: spec.start_time,
        options,
        ..m.clone()
    };
    Ok(if wanted == *m {
        Plan::Unchanged
    } else if m.state == MatchState::NotStarted {
        Plan::Update(wanted)
    } else {
        Plan::Locked
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewOption;

    fn spec(start: u64) -> NewMatch {
        NewMatch {
            kind: "football".into(),
            home: "A".into(),
            away: "B".into(),
            start_time: start,
            options: vec![
                NewOption { name: "home".into(), odds: 2.0 },
                NewOption { name: "away".into(), odds: 1.5 },
            ],
        }
    }

    #[test]
    fn new_ids_create_unapproved_ones_update_approved_ones_stay() {
        assert_eq!(plan(None, &spec(100)), Ok(Plan::Create));
        let m = Match::from_spec(7, &spec(100)).unwrap();
        assert_eq!(plan(Some(&m), &spec(100)), Ok(Plan::Unchanged));
        let Ok(Plan::Update(updated)) = plan(Some(&m), &spec(200)) else { panic!() };
        assert_eq!((updated.id, updated.start_time, updated.state), (7, 200, MatchState::NotStarted));
        let approved = Match { state: MatchState::BettingOpen, ..m };
        assert_eq!(plan(Some(&approved), &spec(200)), Ok(Plan::Locked));
        assert_eq!(plan(Some(&approved), &spec(100)), Ok(Plan::Unchanged));
        let mut bad = spec(100);
        bad.options.pop();
        assert!(matches!(plan(None, &bad), Err(BetError::Invalid { .. })));
    }
}
