//! The MongoDB store's documents and their conversions to the domain.
//!
//! ```text
//!  users     { _id: uid, name, password_hash, balance, credited }
//!  matches   { _id: id, kind, home, away, start_time, state, result,
//!              options: [{ name, odds_centi, staked }], staked }
//!  orders    { _id: order id, match_id, uid, option, amount, status, payout, placed_at }
//!  counters  { _id: "uid" | "match", seq }
//! ```
//!
//! BSON has no unsigned integers, so every number is an `i64` here and is
//! converted with a check: coins and ids above `i64::MAX` are refused at
//! the boundary ([`MAX_COINS`]) rather than wrapped. Order ids fit by
//! construction (63 bits, see `ids.rs`).
//!
//! `credited` (coins the admin and sign-up bonuses gave the user) lives on
//! the user, not in one global counter, so credits to different users never
//! contend on one document; the audit sums it.
//!
//! `staked` (on the match and each option) is the stake total. Every bet
//! increments it in its transaction, which is also what makes a bet and a
//! state change of its match conflict rather than interleave.

use serde::{Deserialize, Serialize};

use crate::error::BetError;
use crate::model::{Match, MatchOption, Order, OrderStatus, User};
use crate::state::MatchState;

/// Largest balance or credit total the store holds: BSON's `i64`.
pub(super) const MAX_COINS: u64 = i64::MAX as u64;

pub(super) const USERS: &str = "users";
pub(super) const MATCHES: &str = "matches";
pub(super) const ORDERS: &str = "orders";
pub(super) const COUNTERS: &str = "counters";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct UserDoc {
    #[serde(rename = "_id")]
    pub(super) uid: i64,
    pub(super) name: String,
    pub(super) password_hash: String,
    pub(super) balance: i64,
    pub(super) credited: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct OptionDoc {
    pub(super) name: String,
    pub(super) odds_centi: i32,
    pub(super) staked: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MatchDoc {
    #[serde(rename = "_id")]
    pub(super) id: i64,
    pub(super) kind: String,
    pub(super) home: String,
    pub(super) away: String,
    pub(super) start_time: i64,
    pub(super) options: Vec<OptionDoc>,
    pub(super) state: i32,
    pub(super) result: Option<i32>,
    pub(super) staked: i64,
    /// The feed's id for an imported match (unique); none for the admin's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) feed_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct OrderDoc {
    #[serde(rename = "_id")]
    pub(super) id: i64,
    pub(super) match_id: i64,
    pub(super) uid: i64,
    pub(super) option: i32,
    pub(super) amount: i64,
    pub(super) status: i32,
    pub(super) payout: i64,
    pub(super) placed_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Counter {
    #[serde(rename = "_id")]
    pub(super) name: String,
    pub(super) seq: i64,
}

/// A stored number that should be unsigned.
fn unsigned(field: &str, n: i64) -> Result<u64, BetError> {
    u64::try_from(n).map_err(|_| BetError::Storage(format!("corrupt document: {field} is {n}")))
}

/// A domain number (id, coins) as BSON's `i64`, for a key or filter.
pub(super) fn signed(n: u64) -> i64 {
    // Ids and coins are bounded below i64::MAX where they enter the store
    // (MAX_COINS, MAX_STAKE, 63-bit order ids); saturate rather than wrap
    // for a lookup key that never matched anything.
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl UserDoc {
    pub(super) fn to_user(&self) -> Result<User, BetError> {
        Ok(User {
            uid: unsigned("uid", self.uid)?,
            name: self.name.clone(),
            password_hash: self.password_hash.clone(),
        })
    }
}

impl MatchDoc {
    pub(super) fn from_match(m: &Match) -> MatchDoc {
        MatchDoc {
            id: signed(m.id),
            kind: m.kind.clone(),
            home: m.home.clone(),
            away: m.away.clone(),
            start_time: signed(m.start_time),
            options: m
                .options
                .iter()
                .map(|o| OptionDoc {
                    name: o.name.clone(),
                    // At most MAX_ODDS_CENTI (100,000).
                    odds_centi: o.odds_centi as i32,
                    staked: 0,
                })
                .collect(),
            state: i32::from(m.state.code()),
            result: m.result.map(|r| r as i32), // at most MAX_OPTIONS
            staked: 0,
            feed_id: None,
        }
    }

    pub(super) fn state(&self) -> Result<MatchState, BetError> {
        u8::try_from(self.state)
            .ok()
            .and_then(|n| MatchState::try_from(n).ok())
            .ok_or_else(|| BetError::Storage(format!("corrupt match {}: state {}", self.id, self.state)))
    }

    pub(super) fn to_match(&self) -> Result<Match, BetError> {
        let options = self
            .options
            .iter()
            .map(|o| {
                Ok(MatchOption {
                    name: o.name.clone(),
                    odds_centi: u32::try_from(o.odds_centi)
                        .map_err(|_| BetError::Storage(format!("corrupt match {}: odds", self.id)))?,
                })
            })
            .collect::<Result<_, BetError>>()?;
        let result = match self.result {
            Some(r) => Some(
                u32::try_from(r)
                    .map_err(|_| BetError::Storage(format!("corrupt match {}: result", self.id)))?,
            ),
            None => None,
        };
        Ok(Match {
            id: unsigned("match id", self.id)?,
            kind: self.kind.clone(),
            home: self.home.clone(),
            away: self.away.clone(),
            start_time: unsigned("start_time", self.start_time)?,
            options,
            state: self.state()?,
            result,
        })
    }
}

impl OrderDoc {
    pub(super) fn from_order(o: &Order) -> OrderDoc {
        OrderDoc {
            id: signed(o.id),
            match_id: signed(o.match_id),
            uid: signed(o.uid),
            option: o.option as i32, // at most MAX_OPTIONS
            amount: signed(o.amount),
            status: i32::from(u8::from(o.status)),
            payout: signed(o.payout),
            placed_at: signed(o.placed_at),
        }
    }

    pub(super) fn status(&self) -> Result<OrderStatus, BetError> {
        u8::try_from(self.status)
            .map_err(|_| format!("{} is not an order status", self.status))
            .and_then(OrderStatus::try_from)
            .map_err(|e| BetError::Storage(format!("corrupt order {}: {e}", self.id)))
    }

    pub(super) fn to_order(&self) -> Result<Order, BetError> {
        Ok(Order {
            id: unsigned("order id", self.id)?,
            match_id: unsigned("match_id", self.match_id)?,
            uid: unsigned("uid", self.uid)?,
            option: u32::try_from(self.option)
                .map_err(|_| BetError::Storage(format!("corrupt order {}: option", self.id)))?,
            amount: unsigned("amount", self.amount)?,
            status: self.status()?,
            payout: unsigned("payout", self.payout)?,
            placed_at: unsigned("placed_at", self.placed_at)?,
        })
    }
}
