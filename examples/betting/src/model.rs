//! The domain's data: users, matches, orders, payouts and the money audit.
//!
//! Coins are whole numbers (`u64`). Odds are kept in hundredths, so a
//! payout is `stake × odds_centi / 100` rounded down: integer arithmetic,
//! the same result on every node and store.

use serde::{Deserialize, Serialize};

use crate::error::BetError;
use crate::state::{Action, MatchState};

/// Most options a match may offer.
pub const MAX_OPTIONS: usize = 16;
/// Longest name (users, teams, options, match types), in characters.
pub const MAX_NAME: usize = 64;
/// Lowest odds (1.01): anything lower pays back less than the stake.
pub const MIN_ODDS_CENTI: u32 = 101;
/// Highest odds (1000.00): keeps `stake × odds` far from overflow.
pub const MAX_ODDS_CENTI: u32 = 100_000;
/// Latest start time accepted: 9999-12-31T23:59:59Z, in Unix seconds.
pub const MAX_START_TIME: u64 = 253_402_300_799;
/// Largest single stake: keeps every payout below `u64::MAX`.
pub const MAX_STAKE: u64 = 1_000_000_000_000;

/// A registered user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Numeric id, assigned by the store.
    pub uid: u64,
    /// Unique login name.
    pub name: String,
    /// Argon2 PHC string; never sent to clients.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub password_hash: String,
}

/// One option of a match and its odds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchOption {
    /// The option's name, unique in its match (`"home"`, `"draw"`, …).
    pub name: String,
    /// Odds in hundredths: 250 pays 2.5 × the stake.
    pub odds_centi: u32,
}

/// A new match, as the admin describes it (`POST /gm/matches`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMatch {
    /// Sport or game (`"football"`, `"lol"`), for the per-type lists.
    #[serde(rename = "type")]
    pub kind: String,
    /// Home team or side.
    pub home: String,
    /// Away team or side.
    pub away: String,
    /// Start time, Unix seconds; betting stops by itself then.
    pub start_time: u64,
    /// The options and their odds.
    pub options: Vec<NewOption>,
}

/// An option of a [`NewMatch`]: odds as a decimal (`2.5`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOption {
    /// The option's name.
    pub name: String,
    /// Decimal odds, at most two decimals, 1.01 to 1000.
    pub odds: f64,
}

/// A match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// Numeric id, assigned by the store.
    pub id: u64,
    /// Sport or game.
    pub kind: String,
    /// Home side.
    pub home: String,
    /// Away side.
    pub away: String,
    /// Start time, Unix seconds.
    pub start_time: u64,
    /// Options, in the admin's order; orders refer to them by index.
    pub options: Vec<MatchOption>,
    /// The state (`iGuessState`).
    pub state: MatchState,
    /// Index of the winning option, once set.
    pub result: Option<u32>,
}

impl Match {
    /// A match in state 0 built from a validated spec.
    pub fn from_spec(id: u64, spec: &NewMatch) -> Result<Match, BetError> {
        let options = spec.validate()?;
        Ok(Match {
            id,
            kind: spec.kind.clone(),
            home: spec.home.clone(),
            away: spec.away.clone(),
            start_time: spec.start_time,
            options,
            state: MatchState::NotStarted,
            result: None,
        })
    }

    /// The index of the option named `name`.
    pub fn option_index(&self, name: &str) -> Result<u32, BetError> {
        self.options
            .iter()
            .position(|o| o.name == name)
            .map(|i| i as u32) // at most MAX_OPTIONS
            .ok_or_else(|| BetError::UnknownOption { match_id: self.id, option: name.to_owned() })
    }
}

