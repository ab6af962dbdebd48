//! The app's errors and their stable numeric codes.
//!
//! A client sees `{"code": <code>, "msg": "..."}`; the admin API answers
//! with the same body and an HTTP status. Codes never change meaning: a new
//! failure gets a new code. The table is in `docs/betting.md`.

use espoir::{Code, Status};

use crate::state::{Action, IllegalTransition, MatchState};

/// Everything that can go wrong in the betting app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BetError {
    /// 6001: the command needs a logged-in session.
    #[error("log in first (command 100002)")]
    NotLoggedIn,
    /// 6002: the password does not match the user's.
    #[error("wrong name or password")]
    WrongPassword,
    /// 6003: a field of the request is out of range or malformed.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// 6010: no match has this id.
    #[error("no match {0}")]
    MatchNotFound(u64),
    /// 6011: the match's state does not allow the action.
    #[error("match {id}: a match in state {from} cannot {action}")]
    IllegalTransition {
        /// The match.
        id: u64,
        /// Its state.
        from: MatchState,
        /// What was attempted.
        action: Action,
    },
    /// 6012: the match does not take bets now.
    #[error("match {id} is not open for betting (state {state})")]
    BettingClosed {
        /// The match.
        id: u64,
        /// Its state.
        state: MatchState,
    },
    /// 6013: the match has no option of this name.
    #[error("match {match_id} has no option {option:?}")]
    UnknownOption {
        /// The match.
        match_id: u64,
        /// The name asked for.
        option: String,
    },
    /// 6014: the balance does not cover the stake.
    #[error("insufficient balance: {balance} coins, bet of {amount}")]
    InsufficientBalance {
        /// The balance when the bet was considered.
        balance: u64,
        /// The stake asked for.
        amount: u64,
    },
    /// 6015: no user has this name.
    #[error("no user {0:?}")]
    UserNotFound(String),
    /// 6016: the name is already taken (a concurrent first login).
    #[error("user name {0:?} is taken")]
    NameTaken(String),
    /// 6020: the admin API needs `Authorization: Bearer <http.token>`.
    #[error("missing or wrong admin token")]
    Unauthorized,
    /// 6021: the admin API is off because the node has no `http.token`.
    #[error("the admin API is disabled: this node has no http.token")]
    AdminDisabled,
    /// 6090: the store failed; nothing was changed.
    #[error("storage failure: {0}")]
    Storage(String),
    /// 6091: the store is shut down.
    #[error("the store is shut down")]
    Closed,
}

impl BetError {
    /// The stable numeric code.
    pub fn code(&self) -> u32 {
        match self {
            BetError::NotLoggedIn => 6001,
            BetError::WrongPassword => 6002,
            BetError::Invalid { .. } => 6003,
            BetError::MatchNotFound(_) => 6010,
            BetError::IllegalTransition { .. } => 6011,
            BetError::BettingClosed { .. } => 6012,
            BetError::UnknownOption { .. } => 6013,
            BetError::InsufficientBalance { .. } => 6014,
            BetError::UserNotFound(_) => 6015,
            BetError::NameTaken(_) => 6016,
            BetError::Unauthorized => 6020,
            BetError::AdminDisabled => 6021,
            BetError::Storage(_) => 6090,
            BetError::Closed => 6091,
        }
    }

    /// The HTTP status the admin API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            BetError::NotLoggedIn | BetError::WrongPassword | BetError::Unauthorized => 401,
            BetError::AdminDisabled => 403,
            BetError::Invalid { .. } | BetError::UnknownOption { .. } => 400,
            BetError::MatchNotFound(_) | BetError::UserNotFound(_) => 404,
            BetError::IllegalTransition { .. }
            | BetError::BettingClosed { .. }
            | BetError::InsufficientBalance { .. }
            | BetError::NameTaken(_) => 409,
            BetError::Storage(_) => 500,
            BetError::Closed => 503,
        }
    }

    /// An invalid-field error.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        BetError::Invalid { field, reason: reason.into() }
    }

    /// Wraps a transition refused by the state machine.
    pub fn transition(id: u64, err: IllegalTransition) -> Self {
        BetError::IllegalTransition { id, from: err.from, action: err.action }
    }

    /// A storage failure.
    pub fn storage(err: impl std::fmt::Display) -> Self {
        BetError::Storage(err.to_string())
    }
}

impl From<BetError> for Status {
    fn from(err: BetError) -> Status {
        Status::new(Code(err.code()), err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_reach_the_client_status() {
        let all = [
            BetError::NotLoggedIn,
            BetError::WrongPassword,
            BetError::invalid("amount", "must be positive"),
            BetError::MatchNotFound(1),
            BetError::IllegalTransition { id: 1, from: MatchState::Settled, action: Action::Open },
            BetError::BettingClosed { id: 1, state: MatchState::Closed },
            BetError::UnknownOption { match_id: 1, option: "x".into() },
            BetError::InsufficientBalance { balance: 1, amount: 2 },
            BetError::UserNotFound("a".into()),
            BetError::NameTaken("a".into()),
            BetError::Unauthorized,
            BetError::AdminDisabled,
            BetError::Storage("disk".into()),
            BetError::Closed,
        ];
        let mut codes: Vec<u32> = all.iter().map(BetError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for err in all {
            let status = Status::from(err.clone());
            assert_eq!(status.code(), Code(err.code()));
            assert_eq!(status.message(), err.to_string());
            assert!((400..600).contains(&err.http_status()));
        }
    }
}
