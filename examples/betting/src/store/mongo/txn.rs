//! Running a multi-document transaction with bounded retries.
//!
//! MongoDB aborts a transaction that writes a document another open
//! transaction has written (a *write conflict*) and labels the error
//! `TransientTransactionError`: the whole transaction may simply run again.
//! Two betting nodes placing bets for one user, or settling one match at
//! once, hit exactly this, so every transaction here is an attempt inside a
//! loop: on a transient error it is aborted, the loop waits a little (an
//! exponential backoff with jitter, so two nodes stop colliding in step)
//! and starts it again, at most [`MAX_ATTEMPTS`] times. A commit whose
//! outcome is unknown (`UnknownTransactionCommitResult`, a lost reply) is
//! retried as a commit, which the server makes idempotent.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering;
use std::time::Duration;

use mongodb::ClientSession;
use mongodb::error::{Error as MongoError, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::options::{Acknowledgment, ReadConcern, WriteConcern};

use super::Db;
use crate::error::BetError;

/// Attempts of one transaction before giving up with a storage error:
/// enough to ride out heavy contention between a few nodes (each attempt
/// waits up to [`MAX_BACKOFF`]), small enough that a caller learns of a
/// pathological livelock within seconds.
pub(super) const MAX_ATTEMPTS: u32 = 60;
/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(100);
/// From this attempt on (about 0.1 s of conflicts), a conflicting
/// transaction looks for transactions a crashed node left open
/// ([`super::orphans`]).
const REAP_FROM: u32 = 6;
/// Commits retried when their outcome is unknown.
const COMMIT_TRIES: u32 = 3;

/// Why one attempt of a transaction failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The domain refused the request: abort, report, never retry.
    Refused(BetError),
    /// MongoDB failed: retried when transient, reported otherwise.
    Mongo(MongoError),
}

impl From<MongoError> for Failure {
    fn from(e: MongoError) -> Failure {
        Failure::Mongo(e)
    }
}

impl From<BetError> for Failure {
    fn from(e: BetError) -> Failure {
        Failure::Refused(e)
    }
}

/// Majority write concern with journaling: acknowledged means durable on
/// a majority of the replica set, so a failover loses nothing reported.
pub(super) fn durable() -> WriteConcern {
    WriteConcern::builder().w(Acknowledgment::Majority).journal(true).build()
}

impl Db {
    /// A session with a snapshot transaction started on it.
    pub(super) async fn begin(&self) -> Result<ClientSession, MongoError> {
        let mut session = self.client.start_session().await?;
        session.start_transaction().read_concern(ReadConcern::snapshot()).write_concern(durable()).await?;
        Ok(session)
    }

    /// Ends one attempt: commits an `Ok` outcome, aborts a failed one.
    /// `Ok(None)` means "run the transaction again" (after the backoff).
    pub(super) async fn end<T>(
        &self,
        session: &mut ClientSession,
        outcome: Result<T, Failure>,
        attempt: &mut u32,
    ) -> Result<Option<T>, BetError> {
        let err = match outcome {
            Ok(value) => match commit(session).await {
                Ok(()) => return Ok(Some(value)),
                Err(err) => err,
            },
            Err(failure) => {
                // A transaction the server already aborted refuses the
                // abort; either way nothing of it remains.
                let _ = session.abort_transaction().await;
                match failure {
                    Failure::Refused(err) => return Err(err),
                    Failure::Mongo(err) => err,
                }
            }
        };
        self.retry_or_fail(err, attempt).await.map(|()| None)
    }

    /// After a failed attempt: waits and returns `Ok` when the error is
    /// transient and attempts remain, else the storage error to report.
    pub(super) async fn retry_or_fail(&self, err: MongoError, attempt: &mut u32) -> Result<(), BetError> {
        *attempt += 1;
        if !err.contains_label(TRANSIENT_TRANSACTION_ERROR) {
            return Err(self.storage(&err));
        }
        if *attempt >= MAX_ATTEMPTS {
            tracing::error!(attempts = *attempt, error = %self.scrub(&err.to_string()), "transaction gave up");
            return Err(BetError::Storage(format!(
                "{}: a transaction still conflicted after {MAX_ATTEMPTS} attempts; nothing was changed",
                self.place
            )));
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(attempt = *attempt, "transaction conflicted; retrying");
        if *attempt >= REAP_FROM {
            // Conflicting this long may mean a dead node's transaction still
            // holds the documents.
            self.reap_orphans().await;
        }
        tokio::time::sleep(backoff(*attempt)).await;
        Ok(())
    }
}

async fn commit(session: &mut ClientSession) -> Result<(), MongoError> {
    let mut tries = 0;
    loop {
        match session.commit_transaction().await {
            Err(err) if err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && tries < COMMIT_TRIES => {
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Exponential (1, 2, 4 … ms, capped) with full jitter.
fn backoff(attempt: u32) -> Duration {
    let cap = Duration::from_millis(1 << attempt.min(7)).min(MAX_BACKOFF);
    // RandomState is seeded per instance from the OS: jitter without a
    // random-number crate.
    let noise = std::collections::hash_map::RandomState::new().build_hasher().finish();
    cap.mul_f64((noise % 1000) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        for attempt in 1..=MAX_ATTEMPTS {
            assert!(backoff(attempt) <= MAX_BACKOFF);
        }
        assert!(backoff(1) <= Duration::from_millis(2));
    }
}
