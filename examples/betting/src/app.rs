//! The betting service: what the handlers and the admin API call.
//!
//! [`Betting`] is a cheap-to-clone handle shared by the node's handlers
//! (as node state), its HTTP routes and its background jobs. It is built
//! before the node starts and [`Betting::start`]ed by the node's start hook,
//! which hands it the way to push to clients and the node's shutdown.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use espoir::{Context, Scheduler, Shutdown, Status};
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::error::BetError;
use crate::ids::{OrderIds, now_ms};
use crate::model::{Match, NewBet, NewMatch, check_name};
use crate::passwords;
use crate::settings::Settings;
use crate::state::Action;
use crate::store::Store;
use crate::views::{MatchView, OrderView, PUSH_STATE, StatePush};

/// Most orders "my bets" returns.
pub const MY_BETS_LIMIT: usize = 100;

/// Where pushes go: the node (a [`Context`]), or a recorder in tests.
pub trait PushSink: Send + Sync + 'static {
    /// Pushes `body` with `command` to every session of user `uid`, on
    /// whichever proxies hold them.
    ///
    /// # Errors
    /// When the proxies cannot be reached.
    fn push_user(&self, uid: u64, command: i32, body: &serde_json::Value) -> Result<(), Status>;
}

impl PushSink for Context {
    fn push_user(&self, uid: u64, command: i32, body: &serde_json::Value) -> Result<(), Status> {
        Context::push_user(self, &uid.to_string(), command, body)
    }
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) settings: Settings,
    /// Made on first use: it resumes after the highest stored order id,
    /// which takes a (async) read of the store.
    ids: OnceCell<OrderIds>,
    hashers: passwords::Hashers,
    /// Set by [`Betting::start`], cleared at shutdown: the node's context
    /// holds the node, whose state holds this service, so keeping it past
    /// shutdown would keep both alive forever.
    pub(crate) sink: std::sync::RwLock<Option<Arc<dyn PushSink>>>,
    pub(crate) shutdown: OnceLock<Shutdown>,
    /// Kickoff timers by match id.
    pub(crate) kickoffs: OnceLock<Scheduler<u64>>,
    /// Matches whose payout job is running, so a match gets one job.
    pub(crate) payouts: Mutex<HashSet<u64>>,
}

/// The betting service; see the module docs.
#[derive(Clone)]
pub struct Betting {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Betting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Betting")
            .field("store", &self.inner.store)
            .field("worker_id", &self.inner.settings.worker_id)
            .finish()
    }
}

/// Reply to 100002.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginReply {
    /// The user's id.
    pub uid: u64,
    /// The user's name.
    pub name: String,
    /// The balance.
    pub balance: u64,
    /// True when this login created the user.
    pub created: bool,
}

/// Reply to 100020.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BetReply {
    /// The new order's id, decimal.
    pub order_id: String,
    /// The balance after the stake was taken.
    pub balance: u64,
}

/// Which matches 100010 lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListStatus {
    /// Approved, result not yet known.
    Doing,
    /// Result known, or called off.
    Finished,
    /// Both. The default.
    #[default]
    All,
}

