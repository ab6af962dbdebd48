//! The betting (竞猜) app on espoir: the seed's connect / logic / gm /
//! resultcenter / noticesvr processes as one set of handlers.
//!
//! Proxies hold the clients, a betting service node runs [`handlers`],
//! serves the admin API ([`admin`]) on its HTTP port, closes betting at
//! each match's start time and pays out results in the background. The
//! node binary registers [`service`] as the handler group
//! `betting.service`; see `docs/betting.md` for the protocol.
//!
//! # Layout
//!
//! * `state`: the match state machine (the seed's `iGuessState`), pure.
//! * `model`: users, matches, orders, payouts, the money audit.
//! * `error`: [`BetError`] and its stable numeric codes.
//! * `ids`: order ids unique across service nodes ([`OrderIds`]).
//! * `store`: the [`Store`] trait, the embedded redb store
//!   ([`EmbeddedStore`]) with group commit, and the MongoDB store
//!   ([`MongoStore`]) that several betting nodes share.
//! * `settings`: `app.betting` in the node config ([`Settings`]).
//! * `passwords`: Argon2id hashing off the async threads.
//! * `app`: the service itself ([`Betting`]); `jobs`: its kickoff timers,
//!   payout jobs and the cluster job that takes them over ([`RECOVER_JOB`]).
//! * `feed`: the datacenter, a cluster job importing matches from a JSON
//!   feed ([`feed::FeedSettings`]).
//! * `views`: reply and push bodies.
//! * `handlers`: the client commands; `admin`: the HTTP admin API.

pub mod admin;
mod app;
mod error;
pub mod feed;
pub mod handlers;
mod ids;
mod jobs;
mod model;
mod passwords;
mod settings;
mod state;
mod store;
mod views;

use std::sync::Arc;

use espoir::{JobSpec, NodeBuilder};

pub use app::{BetReply, Betting, ListStatus, LoginReply, MY_BETS_LIMIT, PushSink};
pub use error::BetError;
pub use ids::{MAX_WORKER_ID, OrderIds, now_ms};
pub use model::{
    Audit, MAX_NAME, MAX_ODDS_CENTI, MAX_OPTIONS, MAX_STAKE, MAX_START_TIME, MIN_ODDS_CENTI, Match,
    MatchOption, NewBet, NewMatch, NewOption, Order, OrderStatus, Payout, PayoutBatch, Placed, User,
    check_name, payout,
};
pub use passwords::MAX_PASSWORD;
pub use settings::{Settings, SettingsError, StoreKind};
pub use state::{ALL_ACTIONS, ALL_STATES, Action, IllegalTransition, MatchState, UnknownState};
pub use store::{EmbeddedStore, MongoStore, Store};
pub use views::{MatchView, OptionView, OrderView, PUSH_SETTLEMENT, PUSH_STATE, SettlementPush, StatePush};

/// The cluster job (and its handler) that takes over kickoffs and payouts.
pub const RECOVER_JOB: &str = "betting.recover";

/// Wires a betting service node: reads `app.betting`, opens the store,
/// adds the client handlers, the admin API and the start hook that runs
/// kickoffs and payouts. A bad setting or a store that does not open stops
/// the node before it serves.
pub fn service(builder: NodeBuilder) -> NodeBuilder {
    let settings = match Settings::from_config(builder.config()) {
        Ok(settings) => settings,
        Err(err) => return builder.fail(err),
    };
    let store: Arc<dyn Store> = match settings.store {
        StoreKind::Embedded => match EmbeddedStore::open(&settings.path) {
            Ok(store) => Arc::new(store),
            Err(err) => return builder.fail(format!("betting store {}: {err}", settings.path.display())),
        },
        // Connects on first use: the start hook's resume, which also
        // creates the indexes (and logs when MongoDB is unreachable).
        StoreKind::Mongo => match &settings.mongo_uri {
            Some(uri) => Arc::new(MongoStore::new(uri.clone(), settings.database.clone())),
            None => return builder.fail("betting store: \"store\": \"mongo\" needs a \"mongo_uri\""),
        },
    };
    with_store(builder, store, settings)
}

/// Validates a node config's `app.betting` as [`service`] would, without
/// opening anything, and against the other betting nodes of its cluster:
/// for `espoir check` (`HandlerGroups::add_checked`).
///
/// # Errors
/// Why the settings are unusable, or clash with another node's.
pub fn check_config(config: &espoir::NodeConfig, cluster: &[espoir::NodeConfig]) -> Result<(), String> {
    let mine = Settings::from_config(config).map_err(|e| e.to_string())?;
    // Another node's bad settings are reported for that node.
    let others = cluster.iter().filter(|c| c.name != config.name).filter_map(|c| {
        let settings = Settings::from_config(c).ok()?;
        Some((c.name.as_str(), settings))
    });
    for (name, theirs) in others {
        if let Some(clash) = mine.clash_with(&theirs) {
            return Err(format!("node {}: app.betting clashes with node {name}'s: {clash}", config.name));
        }
    }
    Ok(())
}

/// As [`service`], with a store the caller opened (tests, other stores).
pub fn with_store(builder: NodeBuilder, store: Arc<dyn Store>, settings: Settings) -> NodeBuilder {
    let token = builder.config().http.as_ref().and_then(|h| h.token.clone());
    let recover = match espoir::Schedule::every(settings.recover_every) {
        Ok(schedule) => JobSpec::new(RECOVER_JOB, schedule, RECOVER_JOB),
        Err(err) => return builder.fail(format!("app.betting.recover_every: {err}")),
    };
    let feed = settings.feed.clone();
    let betting = Betting::new(store, settings);
    let started = betting.clone();
    let recovering = betting.clone();
    let builder = builder
        .events(handlers::events())
        .state(betting.clone())
        .http(admin::routes(betting.clone(), token))
        .on_start(move |ctx, shutdown| started.start(Arc::new(ctx), &shutdown))
        .job_handler(RECOVER_JOB, move |_run| {
            let betting = recovering.clone();
            async move { betting.recover().await }
        })
        .job(recover);
    feed::wire(builder, betting, feed)
}