/// Checks a name: not blank, at most [`MAX_NAME`] characters, no control
/// characters.
pub fn check_name(field: &'static str, name: &str) -> Result<(), BetError> {
    if name.trim().is_empty() {
        return Err(BetError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(BetError::invalid(field, format!("at most {MAX_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(BetError::invalid(field, "no control characters"));
    }
    Ok(())
}

impl NewMatch {
    /// Checks every field; returns the options with odds in hundredths.
    ///
    /// # Errors
    /// [`BetError::Invalid`] naming the first bad field.
    pub fn validate(&self) -> Result<Vec<MatchOption>, BetError> {
        check_name("type", &self.kind)?;
        check_name("home", &self.home)?;
        check_name("away", &self.away)?;
        if self.start_time > MAX_START_TIME {
            return Err(BetError::invalid("start_time", "Unix seconds, at most year 9999"));
        }
        if !(2..=MAX_OPTIONS).contains(&self.options.len()) {
            return Err(BetError::invalid("options", format!("between 2 and {MAX_OPTIONS} options")));
        }
        let mut out: Vec<MatchOption> = Vec::with_capacity(self.options.len());
        for option in &self.options {
            check_name("options.name", &option.name)?;
            if out.iter().any(|o| o.name == option.name) {
                return Err(BetError::invalid("options.name", format!("{:?} is given twice", option.name)));
            }
            out.push(MatchOption { name: option.name.clone(), odds_centi: odds_centi(option.odds)? });
        }
        Ok(out)
    }
}

/// Decimal odds → hundredths, refusing more than two decimals.
fn odds_centi(odds: f64) -> Result<u32, BetError> {
    let centi = (odds * 100.0).round();
    if !odds.is_finite() || (odds * 100.0 - centi).abs() > 1e-6 {
        return Err(BetError::invalid("options.odds", format!("{odds} has more than two decimals")));
    }
    if centi < f64::from(MIN_ODDS_CENTI) || centi > f64::from(MAX_ODDS_CENTI) {
        return Err(BetError::invalid("options.odds", format!("{odds} is not within 1.01..=1000")));
    }
    Ok(centi as u32) // in range, checked above
}

/// The payout of a winning stake.
pub fn payout(stake: u64, odds_centi: u32) -> u64 {
    // stake ≤ MAX_STAKE and odds ≤ MAX_ODDS_CENTI: the product fits in u128
    // and the quotient in u64.
    (u128::from(stake) * u128::from(odds_centi) / 100) as u64
}

/// An order's status. 4, 8 and 9 share the seed's `iGuessState` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum OrderStatus {
    /// 0: placed; the stake is held until the match is settled or refunded.
    Open = 0,
    /// 4: settled as lost; the stake went to the house.
    Settled = 4,
    /// 8: the stake was given back.
    Refunded = 8,
    /// 9: won; the payout reached the balance.
    PaidOut = 9,
}

impl From<OrderStatus> for u8 {
    fn from(s: OrderStatus) -> u8 {
        s as u8
    }
}

impl TryFrom<u8> for OrderStatus {
    type Error = String;

    fn try_from(n: u8) -> Result<Self, String> {
        match n {
            0 => Ok(OrderStatus::Open),
            4 => Ok(OrderStatus::Settled),
            8 => Ok(OrderStatus::Refunded),
            9 => Ok(OrderStatus::PaidOut),
            _ => Err(format!("{n} is not an order status")),
        }
    }
}

/// Whether a bet placed at `placed_at_ms` (Unix ms) comes at or after a
/// match's start (`start_secs`, Unix seconds). Such a bet is refused
/// whatever the match's state says: the kickoff that closes betting runs
/// on some node shortly after the start, and a bet in between would be a
/// bet on a game under way. The store checks it in the bet's own atomic
/// step, so betting stops at the start time even while no kickoff ran.
pub(crate) fn has_started(start_secs: u64, placed_at_ms: u64) -> bool {
    placed_at_ms / 1000 >= start_secs
}

/// A bet to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBet {
    /// Unique order id (see [`crate::OrderIds`]).
    pub order_id: u64,
    /// The bettor.
    pub uid: u64,
    /// The match.
    pub match_id: u64,
    /// The option's name.
    pub option: String,
    /// The stake, in coins.
    pub amount: u64,
    /// When it was placed, Unix milliseconds.
    pub placed_at: u64,
}

/// A recorded bet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    /// Unique order id.
    pub id: u64,
    /// The match.
    pub match_id: u64,
    /// The bettor.
    pub uid: u64,
    /// Index of the option in the match.
    pub option: u32,
    /// The stake.
    pub amount: u64,
    /// Where it stands.
    pub status: OrderStatus,
    /// What was credited when settled or refunded (0 while open or lost).
    pub payout: u64,
    /// When it was placed, Unix milliseconds.
    pub placed_at: u64,
}

impl Order {
    /// How the payout run `finish` (of [`MatchState::payout_finish`]) closes
    /// this open order of match `m`: its new status and what its bettor is
    /// credited — the stake back on a refund, stake × odds on the winning
    /// option, nothing on a lost bet. One rule for every store.
    pub fn closing(&self, m: &Match, finish: Action) -> (OrderStatus, u64) {
        match finish {
            Action::FinishRefund => (OrderStatus::Refunded, self.amount),
            _ if m.result == Some(self.option) => {
                let odds = m.options.get(self.option as usize).map_or(100, |o| o.odds_centi);
                (OrderStatus::PaidOut, payout(self.amount, odds))
            }
            _ => (OrderStatus::Settled, 0),
        }
    }
}

/// The outcome of placing a bet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The order.
    pub order: Order,
    /// The bettor's balance after the stake was taken.
    pub balance: u64,
}