impl Betting {
    /// A service over `store`. It serves requests at once; pushes, kickoff
    /// timers and payout jobs start with [`Betting::start`].
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Betting {
        Betting {
            inner: Arc::new(Inner {
                store,
                settings,
                ids: OnceCell::new(),
                hashers: passwords::Hashers::default(),
                sink: std::sync::RwLock::new(None),
                shutdown: OnceLock::new(),
                kickoffs: OnceLock::new(),
                payouts: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    async fn ids(&self) -> Result<&OrderIds, BetError> {
        self.inner
            .ids
            .get_or_try_init(|| async {
                let last = self.inner.store.last_order_id().await?;
                OrderIds::new(self.inner.settings.worker_id, last)
            })
            .await
    }

    /// 100002: checks `name`'s password, creating the user on first login.
    /// The handler then binds the session to the uid on its proxy, so every
    /// later request carries it, to whichever service node serves it.
    ///
    /// # Errors
    /// [`BetError::WrongPassword`], [`BetError::Invalid`].
    pub async fn login(&self, name: &str, password: &str) -> Result<LoginReply, BetError> {
        check_name("name", name)?;
        let store = &self.inner.store;
        let (user, created) = match store.user(name).await? {
            Some(user) => (user, false),
            None => {
                let hash = passwords::hash(&self.inner.hashers, password).await?;
                match store.create_user(name, &hash, self.inner.settings.signup_bonus).await {
                    Ok(user) => (user, true),
                    // Someone else's first login won the race: check against theirs.
                    Err(BetError::NameTaken(_)) => {
                        (store.user(name).await?.ok_or(BetError::WrongPassword)?, false)
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        if !created && !passwords::verify(&self.inner.hashers, password, &user.password_hash).await? {
            return Err(BetError::WrongPassword);
        }
        let balance = store.balance(user.uid).await?;
        Ok(LoginReply { uid: user.uid, name: user.name, balance, created })
    }

    /// 100010: listed matches, optionally of one type and status.
    ///
    /// # Errors
    /// Only the store's.
    pub async fn list(&self, kind: Option<&str>, status: ListStatus) -> Result<Vec<MatchView>, BetError> {
        let matches = self.inner.store.matches().await?;
        Ok(matches
            .iter()
            .filter(|m| kind.is_none_or(|k| m.kind == k))
            .filter(|m| match status {
                ListStatus::Doing => m.state.is_doing(),
                ListStatus::Finished => m.state.is_finished(),
                ListStatus::All => m.state.is_doing() || m.state.is_finished(),
            })
            .map(MatchView::from)
            .collect())
    }

    /// 100011: one listed match.
    ///
    /// # Errors
    /// [`BetError::MatchNotFound`] (also for matches not yet approved).
    pub async fn detail(&self, match_id: u64) -> Result<MatchView, BetError> {
        let m = self.inner.store.get_match(match_id).await?;
        if !(m.state.is_doing() || m.state.is_finished()) {
            return Err(BetError::MatchNotFound(match_id));
        }
        Ok(MatchView::from(&m))
    }

    /// 100020: places a bet for user `uid`.
    ///
    /// # Errors
    /// The refusals of [`Store::place_bet`].
    pub async fn place_bet(
        &self,
        uid: u64,
        match_id: u64,
        option: &str,
        amount: u64,
    ) -> Result<BetReply, BetError> {
        let order_id = self.ids().await?.next();
        let bet = NewBet { order_id, uid, match_id, option: option.to_owned(), amount, placed_at: now_ms() };
        let placed = self.inner.store.place_bet(bet).await?;
        Ok(BetReply { order_id: placed.order.id.to_string(), balance: placed.balance })
    }

    /// 100021: user `uid`'s newest orders.
    ///
    /// # Errors
    /// Only the store's.
    pub async fn my_bets(&self, uid: u64) -> Result<Vec<OrderView>, BetError> {
        let orders = self.inner.store.orders_of(uid, MY_BETS_LIMIT).await?;
        let mut matches: Vec<Match> = Vec::new();
        let mut out = Vec::with_capacity(orders.len());
        for order in &orders {
            if !matches.iter().any(|m| m.id == order.match_id) {
                matches.push(self.inner.store.get_match(order.match_id).await?);
            }
            out.push(OrderView::new(order, matches.iter().find(|m| m.id == order.match_id)));
        }
        Ok(out)
    }

    /// 100030: user `uid`'s balance.
    ///
    /// # Errors
    /// [`BetError::UserNotFound`] and the store's.
    pub async fn balance(&self, uid: u64) -> Result<u64, BetError> {
        self.inner.store.balance(uid).await
    }

    /// Admin: creates a match (state 0, not listed until approved).
    ///
    /// # Errors
    /// [`BetError::Invalid`].
    pub async fn create_match(&self, spec: &NewMatch) -> Result<Match, BetError> {
        let m = self.inner.store.create_match(spec).await?;
        tracing::info!(id = m.id, kind = %m.kind, "match created");
        Ok(m)
    }

    /// Admin (and the kickoff timer): applies `action` to a match, then
    /// tells its bettors, re-arms or drops its kickoff timer and starts its
    /// payout job as the new state requires.
    ///
    /// # Errors
    /// As [`Store::transition`].
    pub async fn apply(
        &self,
        match_id: u64,
        action: Action,
        result: Option<&str>,
    ) -> Result<Match, BetError> {
        let m = self.inner.store.transition(match_id, action, result).await?;
        tracing::info!(id = m.id, %action, state = %m.state, "match state changed");
        self.after_transition(&m).await;
        Ok(m)
    }

    /// Admin: credits a user.
    ///
    /// # Errors
    /// [`BetError::UserNotFound`], [`BetError::Invalid`].
    pub async fn credit(&self, name: &str, amount: u64) -> Result<u64, BetError> {
        self.inner.store.credit(name, amount).await
    }

    /// Pushes 100100 to every bettor of `m`, wherever they are logged in.
    pub(crate) async fn push_state(&self, m: &Match) {
        let body = StatePush { match_id: m.id, state: m.state, result: crate::views::result_name(m) };
        match self.inner.store.bettors(m.id).await {
            Ok(bettors) => self.push_to_users(&bettors, PUSH_STATE, &body),
            Err(err) => tracing::warn!(id = m.id, error = %err, "state push skipped: bettors unreadable"),
        }
    }

    /// Pushes `body` to every session of each user in `uids`, on any proxy
    /// (users the proxies do not know are skipped there).
    pub(crate) fn push_to_users<T: Serialize>(&self, uids: &[u64], command: i32, body: &T) {
        let Some(sink) = self.inner.sink.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
        else {
            return;
        };
        let Ok(body) = serde_json::to_value(body) else { return };
        for uid in uids {
            if let Err(status) = sink.push_user(*uid, command, &body) {
                tracing::debug!(uid, command, error = %status, "push not delivered");
            }
        }
    }
}
