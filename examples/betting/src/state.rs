//! The match state machine: the seed's `iGuessState`, made one coherent
//! set of transitions. Pure: no I/O, no clock.
//!
//! ```text
//!                  approve
//!   0 NotStarted ───────────▶ 1 BettingStopped ◀── stop ──┐
//!        │                       │      └────── open ───▶ 2 BettingOpen
//!        │                       │ kickoff (start time)      │ kickoff
//!        │                       ▼                           │
//!        │                    5 Closed ◀─────────────────────┘
//!        │            from 1, 2 or 5:
//!        │              result ─────▶ 3 Settling ── all orders settled ──▶ 4 Settled
//!        │              no result ──▶ 7 NoResult ─┐
//!        └── cancel (from 0, 1, 2 or 5) ──▶ 6 Cancelled ─┴─ all refunded ──▶ 8 Refunded
//! ```
//!
//! `9 PaidOut` is never a match's state: it is the status of an *order*
//! whose winnings reached the bettor's balance (see
//! [`crate::OrderStatus`]). `docs/betting.md` has the full table.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A match's state; the numbers are the seed's `iGuessState`, stable on the
/// wire and in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum MatchState {
    /// 0: created, awaiting the admin's approval; not listed to clients.
    NotStarted = 0,
    /// 1: approved and listed; betting paused.
    BettingStopped = 1,
    /// 2: approved and listed; bets are accepted.
    BettingOpen = 2,
    /// 3: the result is set; winners are being paid.
    Settling = 3,
    /// 4: every order is settled. Final.
    Settled = 4,
    /// 5: the match has started; betting is closed for good, the result
    /// is awaited.
    Closed = 5,
    /// 6: cancelled; stakes are being refunded.
    Cancelled = 6,
    /// 7: the match ended without a result; stakes are being refunded.
    NoResult = 7,
    /// 8: every stake is refunded. Final.
    Refunded = 8,
    /// 9: an order's winnings are credited. Orders only; see the module docs.
    PaidOut = 9,
}

/// Every state, in numeric order.
pub const ALL_STATES: [MatchState; 10] = [
    MatchState::NotStarted,
    MatchState::BettingStopped,
    MatchState::BettingOpen,
    MatchState::Settling,
    MatchState::Settled,
    MatchState::Closed,
    MatchState::Cancelled,
    MatchState::NoResult,
    MatchState::Refunded,
    MatchState::PaidOut,
];

/// What can happen to a match: an admin command, the match's start time
/// passing, or the payout job finishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Admin: list the match (`/approve`).
    Approve,
    /// Admin: accept bets (`/open`).
    Open,
    /// Admin: pause betting (`/stop`).
    Stop,
    /// The start time passed: close betting for good.
    Kickoff,
    /// Admin: the winning option is known (`/result {option}`).
    SetResult,
    /// Admin: the match has no result (`/result {"no_result": true}`).
    SetNoResult,
    /// Admin: call the match off (`/cancel`).
    Cancel,
    /// The payout job settled every order.
    FinishSettlement,
    /// The payout job refunded every order.
    FinishRefund,
}

/// Every action.
pub const ALL_ACTIONS: [Action; 9] = [
    Action::Approve,
    Action::Open,
    Action::Stop,
    Action::Kickoff,
    Action::SetResult,
    Action::SetNoResult,
    Action::Cancel,
    Action::FinishSettlement,
    Action::FinishRefund,
];

/// `action` is not allowed in state `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a match in state {from} cannot {action}")]
pub struct IllegalTransition {
    /// The match's state.
    pub from: MatchState,
    /// What was attempted.
    pub action: Action,
}