/// One order settled or refunded by a payout batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payout {
    /// The order.
    pub order_id: u64,
    /// The match.
    pub match_id: u64,
    /// The bettor.
    pub uid: u64,
    /// The stake.
    pub stake: u64,
    /// What was credited (0 for a lost bet).
    pub payout: u64,
    /// The bettor's balance after the credit.
    pub balance: u64,
    /// The order's new status.
    pub status: OrderStatus,
}

/// The result of one payout batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutBatch {
    /// The orders settled or refunded by this batch.
    pub payouts: Vec<Payout>,
    /// The match's state afterwards: final (4 or 8) once every order is done.
    pub state: MatchState,
}

impl PayoutBatch {
    /// True when the match needs no more payout batches.
    pub fn done(&self) -> bool {
        !self.state.needs_payout()
    }
}

/// Where every coin is: the conservation check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Audit {
    /// Coins ever credited by the admin (and sign-up bonuses).
    pub credited: u128,
    /// Sum of every balance.
    pub balances: u128,
    /// Stakes of open orders.
    pub open_stakes: u128,
    /// Stakes lost minus winnings paid: the house's result (may be negative).
    pub house: i128,
    /// Open orders found through the settlement index; equals the count of
    /// open orders when the index is consistent.
    pub indexed_open: u64,
    /// Open orders found in the orders table.
    pub open_orders: u64,
}

impl Audit {
    /// Adds one order: its stake while open, the house's result (stake
    /// minus payout) once settled, nothing once refunded.
    pub fn count_order(&mut self, order: &Order) {
        match order.status {
            OrderStatus::Open => {
                self.open_stakes += u128::from(order.amount);
                self.open_orders += 1;
            }
            OrderStatus::Settled | OrderStatus::PaidOut => {
                self.house += i128::from(order.amount) - i128::from(order.payout);
            }
            OrderStatus::Refunded => {}
        }
    }

    /// `balances + open stakes + house == credited`, and the index of open
    /// orders agrees with the orders themselves.
    pub fn balanced(&self) -> bool {
        let held = self.balances as i128 + self.open_stakes as i128 + self.house;
        held == self.credited as i128 && self.indexed_open == self.open_orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_closes_as_refunded_paid_out_or_settled() {
        let spec = NewMatch {
            kind: "football".into(),
            home: "Lions".into(),
            away: "Tigers".into(),
            start_time: 2_000_000_000,
            options: vec![
                NewOption { name: "home".into(), odds: 2.5 },
                NewOption { name: "away".into(), odds: 1.5 },
            ],
        };
        let mut m = Match::from_spec(1, &spec).unwrap();
        m.result = Some(0);
        let order = |option| Order {
            id: 7,
            match_id: 1,
            uid: 3,
            option,
            amount: 40,
            status: OrderStatus::Open,
            payout: 0,
            placed_at: 0,
        };
        assert_eq!(order(0).closing(&m, Action::FinishSettlement), (OrderStatus::PaidOut, 100), "40 at 2.5");
        assert_eq!(order(1).closing(&m, Action::FinishSettlement), (OrderStatus::Settled, 0));
        assert_eq!(order(0).closing(&m, Action::FinishRefund), (OrderStatus::Refunded, 40));
        assert_eq!(order(1).closing(&m, Action::FinishRefund), (OrderStatus::Refunded, 40));
    }
}
