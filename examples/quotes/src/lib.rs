//! Seed 001 on espoir: a realtime quote service.
//!
//! A feed, the recurring job `quotes.feed`, publishes a tick for every
//! configured symbol at a configured rate to the topic `quotes.<SYMBOL>`,
//! keyed by the symbol; with several quote service nodes each tick runs on
//! one of them. Ticks are keyed by the symbol so that a
//! subscriber reading slower than the feed gets each symbol's latest tick
//! (conflation) rather than a growing queue. A producer outside the
//! cluster publishes the same way with `POST /publish` on the service's
//! admin port. Clients subscribe with the framework's subscribe command
//! (10004) and get each topic's snapshot (its recent ticks, per the
//! proxies' `topics.policies`) then live ticks. The page in `web/` draws
//! them (`docs/realtime.md`).
//!
//! # Layout
//!
//! * `settings`: `app.quotes` in the service's config ([`Settings`]).
//! * `walk`: prices as a function of the tick, one walk per symbol (pure).
//! * `feed`: the job publishing ticks.
//! * this file: the handler (the symbol list) and the handler group.

mod feed;
mod settings;
mod walk;

use espoir::{Context, EventTable, NodeBuilder, Status, events, register_event};
use serde_json::{Value, json};

pub use feed::{CATCH_UP, FEED_JOB, TICK, Tick, message_of, topic_of};
pub use settings::{MAX_RATE, MAX_SYMBOLS, MIN_RATE, Settings, SettingsError};
pub use walk::PriceWalk;

/// Command of the symbol list request.
pub const SYMBOLS: i32 = 61000;

/// 61000: the symbols the feed publishes, their topics, and the command
/// their ticks carry.
#[register_event(61000)]
pub async fn symbols(ctx: Context) -> Result<Value, Status> {
    let settings = ctx.state::<Settings>()?;
    let topics: Vec<String> = settings.symbols.iter().map(|s| topic_of(s)).collect();
    Ok(json!({ "symbols": settings.symbols, "topics": topics, "tick_command": TICK }))
}

/// The service's handlers.
pub fn events() -> EventTable {
    events![symbols]
}

/// The `quotes.service` handler group: the symbol list, and the feed job
/// when `app.quotes.feed` is on.
pub fn service(builder: NodeBuilder) -> NodeBuilder {
    let settings = match settings_of(builder.config()) {
        Ok(settings) => settings,
        Err(err) => return builder.fail(err),
    };
    let builder = builder.events(events()).state(settings.clone());
    if settings.feed { feed::wire(builder, &settings) } else { builder }
}

/// `app.quotes`, and no `jobs` entry replacing the feed's: its schedule is
/// `ticks_per_second`, which its `seq` numbering relies on.
fn settings_of(config: &espoir::NodeConfig) -> Result<Settings, String> {
    let settings = Settings::from_config(config).map_err(|e| e.to_string())?;
    if config.jobs.iter().any(|job| job.name == FEED_JOB) {
        return Err(format!(
            "jobs: the job {FEED_JOB:?} is the quote feed, declared by the quote service itself; \
             set app.quotes.ticks_per_second (or app.quotes.feed) instead"
        ));
    }
    Ok(settings)
}

/// Validates `app.quotes` as [`service`] would, for `espoir check`.
///
/// # Errors
/// Why the settings are unusable.
pub fn check_config(config: &espoir::NodeConfig, _cluster: &[espoir::NodeConfig]) -> Result<(), String> {
    settings_of(config).map(drop).map_err(|e| format!("node {}: {e}", config.name))
}
