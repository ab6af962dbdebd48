//! The embedded store: one redb file, written through one writer thread
//! that commits requests in groups.
//!
//! ```text
//!  place_bet ─┐                       ┌─ one write transaction ─┐
//!  place_bet ─┼─▶ bounded queue ──▶ writer: apply each request, commit (fsync) ──▶ ack each
//!  pay_out ───┘     (backpressure)     └──── up to MAX_BATCH ────┘
//! ```
//!
//! A request is acknowledged only after the transaction holding it has
//! committed durably, so "acknowledged" means "survives a crash". Batching
//! turns thousands of bets into one fsync, and because one thread applies
//! every write in order, a bet and a state change can never interleave:
//! there is no lost update and no overdraft to guard against with locks.
//! Reads use redb's snapshot transactions and never wait for the writer.

mod ops;
mod tables;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;
use redb::{Database, ReadTransaction, ReadableTable, ReadableTableMetadata};
use tokio::sync::{mpsc, oneshot};

use self::tables::{
    BALANCES, BETTORS, CREDITED, MATCHES, META, OPEN_ORDERS, ORDERS, Tables, USER_NAMES, USER_ORDERS, USERS,
    decode_match, decode_user, order_from_row,
};
use super::Store;
use crate::error::BetError;
use crate::feed::Imported;
use crate::model::{Audit, Match, NewBet, NewMatch, Order, PayoutBatch, Placed, User};
use crate::state::Action;

/// Most requests committed in one transaction: large enough to amortise an
/// fsync over thousands of bets, small enough to keep a batch's latency low.
pub(crate) const MAX_BATCH: usize = 4096;
/// Requests waiting for the writer. When full, callers wait (backpressure)
/// rather than growing memory.
pub(crate) const QUEUE: usize = 16 * MAX_BATCH;

/// What a request does once its batch has committed (or failed).
type Completion = Box<dyn FnOnce(Result<(), BetError>) + Send>;
/// A request: applied to the batch's tables (or to none, when the batch
/// could not even start), it reports whether it hit a storage error (which
/// aborts the batch) and how to answer its caller.
type Job = Box<dyn FnOnce(Option<&mut Tables<'_>>) -> (bool, Completion) + Send>;

enum Msg {
    Job(Job),
    /// Finish what is queued before this, then stop.
    Stop,
}

/// The redb-backed store; see the module docs.
pub struct EmbeddedStore {
    /// Taken out by [`Store::close`], so the file is released even while
    /// other parts of the node still hold the store.
    db: std::sync::RwLock<Option<Arc<Database>>>,
    queue: mpsc::Sender<Msg>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").field("queued", &(QUEUE - self.queue.capacity())).finish()
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store at `path` and starts its writer thread.
    ///
    /// # Errors
    /// [`BetError::Storage`] when the file cannot be opened (missing
    /// directory, another process holds it, corruption).
    pub fn open(path: impl AsRef<Path>) -> Result<EmbeddedStore, BetError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| BetError::Storage(format!("cannot create {}: {e}", dir.display())))?;
        }
        let db = Database::create(path)
            .map_err(|e| BetError::Storage(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(BetError::storage)?;
        tables::create_all(&txn)?;
        txn.commit().map_err(BetError::storage)?;
        let db = Arc::new(db);
        let (queue, rx) = mpsc::channel(QUEUE);
        let writer_db = Arc::clone(&db);
        let writer = std::thread::Builder::new()
            .name("betting-store-writer".into())
            .spawn(move || write_loop(&writer_db, rx))
            .map_err(|e| BetError::Storage(format!("cannot start the writer thread: {e}")))?;
        tracing::info!(path = %path.display(), "embedded betting store open");
        Ok(EmbeddedStore { db: std::sync::RwLock::new(Some(db)), queue, writer: Mutex::new(Some(writer)) })
    }

    /// Queues a write and waits until its batch has committed.
    async fn write<T, F>(&self, f: F) -> Result<T, BetError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tables<'_>) -> Result<T, BetError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |tables| {
            let result = match tables {
                Some(tables) => f(tables),
                None => Err(BetError::Storage("the write transaction could not start".into())),
            };
            let storage_failed = matches!(result, Err(BetError::Storage(_)));
            let complete: Completion = Box::new(move |committed| {
                let _ = tx.send(committed.and(result));
            });
            (storage_failed, complete)
        });
        self.queue.send(Msg::Job(job)).await.map_err(|_| BetError::Closed)?;
        rx.await.map_err(|_| BetError::Closed)?
    }

    /// Runs a read on a snapshot, off the async threads.
    async fn read<T, F>(&self, f: F) -> Result<T, BetError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, BetError> + Send + 'static,
    {
        let db = self
            .db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(BetError::Closed)?;
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(BetError::storage)?;
            f(&txn)
        })
        .await
        .map_err(|e| BetError::Storage(format!("read task failed: {e}")))?
    }
}

