//! The betting (竞猜) app on espoir: the seed's connect / logic / gm /
//! resultcenter / noticesvr processes as one set of handlers.
//!
//! # Layout
//!
//! * `state`: the match state machine (the seed's `iGuessState`), pure.
//! * `model`: users, matches, orders, payouts, the money audit.
//! * `error`: [`BetError`] and its stable numeric codes.
//! * `ids`: order ids unique across service nodes ([`OrderIds`]).
//! * `store`: the [`Store`] trait and the embedded redb store
//!   ([`EmbeddedStore`]) with group commit.
//!
//! Modules are private; what is public is re-exported here.

mod error;
mod ids;
mod model;
mod state;
mod store;

pub use error::BetError;
pub use ids::{MAX_WORKER_ID, OrderIds, now_ms};
pub use model::{
    Audit, MAX_NAME, MAX_ODDS_CENTI, MAX_OPTIONS, MAX_STAKE, MIN_ODDS_CENTI, Match, MatchOption, NewBet,
    NewMatch, NewOption, Order, OrderStatus, Payout, PayoutBatch, Placed, User, check_name, payout,
};
pub use state::{ALL_ACTIONS, ALL_STATES, Action, IllegalTransition, MatchState, UnknownState};
pub use store::{EmbeddedStore, Store};
