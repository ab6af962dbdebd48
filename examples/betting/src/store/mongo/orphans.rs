//! Transactions left open by a node that died.
//!
//! A betting node killed between a transaction's first write and its
//! commit leaves that transaction open on the server, holding its write
//! locks — the match's stake totals, its bettors' balances — until MongoDB
//! expires it after `transactionLifetimeLimitSeconds` (60 s by default).
//! Every other node's transaction on those documents conflicts until then,
//! so without help a crash would stop betting on that match for a minute.
//!
//! When a transaction keeps conflicting, the store asks the server
//! (`$currentOp` with idle sessions) for transactions opened by betting
//! stores of the same database that have been idle for [`ORPHAN_AFTER`],
//! and ends their sessions (`killSessions`), which aborts them. Our own
//! transactions send their next operation within milliseconds, so an idle
//! one is a dead node's (or one so stalled it would time out anyway).
//! Killing is always safe: an aborted transaction changed nothing, and a
//! live owner sees a transient error and runs it again.
//!
//! It needs the `inprog` and `killAnySession` privileges. Without them the
//! store says so once and falls back to retrying until the server expires
//! the orphan (`docs/operations.md` says how to shorten that).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc};
use mongodb::error::ErrorKind;
use mongodb::options::ReadConcern;

use super::Db;

/// How long a transaction must have sat idle to count as orphaned.
pub(super) const ORPHAN_AFTER: Duration = Duration::from_millis(500);
/// Least time between two searches by one store, so a burst of conflicting
/// transactions asks the server once.
const SEARCH_EVERY: Duration = Duration::from_millis(100);
/// Most sessions ended per search.
const MAX_KILLED: i64 = 1000;

/// The application name betting stores on `database` connect with; the
/// search touches nothing else on a shared server.
pub(super) fn app_name(database: &str) -> String {
    format!("espoir-betting/{database}")
}

/// One store's search state.
#[derive(Debug, Default)]
pub(super) struct Reaper {
    last: Mutex<Option<Instant>>,
    denied: AtomicBool,
}

impl Reaper {
    /// Claims the next search unless one ran within [`SEARCH_EVERY`] or
    /// the server refused us before.
    fn claim(&self) -> bool {
        if self.denied.load(Ordering::Relaxed) {
            return false;
        }
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < SEARCH_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// The `$currentOp` pipeline that finds this database's orphans.
fn orphan_search(app: &str) -> Vec<Document> {
    let idle_micros = i64::try_from(ORPHAN_AFTER.as_micros()).unwrap_or(i64::MAX);
    vec![
        doc! { "$currentOp": { "idleSessions": true, "allUsers": true, "idleConnections": false } },
        doc! { "$match": {
            "type": "idleSession",
            "appName": app,
            "transaction.timeInactiveMicros": { "$gte": idle_micros },
        } },
        doc! { "$limit": MAX_KILLED },
        doc! { "$project": { "_id": 0, "lsid": 1 } },
    ]
}

impl Db {
    /// Ends transactions of betting stores on this database that have sat
    /// idle for [`ORPHAN_AFTER`]; returns how many. Errors are logged, never
    /// returned: this only helps the retry loop along.
    pub(super) async fn reap_orphans(&self) -> usize {
        if !self.reaper.claim() {
            return 0;
        }
        match self.try_reap().await {
            Ok(0) => 0,
            Ok(killed) => {
                tracing::warn!(sessions = killed, "ended transactions left open by a stopped betting node");
                killed
            }
            Err(err) if is_unauthorized(&err) => {
                self.reaper.denied.store(true, Ordering::Relaxed);
                tracing::warn!(
                    error = %self.scrub(&err.to_string()),
                    "cannot end transactions left by a crashed node (needs the inprog and \
                     killAnySession privileges); conflicts with them last until the server expires them"
                );
                0
            }
            Err(err) => {
                tracing::debug!(error = %self.scrub(&err.to_string()), "search for orphaned transactions failed");
                0
            }
        }
    }

    async fn try_reap(&self) -> Result<usize, mongodb::error::Error> {
        let admin = self.client.database("admin");
        // $currentOp reads only with the local read concern, not the
        // client's majority default.
        let mut found = admin.aggregate(orphan_search(&self.app)).read_concern(ReadConcern::local()).await?;
        let mut sessions = Vec::new();
        while found.advance().await? {
            if let Ok(lsid) = found.deserialize_current()?.get_document("lsid") {
                sessions.push(lsid.clone());
            }
        }
        if sessions.is_empty() {
            return Ok(0);
        }
        let killed = sessions.len();
        admin.run_command(doc! { "killSessions": sessions }).await?;
        Ok(killed)
    }
}

fn is_unauthorized(err: &mongodb::error::Error) -> bool {
    // 13: Unauthorized.
    matches!(err.kind.as_ref(), ErrorKind::Command(e) if e.code == 13)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_spaced_and_stop_once_refused() {
        let reaper = Reaper::default();
        assert!(reaper.claim());
        assert!(!reaper.claim(), "a second search within the spacing waits");
        *reaper.last.lock().unwrap() = Some(Instant::now() - SEARCH_EVERY);
        assert!(reaper.claim());
        reaper.denied.store(true, Ordering::Relaxed);
        *reaper.last.lock().unwrap() = None;
        assert!(!reaper.claim(), "a refused store never asks again");
    }

    #[test]
    fn the_search_is_scoped_to_this_database_and_idle_transactions() {
        let pipeline = orphan_search(&app_name("bets"));
        let filter = pipeline[1].get_document("$match").unwrap();
        assert_eq!(filter.get_str("appName").unwrap(), "espoir-betting/bets");
        assert_eq!(filter.get_str("type").unwrap(), "idleSession");
        let idle = filter.get_document("transaction.timeInactiveMicros").unwrap();
        assert_eq!(idle.get_i64("$gte").unwrap(), 500_000);
    }
}
