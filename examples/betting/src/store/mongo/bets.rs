//! Placing bets: a writer task per node places queued bets in groups, one
//! multi-document transaction per group.
//!
//! ```text
//!  place_bet ─┐                      ┌──────── one transaction ─────────┐
//!  place_bet ─┼─▶ bounded queue ──▶ writer: per bet  debit if balance ≥ stake
//!  place_bet ─┘   (backpressure)     │ then  insert the orders            │
//!                                    │       $inc each match's stake totals│
//!                                    └─ commit (majority, journal) ─▶ ack each
//! ```
//!
//! The debit is a conditional update (`balance >= amount`) inside the
//! transaction, so no interleaving — within the group, with another node's
//! group, or with a payout — can overdraw: a concurrent writer of the same
//! user or match makes one of the transactions conflict and run again
//! ([`super::txn`]) on fresh data. One writer per node means a node's own
//! bets never conflict with each other, only with other nodes'.

use std::collections::{HashMap, HashSet};

use mongodb::ClientSession;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use tokio::sync::{mpsc, oneshot};

use super::Db;
use super::docs::{MatchDoc, OrderDoc, signed};
use super::txn::Failure;
use crate::error::BetError;
use crate::model::{MAX_STAKE, NewBet, Order, OrderStatus, Placed};
use crate::state::MatchState;

/// Most bets placed in one transaction: large enough to amortise the
/// commit over many bets, small enough that a conflict with another node
/// redoes little and the transaction stays far below MongoDB's limits.
pub(super) const MAX_GROUP: usize = 1000;
/// Bets waiting for the writer; when full, callers wait (backpressure).
pub(super) const QUEUE: usize = 16 * MAX_GROUP;

/// A queued bet and where its outcome goes.
#[derive(Debug)]
pub(super) struct BetJob {
    bet: NewBet,
    reply: oneshot::Sender<Result<Placed, BetError>>,
}

pub(super) fn check_amount(amount: u64) -> Result<(), BetError> {
    if !(1..=MAX_STAKE).contains(&amount) {
        return Err(BetError::invalid("amount", format!("must be between 1 and {MAX_STAKE}")));
    }
    Ok(())
}

/// Queues `bet` and waits until its group has committed (or failed).
pub(super) async fn submit(queue: mpsc::Sender<BetJob>, bet: NewBet) -> Result<Placed, BetError> {
    let (reply, answer) = oneshot::channel();
    queue.send(BetJob { bet, reply }).await.map_err(|_| BetError::Closed)?;
    answer.await.map_err(|_| BetError::Closed)?
}

/// The writer: takes what is queued (up to [`MAX_GROUP`]), places it in
/// one transaction, answers each caller; ends when the store closes.
pub(super) async fn write_loop(db: std::sync::Arc<Db>, mut rx: mpsc::Receiver<BetJob>) {
    let mut jobs: Vec<BetJob> = Vec::with_capacity(MAX_GROUP);
    while let Some(job) = rx.recv().await {
        jobs.push(job);
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let bets: Vec<&NewBet> = jobs.iter().map(|j| &j.bet).collect();
        match db.place_group(&bets).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, bets = jobs.len(), "bet group failed; nothing was placed");
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(err.clone()));
                }
            }
        }
    }
    tracing::debug!("MongoDB bet writer stopped");
}

/// A match as this group sees it, and the stakes the group adds to it.
struct MatchEntry {
    doc: MatchDoc,
    state: MatchState,
    per_option: Vec<i64>,
    total: i64,
}

impl Db {
    /// Places a group of bets in one transaction, retried on conflicts.
    /// `Ok` holds each bet's own outcome; `Err` means none was placed.
    async fn place_group(&self, bets: &[&NewBet]) -> Result<Vec<Result<Placed, BetError>>, BetError> {
        let mut attempt = 0;
        loop {
            let mut session = match self.begin().await {
                Ok(session) => session,
                Err(err) => {
                    self.retry_or_fail(err, &mut attempt).await?;
                    continue;
                }
            };
            let outcome = self.apply_group(&mut session, bets).await;
            if let Some(done) = self.end(&mut session, outcome, &mut attempt).await? {
                return Ok(done);
            }
        }
    }