/// The writer thread: takes every queued request (up to [`MAX_BATCH`]),
/// applies them in one transaction, commits, then answers each.
fn write_loop(db: &Database, mut rx: mpsc::Receiver<Msg>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut stop = false;
    while !stop {
        match rx.blocking_recv() {
            Some(Msg::Job(job)) => jobs.push(job),
            Some(Msg::Stop) | None => break,
        }
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => jobs.push(job),
                Ok(Msg::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        commit_batch(db, &mut jobs);
    }
    tracing::debug!("betting store writer stopped");
}

fn commit_batch(db: &Database, jobs: &mut Vec<Job>) {
    let count = jobs.len();
    let mut completions: Vec<Completion> = Vec::with_capacity(count);
    let outcome = match db.begin_write() {
        Ok(txn) => {
            let applied = match Tables::open(&txn) {
                Ok(mut tables) => {
                    let mut failed = false;
                    for job in jobs.drain(..) {
                        let (storage_failed, complete) = job(Some(&mut tables));
                        failed |= storage_failed;
                        completions.push(complete);
                    }
                    if failed {
                        Err(BetError::Storage(
                            "a write in this batch failed; the batch was rolled back".into(),
                        ))
                    } else {
                        Ok(())
                    }
                }
                Err(err) => Err(err),
            };
            match applied {
                Ok(()) => txn.commit().map_err(BetError::storage),
                Err(err) => {
                    let _ = txn.abort();
                    Err(err)
                }
            }
        }
        Err(err) => Err(BetError::storage(err)),
    };
    // Requests the batch never reached are answered with its failure too.
    for job in jobs.drain(..) {
        completions.push(job(None).1);
    }
    if let Err(err) = &outcome {
        tracing::error!(error = %err, requests = count, "betting store batch failed");
    }
    for complete in completions {
        complete(outcome.clone());
    }
}

fn storage<E: std::fmt::Display>(e: E) -> BetError {
    BetError::storage(e)
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn user(&self, name: &str) -> Result<Option<User>, BetError> {
        let name = name.to_owned();
        self.read(move |txn| {
            let names = txn.open_table(USER_NAMES).map_err(storage)?;
            let Some(uid) = names.get(name.as_str())?.map(|v| v.value()) else { return Ok(None) };
            let users = txn.open_table(USERS).map_err(storage)?;
            let text =
                users.get(uid)?.ok_or_else(|| BetError::Storage(format!("user {uid} has no record")))?;
            decode_user(text.value()).map(Some)
        })
        .await
    }

    async fn create_user(&self, name: &str, password_hash: &str, bonus: u64) -> Result<User, BetError> {
        let (name, hash) = (name.to_owned(), password_hash.to_owned());
        self.write(move |t| ops::create_user(t, &name, &hash, bonus)).await
    }

    async fn credit(&self, name: &str, amount: u64) -> Result<u64, BetError> {
        let name = name.to_owned();
        self.write(move |t| ops::credit(t, &name, amount)).await
    }

    async fn balance(&self, uid: u64) -> Result<u64, BetError> {
        self.read(move |txn| {
            let balances = txn.open_table(BALANCES).map_err(storage)?;
            Ok(balances.get(uid)?.map_or(0, |v| v.value()))
        })
        .await
    }

    async fn create_match(&self, spec: &NewMatch) -> Result<Match, BetError> {
        spec.validate()?;
        let spec = spec.clone();
        self.write(move |t| ops::create_match(t, &spec)).await
    }

    async fn import_match(&self, feed_id: &str, spec: &NewMatch) -> Result<Imported, BetError> {
        spec.validate()?;
        let (feed_id, spec) = (feed_id.to_owned(), spec.clone());
        self.write(move |t| ops::import_match(t, &feed_id, &spec)).await
    }

    async fn get_match(&self, id: u64) -> Result<Match, BetError> {
        self.read(move |txn| {
            let matches = txn.open_table(MATCHES).map_err(storage)?;
            let text = matches.get(id)?.ok_or(BetError::MatchNotFound(id))?;
            decode_match(text.value())
        })
        .await
    }

    async fn matches(&self) -> Result<Vec<Match>, BetError> {
        self.read(|txn| {
            let matches = txn.open_table(MATCHES).map_err(storage)?;
            matches.iter()?.map(|entry| decode_match(entry?.1.value())).collect()
        })
        .await
    }

    async fn transition(&self, id: u64, action: Action, result: Option<&str>) -> Result<Match, BetError> {
        let result = result.map(str::to_owned);
        self.write(move |t| ops::transition(t, id, action, result.as_deref())).await
    }

    async fn place_bet(&self, bet: NewBet) -> Result<Placed, BetError> {
        self.write(move |t| ops::place_bet(t, &bet)).await
    }

    async fn orders_of(&self, uid: u64, limit: usize) -> Result<Vec<Order>, BetError> {
        self.read(move |txn| {
            let index = txn.open_table(USER_ORDERS).map_err(storage)?;
            let orders = txn.open_table(ORDERS).map_err(storage)?;
            let mut out = Vec::new();
            for entry in index.range((uid, 0)..=(uid, u64::MAX))?.rev().take(limit) {
                let id = entry?.0.value().1;
                let row =
                    orders.get(id)?.ok_or_else(|| BetError::Storage(format!("order {id} is missing")))?;
                out.push(order_from_row(id, row.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn bettors(&self, match_id: u64) -> Result<Vec<u64>, BetError> {
        self.read(move |txn| {
            let bettors = txn.open_table(BETTORS).map_err(storage)?;
            bettors.range((match_id, 0)..=(match_id, u64::MAX))?.map(|e| Ok(e?.0.value().1)).collect()
        })
        .await
    }

    async fn pay_out(&self, match_id: u64, limit: usize) -> Result<PayoutBatch, BetError> {
        let limit = limit.max(1);
        self.write(move |t| ops::pay_out(t, match_id, limit)).await
    }

    async fn last_order_id(&self) -> Result<Option<u64>, BetError> {
        self.read(|txn| {
            let orders = txn.open_table(ORDERS).map_err(storage)?;
            Ok(orders.last()?.map(|(k, _)| k.value()))
        })
        .await
    }

    async fn audit(&self) -> Result<Audit, BetError> {
        self.read(|txn| {
            let mut audit = Audit::default();
            let meta = txn.open_table(META).map_err(storage)?;
            audit.credited = u128::from(meta.get(CREDITED)?.map_or(0, |v| v.value()));
            for entry in txn.open_table(BALANCES).map_err(storage)?.iter()? {
                audit.balances += u128::from(entry?.1.value());
            }
            for entry in txn.open_table(ORDERS).map_err(storage)?.iter()? {
                let (id, row) = entry?;
                audit.count_order(&order_from_row(id.value(), row.value())?);
            }
            audit.indexed_open = txn.open_table(OPEN_ORDERS).map_err(storage)?.len()?;
            Ok(audit)
        })
        .await
    }

    async fn close(&self) {
        let _ = self.queue.send(Msg::Stop).await;
        let writer = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(writer) = writer {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        self.db.write().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    }
}
