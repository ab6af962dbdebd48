//! What clients and the admin see: JSON bodies of replies and pushes.

use serde::{Deserialize, Serialize};

use crate::model::{Match, Order, Payout};
use crate::state::MatchState;

/// 100100: a match changed state.
pub const PUSH_STATE: i32 = 100_100;
/// 100101: one of the user's orders was settled or refunded.
pub const PUSH_SETTLEMENT: i32 = 100_101;

/// An option and its decimal odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionView {
    /// The option's name.
    pub name: String,
    /// Decimal odds (2.5).
    pub odds: f64,
}

/// A match as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchView {
    /// Match id.
    pub id: u64,
    /// Sport or game.
    #[serde(rename = "type")]
    pub kind: String,
    /// Home side.
    pub home: String,
    /// Away side.
    pub away: String,
    /// Start time, Unix seconds.
    pub start_time: u64,
    /// `iGuessState`.
    pub state: MatchState,
    /// The options.
    pub options: Vec<OptionView>,
    /// The winning option's name, once known.
    pub result: Option<String>,
}

impl From<&Match> for MatchView {
    fn from(m: &Match) -> Self {
        MatchView {
            id: m.id,
            kind: m.kind.clone(),
            home: m.home.clone(),
            away: m.away.clone(),
            start_time: m.start_time,
            state: m.state,
            options: m
                .options
                .iter()
                .map(|o| OptionView { name: o.name.clone(), odds: f64::from(o.odds_centi) / 100.0 })
                .collect(),
            result: result_name(m),
        }
    }
}

/// The winning option's name.
pub(crate) fn result_name(m: &Match) -> Option<String> {
    m.result.and_then(|i| m.options.get(i as usize)).map(|o| o.name.clone())
}

/// An order as its bettor sees it. Ids are strings: they exceed 2^53.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    /// Order id, decimal.
    pub order_id: String,
    /// The match.
    pub match_id: u64,
    /// The option's name.
    pub option: String,
    /// The stake.
    pub amount: u64,
    /// 0 open, 4 settled (lost), 8 refunded, 9 paid out (won).
    pub status: u8,
    /// What was credited.
    pub payout: u64,
    /// When it was placed, Unix milliseconds.
    pub placed_at: u64,
}

impl OrderView {
    /// The view of `order`, naming its option from `m` when known.
    pub fn new(order: &Order, m: Option<&Match>) -> Self {
        let option = m
            .and_then(|m| m.options.get(order.option as usize))
            .map_or_else(|| order.option.to_string(), |o| o.name.clone());
        OrderView {
            order_id: order.id.to_string(),
            match_id: order.match_id,
            option,
            amount: order.amount,
            status: u8::from(order.status),
            payout: order.payout,
            placed_at: order.placed_at,
        }
    }
}

/// Body of push 100100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatePush {
    /// The match.
    pub match_id: u64,
    /// Its new state.
    pub state: MatchState,
    /// The winning option's name, once known.
    pub result: Option<String>,
}

/// Body of push 100101.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementPush {
    /// The order, decimal.
    pub order_id: String,
    /// The match.
    pub match_id: u64,
    /// The stake.
    pub stake: u64,
    /// What was credited (0 for a lost bet, the stake for a refund).
    pub payout: u64,
    /// The balance right after the credit.
    pub balance: u64,
    /// 4 settled (lost), 8 refunded, 9 paid out (won).
    pub status: u8,
}

impl From<&Payout> for SettlementPush {
    fn from(p: &Payout) -> Self {
        SettlementPush {
            order_id: p.order_id.to_string(),
            match_id: p.match_id,
            stake: p.stake,
            payout: p.payout,
            balance: p.balance,
            status: u8::from(p.status),
        }
    }
}
