//! The MongoDB store: every balance, order, match and settlement marker
//! lives in one MongoDB database, so several betting nodes can serve from
//! it at once. No correctness rests on a node's memory.
//!
//! * Bets ([`bets`]): each node queues its bets to one writer task, which
//!   places a group of them in one multi-document transaction (the
//!   embedded store's group commit, over the network): per bet a
//!   conditional debit `balance >= amount`, then the orders and the
//!   match's stake totals. The stake totals make every bet write its
//!   match's document, so a bet and a state change of that match conflict
//!   instead of interleaving; conflicts with other nodes are retried
//!   ([`txn`]). A refused bet (short balance, betting closed) changes
//!   nothing and does not disturb the rest of its group.
//! * Settlement ([`settle`]): a payout batch is one transaction that flips
//!   up to `limit` orders from open (0) to settled/paid/refunded and
//!   credits their bettors; the order's `status` is its settlement marker,
//!   and only open orders are picked, so two nodes, or a node restarted
//!   after a crash, settle each order exactly once.
//! * A node killed mid-transaction leaves its transaction open on the
//!   server, holding its documents; a node whose transaction keeps
//!   conflicting ends such orphans ([`orphans`]) instead of waiting a
//!   minute for MongoDB to expire them.
//! * Users, credits, matches and transitions are single-document atomic
//!   updates (a credit is `$inc` guarded against overflow; a transition is
//!   conditional on the state it was computed from).
//!
//! The client connects on first use, so a node can be built without
//! waiting for MongoDB; the first call (the service's start-up resume)
//! creates the indexes.

mod bets;
mod docs;
mod orphans;
mod records;
mod settle;
mod txn;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::options::{ClientOptions, IndexOptions, ReadConcern, ReturnDocument};
use mongodb::{Client, Collection, IndexModel};
use tokio::sync::{OnceCell, mpsc};

use self::docs::{COUNTERS, Counter, MATCHES, MatchDoc, ORDERS, OrderDoc, USERS, UserDoc};
use super::Store;
use crate::error::BetError;
use crate::feed::Imported;
use crate::model::{Audit, Match, NewBet, NewMatch, Order, PayoutBatch, Placed, User};
use crate::state::Action;

/// How long an operation waits for a reachable primary before failing.
const SERVER_SELECTION: Duration = Duration::from_secs(10);

/// The connected database: collections, the bet writer's queue and the
/// retry count. Shared by the store and its writer task.
pub(super) struct Db {
    client: Client,
    users: Collection<UserDoc>,
    matches: Collection<MatchDoc>,
    orders: Collection<OrderDoc>,
    counters: Collection<Counter>,
    /// `mongodb://hosts/database`, credentials left out: for messages.
    place: String,
    /// The password in the connection string, scrubbed from messages.
    secret: Option<String>,
    /// Transactions run again after a conflict, since connecting.
    retries: AtomicU64,
    /// The application name this database's betting stores connect with.
    app: String,
    reaper: orphans::Reaper,
}

/// The MongoDB store; see the module docs.
pub struct MongoStore {
    uri: String,
    database: String,
    place: String,
    db: OnceCell<Arc<Db>>,
    /// Feeds the bet writer; taken by [`Store::close`], which ends the writer.
    queue: std::sync::Mutex<Option<mpsc::Sender<bets::BetJob>>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoStore")
            .field("place", &self.place)
            .field("connected", &self.db.initialized())
            .field("retries", &self.retries())
            .finish()
    }
}

