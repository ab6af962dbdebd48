//! Where the app keeps its data, behind one trait.
//!
//! The trait speaks the domain's language (place a bet, run a transition,
//! pay out a batch), not tables: each method is one atomic step, so every
//! implementation decides how to make it atomic. The embedded store
//! ([`EmbeddedStore`], redb) serialises writes through one writer and
//! commits them in groups; the MongoDB store ([`MongoStore`]) runs bets and
//! payout batches as multi-document transactions, with the order's status
//! as its settlement marker, and serves several betting nodes at once.
//!
//! # Contract
//! * A method that returns `Ok` has committed durably: a crash afterwards
//!   loses nothing it reported.
//! * A method that returns `Err` changed nothing.
//! * [`Store::place_bet`] never lets a balance go below zero, whatever runs
//!   concurrently.
//! * [`Store::pay_out`] settles or refunds each order exactly once: an
//!   order's status change and its credit commit together, and only open
//!   orders are picked, so running it twice, concurrently, or again after a
//!   crash pays nobody twice and, run until done, misses nobody.

mod embedded;
mod mongo;

use async_trait::async_trait;

pub use self::embedded::EmbeddedStore;
pub use self::mongo::MongoStore;
use crate::error::BetError;
use crate::feed::Imported;
use crate::model::{Audit, Match, NewBet, NewMatch, Order, PayoutBatch, Placed, User};
use crate::state::Action;

/// The betting app's storage.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// The user named `name`, if any.
    async fn user(&self, name: &str) -> Result<Option<User>, BetError>;

    /// Creates a user with `bonus` coins (credited, so the audit counts it).
    ///
    /// # Errors
    /// [`BetError::NameTaken`] when the name exists.
    async fn create_user(&self, name: &str, password_hash: &str, bonus: u64) -> Result<User, BetError>;

    /// Adds `amount` coins to the balance of `name`; returns the new balance.
    ///
    /// # Errors
    /// [`BetError::UserNotFound`], or [`BetError::Invalid`] on overflow.
    async fn credit(&self, name: &str, amount: u64) -> Result<u64, BetError>;

    /// The balance of user `uid` (0 for an unknown user).
    async fn balance(&self, uid: u64) -> Result<u64, BetError>;

    /// Stores a new match in state 0.
    ///
    /// # Errors
    /// [`BetError::Invalid`] when the spec does not validate.
    async fn create_match(&self, spec: &NewMatch) -> Result<Match, BetError>;

    /// The match `id`.
    ///
    /// # Errors
    /// [`BetError::MatchNotFound`].
    async fn get_match(&self, id: u64) -> Result<Match, BetError>;

    /// Every match, by id.
    async fn matches(&self) -> Result<Vec<Match>, BetError>;

    /// Applies `action` to match `id` through the state machine, atomically
    /// with respect to bets and other transitions. `result` names the
    /// winning option for [`Action::SetResult`] and must be `None` otherwise.
    ///
    /// # Errors
    /// [`BetError::MatchNotFound`], [`BetError::IllegalTransition`],
    /// [`BetError::UnknownOption`].
    async fn transition(&self, id: u64, action: Action, result: Option<&str>) -> Result<Match, BetError>;

    /// Takes the stake from the bettor's balance and records the order, if
    /// the match is open, the option exists and the balance covers it.
    ///
    /// # Errors
    /// [`BetError::MatchNotFound`], [`BetError::BettingClosed`],
    /// [`BetError::UnknownOption`], [`BetError::InsufficientBalance`],
    /// [`BetError::Invalid`] (amount).
    async fn place_bet(&self, bet: NewBet) -> Result<Placed, BetError>;

    /// The newest `limit` orders of user `uid`, newest first.
    async fn orders_of(&self, uid: u64, limit: usize) -> Result<Vec<Order>, BetError>;

    /// Every user who bet on match `id`.
    async fn bettors(&self, match_id: u64) -> Result<Vec<u64>, BetError>;

    /// Settles (state 3) or refunds (states 6, 7) up to `limit` open orders
    /// of the match, and moves it to its final state (4 or 8) once none is
    /// left. A match in a final state returns an empty, done batch.
    ///
    /// # Errors
    /// [`BetError::MatchNotFound`]; [`BetError::IllegalTransition`] for a
    /// match whose orders are not due (betting still possible).
    async fn pay_out(&self, match_id: u64, limit: usize) -> Result<PayoutBatch, BetError>;

    /// Imports the match the feed calls `feed_id`: creates it (state 0)
    /// the first time, updates it while it is unapproved, leaves it once
    /// approved. Keyed uniquely by `feed_id`, so importing again, or from
    /// two nodes at once, makes one match.
    ///
    /// # Errors
    /// [`BetError::Invalid`] when the spec does not validate.
    async fn import_match(&self, feed_id: &str, spec: &NewMatch) -> Result<Imported, BetError>;

    /// The highest order id stored, to resume id generation after it.
    async fn last_order_id(&self) -> Result<Option<u64>, BetError>;

    /// Counts where every coin is (for tests and operators).
    async fn audit(&self) -> Result<Audit, BetError>;

    /// Finishes queued writes and releases the store; later calls fail with
    /// [`BetError::Closed`].
    async fn close(&self);
}
