//! What the MongoDB store does one document at a time: users, credits,
//! matches, transitions, and the reads. Each write is a single-document
//! update, atomic by itself, so none needs a transaction.

use futures_util::TryStreamExt;
use mongodb::bson::{Bson, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ReturnDocument;

use super::Db;
use super::docs::{MAX_COINS, MatchDoc, UserDoc, signed};
use crate::error::BetError;
use crate::feed::{Imported, Plan, plan};
use crate::model::{Match, NewMatch, Order, User, check_name};
use crate::state::{Action, MatchState};

/// Times a transition is recomputed when the match changed under it.
const TRANSITION_TRIES: u32 = 20;

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

fn is_duplicate(err: &mongodb::error::Error) -> bool {
    matches!(&*err.kind, ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY)
}

impl Db {
    pub(super) async fn user(&self, name: &str) -> Result<Option<User>, BetError> {
        let found = self.users.find_one(doc! { "name": name }).await.map_err(|e| self.storage(&e))?;
        found.map(|u| u.to_user()).transpose()
    }

    pub(super) async fn create_user(&self, name: &str, hash: &str, bonus: u64) -> Result<User, BetError> {
        check_name("name", name)?;
        if bonus > MAX_COINS {
            return Err(BetError::invalid("bonus", "total credit would overflow"));
        }
        if self.user(name).await?.is_some() {
            return Err(BetError::NameTaken(name.to_owned()));
        }
        let uid = self.next("uid").await?;
        let doc = UserDoc {
            uid: signed(uid),
            name: name.to_owned(),
            password_hash: hash.to_owned(),
            balance: signed(bonus),
            credited: signed(bonus),
        };
        match self.users.insert_one(&doc).await {
            Ok(_) => doc.to_user(),
            // The unique name index: a concurrent first login won.
            Err(e) if is_duplicate(&e) => Err(BetError::NameTaken(name.to_owned())),
            Err(e) => Err(self.storage(&e)),
        }
    }

    pub(super) async fn credit(&self, name: &str, amount: u64) -> Result<u64, BetError> {
        if amount == 0 {
            return Err(BetError::invalid("amount", "must be at least 1"));
        }
        let overflow = || BetError::invalid("amount", "the balance would overflow");
        let room = MAX_COINS.checked_sub(amount).ok_or_else(overflow)?;
        // The guard makes the check and the increment one atomic step.
        let filter =
            doc! { "name": name, "balance": { "$lte": signed(room) }, "credited": { "$lte": signed(room) } };
        let update = doc! { "$inc": { "balance": signed(amount), "credited": signed(amount) } };
        let updated = self
            .users
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| self.storage(&e))?;
        match updated {
            Some(user) => {
                u64::try_from(user.balance).map_err(|_| BetError::Storage("corrupt balance".into()))
            }
            None if self.user(name).await?.is_some() => Err(overflow()),
            None => Err(BetError::UserNotFound(name.to_owned())),
        }
    }

    pub(super) async fn balance(&self, uid: u64) -> Result<u64, BetError> {
        let user = self.users.find_one(doc! { "_id": signed(uid) }).await.map_err(|e| self.storage(&e))?;
        user.map_or(Ok(0), |u| {
            u64::try_from(u.balance).map_err(|_| BetError::Storage("corrupt balance".into()))
        })
    }

    pub(super) async fn create_match(&self, spec: &NewMatch) -> Result<Match, BetError> {
        let id = self.next("match").await?;
        let m = Match::from_spec(id, spec)?;
        self.matches.insert_one(MatchDoc::from_match(&m)).await.map_err(|e| self.storage(&e))?;
        Ok(m)
    }

    /// See [`crate::Store::import_match`]. The unique index on `feed_id`
    /// makes a concurrent second import lose its insert and read the
    /// winner's; an update is a compare-and-set on state 0.
    pub(super) async fn import_match(&self, feed_id: &str, spec: &NewMatch) -> Result<Imported, BetError> {
        for _ in 0..TRANSITION_TRIES {
            let found =
                self.matches.find_one(doc! { "feed_id": feed_id }).await.map_err(|e| self.storage(&e))?;
            let existing = found.as_ref().map(MatchDoc::to_match).transpose()?;
            match (plan(existing.as_ref(), spec)?, existing) {
                (Plan::Create, _) => {
                    let m = Match::from_spec(self.next("match").await?, spec)?;
                    let doc = MatchDoc { feed_id: Some(feed_id.to_owned()), ..MatchDoc::from_match(&m) };
                    match self.matches.insert_one(doc).await {
                        Ok(_) => return Ok(Imported::Created(m)),
                        Err(e) if is_duplicate(&e) => continue,
                        Err(e) => return Err(self.storage(&e)),
                    }
                }
                (Plan::Update(m), _) => {
                    let doc = MatchDoc::from_match(&m);
                    let options = mongodb::bson::to_bson(&doc.options).map_err(|e| self.storage(&e))?;
                    let set = doc! { "$set": { "kind": doc.kind, "home": doc.home, "away": doc.away,
                    "start_time": doc.start_time, "options": options } };
                    let filter = doc! { "_id": doc.id, "state": i32::from(MatchState::NotStarted.code()) };
                    let done = self.matches.update_one(filter, set).await.map_err(|e| self.storage(&e))?;
                    if done.matched_count == 1 {
                        return Ok(Imported::Updated(m));
                    }
                }
                (Plan::Unchanged, Some(m)) => return Ok(Imported::Unchanged(m)),
                (Plan::Locked, Some(m)) => return Ok(Imported::Locked(m)),
                (_, None) => return Err(BetError::Storage("import plan without its match".into())),
            }
        }
        Err(BetError::Storage(format!(
            "feed id {feed_id:?} kept changing during its import; the next run retries"
        )))
    }

    pub(super) async fn get_match(&self, id: u64) -> Result<Match, BetError> {
        let found = self.matches.find_one(doc! { "_id": signed(id) }).await.map_err(|e| self.storage(&e))?;
        found.ok_or(BetError::MatchNotFound(id))?.to_match()
    }

    pub(super) async fn all_matches(&self) -> Result<Vec<Match>, BetError> {
        let docs: Vec<MatchDoc> = self
            .matches
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(|e| self.storage(&e))?
            .try_collect()
            .await
            .map_err(|e| self.storage(&e))?;
        docs.iter().map(MatchDoc::to_match).collect()
    }

    /// Computes the next state from the stored one and writes it only if
    /// the match is still in that state (compare-and-set), so a transition
    /// never overwrites a concurrent one, from this node or another; a bet
    /// group holding the match in its transaction makes the write wait.
    pub(super) async fn transition(
        &self,
        id: u64,
        action: Action,
        result: Option<&str>,
    ) -> Result<Match, BetError> {
        for _ in 0..TRANSITION_TRIES {
            let mut m = self.get_match(id).await?;
            let from = m.state;
            let next = from.next(action).map_err(|e| BetError::transition(id, e))?;
            match (action, result) {
                (Action::SetResult, Some(option)) => m.result = Some(m.option_index(option)?),
                (Action::SetResult, None) => {
                    return Err(BetError::invalid("option", "a result names the winning option"));
                }
                (_, Some(_)) => {
                    return Err(BetError::invalid(
                        "option",
                        format!("only a result names an option, not {action}"),
                    ));
                }
                (_, None) => {}
            }
            m.state = next;
            let result = m.result.map_or(Bson::Null, |r| Bson::Int32(r as i32)); // at most MAX_OPTIONS
            let set = doc! { "$set": { "state": i32::from(next.code()), "result": result } };
            let filter = doc! { "_id": signed(id), "state": i32::from(from.code()) };
            let done = self.matches.update_one(filter, set).await.map_err(|e| self.storage(&e))?;
            if done.matched_count == 1 {
                return Ok(m);
            }
        }
        Err(BetError::Storage(format!("match {id} kept changing; {action} not applied")))
    }

    pub(super) async fn orders_of(&self, uid: u64, limit: usize) -> Result<Vec<Order>, BetError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let docs: Vec<_> = self
            .orders
            .find(doc! { "uid": signed(uid) })
            .sort(doc! { "_id": -1 })
            .limit(limit)
            .await
            .map_err(|e| self.storage(&e))?
            .try_collect()
            .await
            .map_err(|e| self.storage(&e))?;
        docs.iter().map(|o| o.to_order()).collect()
    }

    pub(super) async fn bettors(&self, match_id: u64) -> Result<Vec<u64>, BetError> {
        let values = self
            .orders
            .distinct("uid", doc! { "match_id": signed(match_id) })
            .await
            .map_err(|e| self.storage(&e))?;
        let mut uids: Vec<u64> = values
            .iter()
            .map(|v| match v {
                Bson::Int64(n) => u64::try_from(*n).ok(),
                Bson::Int32(n) => u64::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(|| BetError::Storage(format!("corrupt bettors of match {match_id}")))?;
        uids.sort_unstable();
        Ok(uids)
    }

    pub(super) async fn last_order_id(&self) -> Result<Option<u64>, BetError> {
        let last =
            self.orders.find_one(doc! {}).sort(doc! { "_id": -1 }).await.map_err(|e| self.storage(&e))?;
        last.map(|o| o.to_order().map(|o| o.id)).transpose()
    }
}