impl MongoStore {
    /// A store on `database` at `uri`, connecting on first use. `uri`
    /// may carry credentials: they never appear in logs or errors.
    pub fn new(uri: impl Into<String>, database: impl Into<String>) -> MongoStore {
        let (uri, database) = (uri.into(), database.into());
        let place = format!("{}/{database}", espoir::redact_uri(&uri));
        MongoStore {
            uri,
            database,
            place,
            db: OnceCell::new(),
            queue: std::sync::Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    /// A store that has connected and created its indexes.
    ///
    /// # Errors
    /// [`BetError::Storage`] when MongoDB cannot be reached or refuses.
    pub async fn connect(
        uri: impl Into<String>,
        database: impl Into<String>,
    ) -> Result<MongoStore, BetError> {
        let store = MongoStore::new(uri, database);
        store.db().await?;
        Ok(store)
    }

    /// Transactions run again after a write conflict (with another node, or
    /// between a bet group and a payout batch), since connecting.
    pub fn retries(&self) -> u64 {
        self.db.get().map_or(0, |db| db.retries.load(Ordering::Relaxed))
    }

    /// The connected database, connecting (and creating the indexes) on
    /// first use; a failed connection is tried again on the next call.
    async fn db(&self) -> Result<&Arc<Db>, BetError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(BetError::Closed);
        }
        self.db
            .get_or_try_init(|| async {
                let db = Arc::new(self.open().await?);
                let (tx, rx) = mpsc::channel(bets::QUEUE);
                tokio::spawn(bets::write_loop(Arc::clone(&db), rx));
                *self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
                tracing::info!(place = %self.place, "MongoDB betting store connected");
                Ok(db)
            })
            .await
    }

    async fn open(&self) -> Result<Db, BetError> {
        let secret = password_of(&self.uri);
        let fail = |what: &str, e: mongodb::error::Error| {
            BetError::Storage(scrub(&format!("{}: {what}: {e}", self.place), secret.as_deref()))
        };
        let mut options =
            ClientOptions::parse(&self.uri).await.map_err(|e| fail("invalid connection string", e))?;
        // Names this database's betting stores, so one can end transactions
        // a crashed one left open ([`orphans`]) and touch nothing else.
        options.app_name = Some(orphans::app_name(&self.database));
        options.server_selection_timeout = Some(SERVER_SELECTION);
        // Reads see only what a majority holds: nothing a failover can undo.
        options.read_concern = Some(ReadConcern::majority());
        options.write_concern = Some(txn::durable());
        let client = Client::with_options(options).map_err(|e| fail("cannot create a client", e))?;
        let database = client.database(&self.database);
        let db = Db {
            users: database.collection(USERS),
            matches: database.collection(MATCHES),
            orders: database.collection(ORDERS),
            counters: database.collection(COUNTERS),
            client,
            place: self.place.clone(),
            secret: secret.clone(),
            retries: AtomicU64::new(0),
            app: orphans::app_name(&self.database),
            reaper: orphans::Reaper::default(),
        };
        db.create_indexes().await.map_err(|e| fail("cannot create the indexes", e))?;
        Ok(db)
    }
}

impl Db {
    /// The unique user name index, and what settlement and "my bets" scan.
    /// Order ids are the orders' `_id`, unique by MongoDB's own index.
    /// Matches and counters are first written outside transactions
    /// (`create_match`, `next`), so every collection a transaction writes
    /// exists before it runs.
    async fn create_indexes(&self) -> Result<(), mongodb::error::Error> {
        let unique = IndexOptions::builder().unique(true).name("name_unique".to_owned()).build();
        self.users
            .create_index(IndexModel::builder().keys(doc! { "name": 1 }).options(unique).build())
            .await?;
        let open = IndexModel::builder().keys(doc! { "match_id": 1, "status": 1, "_id": 1 }).build();
        let mine = IndexModel::builder().keys(doc! { "uid": 1, "_id": -1 }).build();
        self.orders.create_indexes([open, mine]).await?;
        // One match per feed id (the datacenter's imports); matches made by
        // the admin have none.
        let feed = IndexOptions::builder()
            .unique(true)
            .name("feed_id_unique".to_owned())
            .partial_filter_expression(doc! { "feed_id": { "$type": "string" } })
            .build();
        self.matches
            .create_index(IndexModel::builder().keys(doc! { "feed_id": 1 }).options(feed).build())
            .await?;
        Ok(())
    }

    /// A storage error, with the place but never the credentials.
    pub(super) fn storage(&self, err: &dyn std::fmt::Display) -> BetError {
        BetError::Storage(self.scrub(&format!("{}: {err}", self.place)))
    }