impl MatchState {
    /// The state after `action`.
    ///
    /// # Errors
    /// [`IllegalTransition`] for every pair not in the diagram.
    pub fn next(self, action: Action) -> Result<MatchState, IllegalTransition> {
        use Action as A;
        use MatchState as S;
        let next = match (self, action) {
            (S::NotStarted, A::Approve) => S::BettingStopped,
            (S::BettingStopped, A::Open) => S::BettingOpen,
            (S::BettingOpen, A::Stop) => S::BettingStopped,
            (S::BettingStopped | S::BettingOpen, A::Kickoff) => S::Closed,
            (S::BettingStopped | S::BettingOpen | S::Closed, A::SetResult) => S::Settling,
            (S::BettingStopped | S::BettingOpen | S::Closed, A::SetNoResult) => S::NoResult,
            (S::NotStarted | S::BettingStopped | S::BettingOpen | S::Closed, A::Cancel) => S::Cancelled,
            (S::Settling, A::FinishSettlement) => S::Settled,
            (S::Cancelled | S::NoResult, A::FinishRefund) => S::Refunded,
            (from, action) => return Err(IllegalTransition { from, action }),
        };
        Ok(next)
    }

    /// Whether bets are accepted.
    pub fn accepts_bets(self) -> bool {
        self == MatchState::BettingOpen
    }

    /// Listed to clients as "doing": approved, result not yet known.
    pub fn is_doing(self) -> bool {
        matches!(self, MatchState::BettingStopped | MatchState::BettingOpen | MatchState::Closed)
    }

    /// Listed to clients as "finished": result known, or called off.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            MatchState::Settling
                | MatchState::Settled
                | MatchState::Cancelled
                | MatchState::NoResult
                | MatchState::Refunded
        )
    }

    /// Orders are being settled or refunded: a payout job must run (and be
    /// resumed after a restart).
    pub fn needs_payout(self) -> bool {
        matches!(self, MatchState::Settling | MatchState::Cancelled | MatchState::NoResult)
    }

    /// The transition that ends a payout run on a match in this state, or
    /// `None` when its payouts are already done (4 or 8): running a batch
    /// again then changes nothing. Both stores ask this before each batch.
    ///
    /// # Errors
    /// [`IllegalTransition`] for a match that has nothing to pay out.
    pub fn payout_finish(self) -> Result<Option<Action>, IllegalTransition> {
        match self {
            MatchState::Settling => Ok(Some(Action::FinishSettlement)),
            MatchState::Cancelled | MatchState::NoResult => Ok(Some(Action::FinishRefund)),
            MatchState::Settled | MatchState::Refunded => Ok(None),
            from => Err(IllegalTransition { from, action: Action::FinishSettlement }),
        }
    }

    /// Betting closes by itself at the start time (a kickoff timer is armed).
    pub fn awaits_kickoff(self) -> bool {
        matches!(self, MatchState::BettingStopped | MatchState::BettingOpen)
    }

    /// The seed's number.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Lower-case name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            MatchState::NotStarted => "not_started",
            MatchState::BettingStopped => "betting_stopped",
            MatchState::BettingOpen => "betting_open",
            MatchState::Settling => "settling",
            MatchState::Settled => "settled",
            MatchState::Closed => "closed",
            MatchState::Cancelled => "cancelled",
            MatchState::NoResult => "no_result",
            MatchState::Refunded => "refunded",
            MatchState::PaidOut => "paid_out",
        }
    }
}

impl fmt::Display for MatchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Approve => "approve",
            Action::Open => "open betting",
            Action::Stop => "stop betting",
            Action::Kickoff => "kick off",
            Action::SetResult => "take a result",
            Action::SetNoResult => "end without a result",
            Action::Cancel => "be cancelled",
            Action::FinishSettlement => "finish settlement",
            Action::FinishRefund => "finish refunds",
        })
    }
}

impl From<MatchState> for u8 {
    fn from(s: MatchState) -> u8 {
        s.code()
    }
}

/// A number that is not a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a match state (0..=9)")]
pub struct UnknownState(pub u8);

impl TryFrom<u8> for MatchState {
    type Error = UnknownState;

    fn try_from(n: u8) -> Result<Self, UnknownState> {
        ALL_STATES.get(usize::from(n)).copied().ok_or(UnknownState(n))
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
