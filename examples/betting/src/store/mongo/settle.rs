//! Settlement and refunds in batches, and the money audit.
//!
//! A batch is one transaction: read up to `limit` open orders of the match
//! (status 0, in id order), flip them to 4/9/8 with their payout, credit
//! their bettors, and — when no open order is left — move the match to its
//! final state. The flip is conditional on `status: 0` and commits with the
//! credit, so the status is the settlement marker: an order is credited in
//! exactly the transaction that closes it. Two nodes settling one match pick
//! the same orders, conflict, and the loser runs again on what is left; a
//! node that crashed between batches leaves committed batches closed and the
//! rest open for whoever resumes.
//!
//! Writes are grouped rather than issued per order: orders by (status,
//! payout) and bettors by credit, one `update_many` each, so a batch of
//! 5000 costs a handful of round trips, not thousands.

use std::collections::{BTreeMap, HashMap};

use mongodb::ClientSession;
use mongodb::bson::{Document, doc};

use super::Db;
use super::docs::{OrderDoc, signed};
use super::txn::Failure;
use crate::error::BetError;
use crate::model::{Audit, Payout, PayoutBatch};

impl Db {
    pub(super) async fn pay_out(&self, match_id: u64, limit: usize) -> Result<PayoutBatch, BetError> {
        let mut attempt = 0;
        loop {
            let mut session = match self.begin().await {
                Ok(session) => session,
                Err(err) => {
                    self.retry_or_fail(err, &mut attempt).await?;
                    continue;
                }
            };
            let outcome = self.pay_out_once(&mut session, match_id, limit).await;
            if let Some(batch) = self.end(&mut session, outcome, &mut attempt).await? {
                return Ok(batch);
            }
        }
    }

    async fn pay_out_once(
        &self,
        s: &mut ClientSession,
        match_id: u64,
        limit: usize,
    ) -> Result<PayoutBatch, Failure> {
        let found = self.matches.find_one(doc! { "_id": signed(match_id) }).session(&mut *s).await?;
        let m = found.ok_or(BetError::MatchNotFound(match_id))?.to_match()?;
        let Some(finish) = m.state.payout_finish().map_err(|e| BetError::transition(match_id, e))? else {
            return Ok(PayoutBatch { payouts: Vec::new(), state: m.state });
        };
        let open = doc! { "match_id": signed(match_id), "status": 0 };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut cursor =
            self.orders.find(open.clone()).sort(doc! { "_id": 1 }).limit(limit).session(&mut *s).await?;
        let mut due: Vec<OrderDoc> = Vec::new();
        while let Some(order) = cursor.next(&mut *s).await {
            due.push(order?);
        }
        drop(cursor);

        // What each order becomes, grouped for the writes.
        let mut payouts = Vec::with_capacity(due.len());
        let mut by_outcome: BTreeMap<(u8, u64), Vec<i64>> = BTreeMap::new();
        let mut credits: HashMap<u64, u64> = HashMap::new();
        for doc in &due {
            let order = doc.to_order()?;
            let (status, credit) = order.closing(&m, finish);
            by_outcome.entry((status as u8, credit)).or_default().push(doc.id);
            let owed = credits.entry(order.uid).or_default();
            *owed = owed.checked_add(credit).ok_or_else(|| BetError::Storage("payout overflow".into()))?;
            payouts.push(Payout {
                order_id: order.id,
                match_id,
                uid: order.uid,
                stake: order.amount,
                payout: credit,
                balance: 0, // filled in below, once the credits are applied
                status,
            });
        }
        for ((status, credit), ids) in &by_outcome {
            let filter = doc! { "_id": { "$in": ids }, "status": 0 };
            let set = doc! { "$set": { "status": i32::from(*status), "payout": signed(*credit) } };
            let done = self.orders.update_many(filter, set).session(&mut *s).await?;
            if done.modified_count != ids.len() as u64 {
                return Err(
                    BetError::Storage(format!("match {match_id}: open orders changed mid-batch")).into()
                );
            }
        }
        let mut by_credit: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
        for (uid, credit) in credits.iter().filter(|(_, c)| **c > 0) {
            by_credit.entry(*credit).or_default().push(signed(*uid));
        }
        for (credit, uids) in &by_credit {
            let filter = doc! { "_id": { "$in": uids } };
            let done = self
                .users
                .update_many(filter, doc! { "$inc": { "balance": signed(*credit) } })
                .session(&mut *s)
                .await?;
            if done.matched_count != uids.len() as u64 {
                return Err(
                    BetError::Storage(format!("match {match_id}: a bettor has no user record")).into()
                );
            }
        }
        self.fill_balances(s, &mut payouts, &credits).await?;

        let mut state = m.state;
        if self.orders.find_one(open).session(&mut *s).await?.is_none() {
            let next = state.next(finish).map_err(|e| BetError::transition(match_id, e))?;
            let filter = doc! { "_id": signed(match_id), "state": i32::from(state.code()) };
            let set = doc! { "$set": { "state": i32::from(next.code()) } };
            self.matches.update_one(filter, set).session(&mut *s).await?;
            state = next;
        }
        Ok(PayoutBatch { payouts, state })
    }

