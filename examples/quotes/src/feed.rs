//! The quote feed: a recurring job (`quotes.feed`) that, at each tick,
//! publishes one quote per symbol to the symbol's topic, keyed by the
//! symbol. Every quote service node declares it; the cluster runs each
//! tick on one of them (`espoir`'s jobs), so with several nodes a tick is
//! published once, not once per node.
//!
//! A tick's quotes depend on its scheduled time only: `seq` is the tick's
//! number since the Unix epoch and the price comes from the pure
//! [`PriceWalk`], so whichever node runs a tick publishes the same quotes,
//! and `seq` goes on increasing by one when the ticks move to another node.
//! Ticks a node could not run on time (a stall, a move) are caught up, up
//! to [`CATCH_UP`] of them, so subscribers see no gap in `seq`.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use espoir::{CatchUp, JobRun, JobSpec, NodeBuilder, Schedule, TopicMessage};
use serde::{Deserialize, Serialize};

use crate::settings::Settings;
use crate::walk::PriceWalk;

/// Command of a tick frame.
pub const TICK: i32 = 61001;

/// The feed's job, and its job handler.
pub const FEED_JOB: &str = "quotes.feed";

/// How far back missed ticks are published late: a feed stalled longer
/// than this skips the older ones (a gap in `seq`) rather than flood its
/// subscribers with stale quotes.
pub const CATCH_UP: Duration = Duration::from_secs(30);

/// One quote, as subscribers receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// The symbol, e.g. `AAPL`.
    pub symbol: String,
    /// The price, rounded to the cent.
    pub price: f64,
    /// The tick's number since the Unix epoch (`ts` over the feed's
    /// period): one more at each tick, the same whichever node runs it. A
    /// client that subscribes again drops the ticks it has by it.
    pub seq: u64,
    /// The tick's scheduled time, milliseconds since the Unix epoch.
    pub ts: u64,
}

/// The topic of a symbol's ticks.
pub fn topic_of(symbol: &str) -> String {
    format!("quotes.{symbol}")
}

/// The message that publishes `tick`.
pub fn message_of(tick: &Tick) -> TopicMessage {
    let body = serde_json::to_vec(tick).unwrap_or_default();
    TopicMessage::new(topic_of(&tick.symbol), TICK, body).with_key(tick.symbol.clone())
}

/// The feed of a node: its symbols' walks and its period.
struct Feed {
    walks: Vec<(String, PriceWalk)>,
    period_ms: u64,
}

impl Feed {
    /// The quotes of the tick scheduled `ts` ms after the epoch.
    fn ticks(&self, ts: u64) -> impl Iterator<Item = Tick> + '_ {
        let seq = ts / self.period_ms;
        self.walks.iter().map(move |(symbol, walk)| Tick {
            symbol: symbol.clone(),
            price: walk.price_at(seq),
            seq,
            ts,
        })
    }

    fn run(&self, run: &JobRun) {
        let since = run.scheduled.duration_since(UNIX_EPOCH).unwrap_or_default();
        let ts = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
        for tick in self.ticks(ts) {
            if let Err(status) = run.ctx.publish_message(message_of(&tick)) {
                // No proxy linked yet, or the cluster is stopping: this
                // tick is lost for this symbol, the next may go through.
                tracing::debug!(symbol = %tick.symbol, seq = tick.seq, error = %status, "tick not published");
            }
        }
    }
}

/// Adds the feed's job and its handler to a quote service node.
pub(crate) fn wire(builder: NodeBuilder, settings: &Settings) -> NodeBuilder {
    let schedule = match Schedule::every(settings.period()) {
        Ok(schedule) => schedule,
        // Settings::validate checked it already.
        Err(err) => return builder.fail(format!("app.quotes.ticks_per_second: {err}")),
    };
    let period_ms = u64::try_from(settings.period().as_millis()).unwrap_or(u64::MAX).max(1);
    let walks = settings
        .symbols
        .iter()
        .map(|symbol| (symbol.clone(), PriceWalk::new(symbol, settings.seed)))
        .collect();
    let feed = Arc::new(Feed { walks, period_ms });
    let catch_up = usize::try_from(CATCH_UP.as_millis() / u128::from(period_ms)).unwrap_or(1).max(1);
    builder
        .job_handler(FEED_JOB, move |run| {
            let feed = Arc::clone(&feed);
            async move {
                feed.run(&run);
                Ok(())
            }
        })
        .job(JobSpec::new(FEED_JOB, schedule, FEED_JOB).catch_up(CatchUp::All(catch_up)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticks_quotes_depend_on_its_time_only_and_seq_counts_ticks() {
        let settings = Settings::default();
        let feed = |seed| Feed {
            walks: settings.symbols.iter().map(|s| (s.clone(), PriceWalk::new(s, seed))).collect(),
            period_ms: 250,
        };
        let (a, b) = (feed(1), feed(1));
        let ts = 1_750_000_000_000;
        let first: Vec<Tick> = a.ticks(ts).collect();
        assert_eq!(first, b.ticks(ts).collect::<Vec<_>>(), "another node publishes the same quotes");
        assert_eq!(first.len(), 5);
        assert!(first.iter().all(|t| t.seq == ts / 250 && t.ts == ts));
        let next: Vec<Tick> = a.ticks(ts + 250).collect();
        assert!(next.iter().all(|t| t.seq == first[0].seq + 1));
    }
}
