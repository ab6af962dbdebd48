//! The datacenter (the seed's process of that name): a cluster job that
//! imports and updates matches from a JSON feed, a file or an `http://`
//! URL, so the admin finds them waiting for approval.
//!
//! * `parse`: the feed's format; pure.
//! * `merge`: create, update while unapproved, or leave a match; pure.
//! * `fetch`: reading the feed from its file or URL.
//!
//! Importing is idempotent: a match is keyed by the feed's id for it (a
//! unique key in the store), so a feed read twice, or by two nodes, makes
//! one match. A feed that cannot be read or is not a feed changes nothing
//! and fails the job's run (logged, counted, on `/jobs`); an entry that
//! does not validate is skipped and named, the others are imported.
//!
//! ```json5
//! "app": { "betting": { "feed": { "source": "http://feeds.local/matches.json", "every": 60 } } }
//! ```

mod fetch;
mod merge;
mod parse;

use std::time::Duration;

use espoir::{JobSpec, NodeBuilder, Schedule};
use serde::Deserialize;

use crate::app::Betting;
pub use merge::Imported;
pub(crate) use merge::{Plan, plan};
pub use parse::{FeedError, FeedMatch, MAX_FEED_BYTES, MAX_FEED_MATCHES, parse};

/// The cluster job (and handler) of the datacenter.
pub const DATACENTER_JOB: &str = "betting.datacenter";

/// `app.betting.feed`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSettings {
    /// A file path or an `http://` URL.
    pub source: String,
    /// Seconds between imports. Default 60.
    #[serde(default = "default_every", deserialize_with = "seconds")]
    pub every: Duration,
}

fn default_every() -> Duration {
    Duration::from_secs(60)
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| serde::de::Error::custom("a non-negative number of seconds"))
}

impl FeedSettings {
    /// Checks the source and the interval.
    ///
    /// # Errors
    /// `(key, reason)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        fetch::Source::parse(&self.source).map_err(|e| ("feed.source", e))?;
        Schedule::every(self.every).map_err(|e| ("feed.every", e.to_string()))?;
        Ok(())
    }
}

/// What one import did, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// New matches.
    pub created: usize,
    /// Unapproved matches changed.
    pub updated: usize,
    /// Already as the feed says.
    pub unchanged: usize,
    /// Approved matches the feed would change, left to the admin.
    pub locked: usize,
    /// Entries skipped (invalid), with why.
    pub skipped: Vec<String>,
}

impl Betting {
    /// Imports every match of a feed's bytes (the datacenter job's work).
    ///
    /// # Errors
    /// [`FeedError::Malformed`]; a store failure on an entry stops the
    /// import there (entries before it are imported; the next run redoes
    /// the rest, idempotently).
    pub async fn import_feed(&self, source_name: &str, bytes: &[u8]) -> Result<ImportReport, String> {
        let (matches, skipped) = parse(source_name, bytes).map_err(|e| e.to_string())?;
        let mut report = ImportReport { skipped, ..ImportReport::default() };
        for entry in &matches {
            let imported = self.inner.store.import_match(&entry.id, &entry.spec).await;
            match imported {
                Ok(Imported::Created(m)) => {
                    tracing::info!(id = m.id, feed_id = %entry.id, "match imported from the feed");
                    report.created += 1;
                }
                Ok(Imported::Updated(m)) => {
                    tracing::info!(id = m.id, feed_id = %entry.id, "match updated from the feed");
                    report.updated += 1;
                }
                Ok(Imported::Unchanged(_)) => report.unchanged += 1,
                Ok(Imported::Locked(m)) => {
                    tracing::debug!(id = m.id, feed_id = %entry.id, state = %m.state,
                        "the feed changes an approved match; left to the admin");
                    report.locked += 1;
                }
                Err(crate::BetError::Invalid { field, reason }) => {
                    report.skipped.push(format!("id {:?}: {field}: {reason}", entry.id));
                }
                Err(err) => return Err(format!("{source_name}: importing id {:?}: {err}", entry.id)),
            }
        }
        for reason in &report.skipped {
            tracing::warn!(source = source_name, "feed entry skipped: {reason}");
        }
        Ok(report)
    }
}

/// Adds the datacenter job to a betting node when `feed` is set.
pub(crate) fn wire(builder: NodeBuilder, betting: Betting, feed: Option<FeedSettings>) -> NodeBuilder {
    let Some(feed) = feed else { return builder };
    let (source, schedule) = match (fetch::Source::parse(&feed.source), Schedule::every(feed.every)) {
        (Ok(source), Ok(schedule)) => (source, schedule),
        (Err(e), _) => return builder.fail(format!("app.betting.feed.source: {e}")),
        (_, Err(e)) => return builder.fail(format!("app.betting.feed.every: {e}")),
    };
    builder
        .job_handler(DATACENTER_JOB, move |_run| {
            let (betting, source) = (betting.clone(), source.clone());
            async move {
                let bytes = source.read().await.map_err(|e| e.to_string())?;
                let report = betting.import_feed(&source.to_string(), &bytes).await?;
                tracing::info!(source = %source, created = report.created, updated = report.updated,
                    unchanged = report.unchanged, locked = report.locked, skipped = report.skipped.len(),
                    "feed imported");
                Ok(())
            }
        })
        .job(JobSpec::new(DATACENTER_JOB, schedule, DATACENTER_JOB))
}