    /// Sets each payout's `balance` to the bettor's balance right after its
    /// credit, as if the batch's orders were credited one by one in order.
    async fn fill_balances(
        &self,
        s: &mut ClientSession,
        payouts: &mut [Payout],
        credits: &HashMap<u64, u64>,
    ) -> Result<(), Failure> {
        let uids: Vec<i64> = credits.keys().map(|u| signed(*u)).collect();
        let raw = self.users.clone_with_type::<Document>();
        let mut cursor = raw
            .find(doc! { "_id": { "$in": &uids } })
            .projection(doc! { "balance": 1 })
            .session(&mut *s)
            .await?;
        // Balance before this batch's credits: the running total starts there.
        let mut running: HashMap<u64, u64> = HashMap::with_capacity(uids.len());
        while let Some(user) = cursor.next(&mut *s).await {
            let user = user?;
            let (Ok(uid), Ok(balance)) = (user.get_i64("_id"), user.get_i64("balance")) else {
                return Err(BetError::Storage("corrupt user record".into()).into());
            };
            let (uid, balance) = (u64::try_from(uid).unwrap_or(0), u64::try_from(balance).unwrap_or(0));
            running.insert(uid, balance.saturating_sub(credits.get(&uid).copied().unwrap_or(0)));
        }
        for p in payouts {
            let balance = running.entry(p.uid).or_default();
            *balance += p.payout;
            p.balance = *balance;
        }
        Ok(())
    }

    /// Counts every coin, in one snapshot of every collection: the reads
    /// run in a snapshot transaction (aborted at the end, it writes
    /// nothing), so an audit taken while bets and payouts commit sees each
    /// of them whole or not at all. Counted separately, a bet committed
    /// between reading the users and reading the orders made a live cluster
    /// look unbalanced (tests/faults.rs found it). The transaction must
    /// finish within MongoDB's transaction lifetime (60 s by default).
    pub(super) async fn audit(&self) -> Result<Audit, BetError> {
        let mut session = self.begin().await.map_err(|e| self.storage(&e))?;
        let audit = self.audit_in(&mut session).await;
        // Read-only: nothing to commit, and an abort cannot lose anything.
        let _ = session.abort_transaction().await;
        audit
    }

    async fn audit_in(&self, s: &mut ClientSession) -> Result<Audit, BetError> {
        let mut audit = Audit::default();
        let raw_users = self.users.clone_with_type::<Document>();
        let mut users = raw_users
            .find(doc! {})
            .projection(doc! { "balance": 1, "credited": 1 })
            .session(&mut *s)
            .await
            .map_err(|e| self.storage(&e))?;
        while let Some(user) = users.next(&mut *s).await {
            let user = user.map_err(|e| self.storage(&e))?;
            let (Ok(balance), Ok(credited)) = (user.get_i64("balance"), user.get_i64("credited")) else {
                return Err(BetError::Storage("corrupt user record".into()));
            };
            audit.balances +=
                u128::try_from(balance).map_err(|_| BetError::Storage("negative balance".into()))?;
            audit.credited +=
                u128::try_from(credited).map_err(|_| BetError::Storage("negative credit".into()))?;
        }
        drop(users);
        let mut orders = self.orders.find(doc! {}).session(&mut *s).await.map_err(|e| self.storage(&e))?;
        let mut matches: Vec<i64> = Vec::new();
        while let Some(doc) = orders.next(&mut *s).await {
            let doc = doc.map_err(|e| self.storage(&e))?;
            audit.count_order(&doc.to_order()?);
            if !matches.contains(&doc.match_id) {
                matches.push(doc.match_id);
            }
        }
        drop(orders);
        // What settlement would find: the open orders through its index.
        for match_id in matches {
            audit.indexed_open += self
                .orders
                .count_documents(doc! { "match_id": match_id, "status": 0 })
                .session(&mut *s)
                .await
                .map_err(|e| self.storage(&e))?;
        }
        Ok(audit)
    }
}