    pub(super) fn scrub(&self, text: &str) -> String {
        scrub(text, self.secret.as_deref())
    }

    /// The next value of a counter (uids, match ids). Outside any
    /// transaction: a number burnt by a failed insert leaves a harmless gap.
    async fn next(&self, name: &str) -> Result<u64, BetError> {
        let counter = self
            .counters
            .find_one_and_update(doc! { "_id": name }, doc! { "$inc": { "seq": 1_i64 } })
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(|e| self.storage(&e))?
            .ok_or_else(|| BetError::Storage(format!("counter {name} vanished")))?;
        u64::try_from(counter.seq).map_err(|_| BetError::Storage(format!("counter {name} is corrupt")))
    }
}

/// The password of a `user:password@` connection string, if any.
fn password_of(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let hosts = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let (user_info, _) = hosts.rsplit_once('@')?;
    let (_, password) = user_info.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

/// `text` with every occurrence of `secret` masked.
fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) => text.replace(secret, "***"),
        None => text.to_owned(),
    }
}

#[async_trait]
impl Store for MongoStore {
    async fn user(&self, name: &str) -> Result<Option<User>, BetError> {
        self.db().await?.user(name).await
    }

    async fn create_user(&self, name: &str, password_hash: &str, bonus: u64) -> Result<User, BetError> {
        self.db().await?.create_user(name, password_hash, bonus).await
    }

    async fn credit(&self, name: &str, amount: u64) -> Result<u64, BetError> {
        self.db().await?.credit(name, amount).await
    }

    async fn balance(&self, uid: u64) -> Result<u64, BetError> {
        self.db().await?.balance(uid).await
    }

    async fn create_match(&self, spec: &NewMatch) -> Result<Match, BetError> {
        spec.validate()?;
        self.db().await?.create_match(spec).await
    }

    async fn import_match(&self, feed_id: &str, spec: &NewMatch) -> Result<Imported, BetError> {
        spec.validate()?;
        self.db().await?.import_match(feed_id, spec).await
    }

    async fn get_match(&self, id: u64) -> Result<Match, BetError> {
        self.db().await?.get_match(id).await
    }

    async fn matches(&self) -> Result<Vec<Match>, BetError> {
        self.db().await?.all_matches().await
    }

    async fn transition(&self, id: u64, action: Action, result: Option<&str>) -> Result<Match, BetError> {
        self.db().await?.transition(id, action, result).await
    }

    async fn place_bet(&self, bet: NewBet) -> Result<Placed, BetError> {
        bets::check_amount(bet.amount)?;
        self.db().await?;
        let queue = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        bets::submit(queue.ok_or(BetError::Closed)?, bet).await
    }

    async fn orders_of(&self, uid: u64, limit: usize) -> Result<Vec<Order>, BetError> {
        self.db().await?.orders_of(uid, limit).await
    }

    async fn bettors(&self, match_id: u64) -> Result<Vec<u64>, BetError> {
        self.db().await?.bettors(match_id).await
    }

    async fn pay_out(&self, match_id: u64, limit: usize) -> Result<PayoutBatch, BetError> {
        self.db().await?.pay_out(match_id, limit).await
    }

    async fn last_order_id(&self) -> Result<Option<u64>, BetError> {
        self.db().await?.last_order_id().await
    }

    async fn audit(&self) -> Result<Audit, BetError> {
        self.db().await?.audit().await
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Dropping the sender ends the writer once it has answered what is
        // queued; nothing is cut half-way: each group is one transaction.
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_messages() {
        let uri = "mongodb://bet:s3cr%40t@db1:27017,db2/?replicaSet=rs0";
        assert_eq!(password_of(uri).as_deref(), Some("s3cr%40t"));
        assert_eq!(password_of("mongodb://db1/x"), None);
        let store = MongoStore::new(uri, "betting");
        let shown = format!("{store:?}");
        assert!(shown.contains("mongodb://db1:27017,db2/betting") && !shown.contains("s3cr"), "{shown}");
        assert_eq!(scrub("auth failed for bet:s3cr%40t", Some("s3cr%40t")), "auth failed for bet:***");
    }
}