    /// One attempt: every check before every write of a bet, so a refused
    /// bet leaves the transaction as it found it.
    async fn apply_group(
        &self,
        s: &mut ClientSession,
        bets: &[&NewBet],
    ) -> Result<Vec<Result<Placed, BetError>>, Failure> {
        // The matches' documents are written first, so the transaction
        // holds them from its snapshot on. Written last (as the stake
        // totals are), they conflicted with every group another node
        // committed meanwhile, several round trips into the transaction: on
        // a busy match the node with the slower store link lost nearly
        // every time and gave up after MAX_ATTEMPTS (the fault suite saw
        // it). Now a group conflicts only with a group still open, fails at
        // its first statement, and the nodes take turns.
        let mut matches: HashMap<u64, Option<MatchEntry>> = HashMap::new();
        let mut match_ids: Vec<u64> = bets.iter().map(|b| b.match_id).collect();
        match_ids.sort_unstable();
        match_ids.dedup();
        for id in match_ids {
            let claimed = self
                .matches
                .find_one_and_update(doc! { "_id": signed(id) }, doc! { "$inc": { "bet_groups": 1_i64 } })
                .return_document(ReturnDocument::After)
                .session(&mut *s)
                .await?;
            let entry = match claimed {
                Some(doc) => {
                    let state = doc.state()?;
                    let per_option = vec![0; doc.options.len()];
                    Some(MatchEntry { doc, state, per_option, total: 0 })
                }
                None => None,
            };
            matches.insert(id, entry);
        }
        let ids: Vec<i64> = bets.iter().map(|b| signed(b.order_id)).collect();
        let mut used: HashSet<i64> = HashSet::new();
        let raw = self.orders.clone_with_type::<Document>();
        let mut taken =
            raw.find(doc! { "_id": { "$in": &ids } }).projection(doc! { "_id": 1 }).session(&mut *s).await?;
        while let Some(order) = taken.next(&mut *s).await {
            if let Ok(id) = order?.get_i64("_id") {
                used.insert(id);
            }
        }
        let mut orders: Vec<OrderDoc> = Vec::new();
        let mut outcomes = Vec::with_capacity(bets.len());
        for bet in bets {
            let entry = matches.get_mut(&bet.match_id).and_then(Option::as_mut);
            outcomes.push(self.apply_bet(s, bet, entry, &mut used, &mut orders).await?);
        }
        if !orders.is_empty() {
            self.orders.insert_many(&orders).session(&mut *s).await?;
        }
        for entry in matches.values().flatten().filter(|e| e.total > 0) {
            let mut inc = Document::new();
            inc.insert("staked", entry.total);
            for (i, stake) in entry.per_option.iter().enumerate().filter(|(_, s)| **s > 0) {
                inc.insert(format!("options.{i}.staked"), *stake);
            }
            let filter = doc! { "_id": entry.doc.id, "state": i32::from(MatchState::BettingOpen.code()) };
            let done = self.matches.update_one(filter, doc! { "$inc": inc }).session(&mut *s).await?;
            if done.matched_count != 1 {
                // The snapshot saw it open and nobody else could write it
                // without a conflict: something is badly wrong.
                return Err(
                    BetError::Storage(format!("match {} changed inside a bet group", entry.doc.id)).into()
                );
            }
        }
        Ok(outcomes)
    }

    /// Checks and debits one bet of the group; the order is returned for
    /// the group to insert. `Ok(Err(_))` is a refusal that wrote nothing.
    async fn apply_bet(
        &self,
        s: &mut ClientSession,
        bet: &NewBet,
        entry: Option<&mut MatchEntry>,
        used: &mut HashSet<i64>,
        orders: &mut Vec<OrderDoc>,
    ) -> Result<Result<Placed, BetError>, Failure> {
        if let Err(err) = check_amount(bet.amount) {
            return Ok(Err(err));
        }
        let Some(entry) = entry else { return Ok(Err(BetError::MatchNotFound(bet.match_id))) };
        let started =
            u64::try_from(entry.doc.start_time).is_ok_and(|s| crate::model::has_started(s, bet.placed_at));
        if !entry.state.accepts_bets() || started {
            return Ok(Err(BetError::BettingClosed { id: bet.match_id, state: entry.state }));
        }
        let Some(option) = entry.doc.options.iter().position(|o| o.name == bet.option) else {
            return Ok(Err(BetError::UnknownOption { match_id: bet.match_id, option: bet.option.clone() }));
        };
        let id = signed(bet.order_id);
        if used.contains(&id) {
            // Ids are unique by construction; refusing beats overwriting money.
            return Ok(Err(BetError::invalid("order_id", format!("{} is already used", bet.order_id))));
        }
        let amount = signed(bet.amount);
        let debited = self
            .users
            .find_one_and_update(
                doc! { "_id": signed(bet.uid), "balance": { "$gte": amount } },
                doc! { "$inc": { "balance": -amount } },
            )
            .return_document(ReturnDocument::After)
            .session(&mut *s)
            .await?;
        let Some(user) = debited else {
            let user = self.users.find_one(doc! { "_id": signed(bet.uid) }).session(&mut *s).await?;
            let balance = user.map_or(0, |u| u64::try_from(u.balance).unwrap_or(0));
            return Ok(Err(BetError::InsufficientBalance { balance, amount: bet.amount }));
        };
        let order = Order {
            id: bet.order_id,
            match_id: bet.match_id,
            uid: bet.uid,
            option: option as u32, // at most MAX_OPTIONS
            amount: bet.amount,
            status: OrderStatus::Open,
            payout: 0,
            placed_at: bet.placed_at,
        };
        used.insert(id);
        orders.push(OrderDoc::from_order(&order));
        entry.per_option[option] += amount;
        entry.total += amount;
        let balance = u64::try_from(user.balance).map_err(|_| BetError::Storage("corrupt balance".into()))?;
        Ok(Ok(Placed { order, balance }))
    }
}
