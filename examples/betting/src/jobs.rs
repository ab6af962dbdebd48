//! Background work: kickoff timers (the seed's noticesvr) and payout jobs
//! (its resultcenter), and the takeover sweep that finds the ones a dead
//! node left.
//!
//! All are driven by the store, not by memory: on start the service arms
//! a kickoff for every match still awaiting one and resumes the payout of
//! every match whose orders are due, so a restart misses nothing. On
//! several nodes, the cluster job `betting.recover` (one node per tick, see
//! `espoir`'s jobs) does the same every `recover_every`: a kickoff or a
//! payout pending on a node that died is armed or resumed by a survivor.
//! Doing it twice is harmless by construction: a kickoff is a
//! compare-and-set on the match's state (the second finds it closed), and
//! a payout only picks open orders, each settled in the transaction that
//! credits it, so nobody is paid twice. Bets at or after the start time
//! are refused by the store itself, so betting stops on time even before a
//! kickoff runs.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use espoir::{Scheduler, Shutdown};

use crate::app::{Betting, PushSink};
use crate::error::BetError;
use crate::model::Match;
use crate::state::Action;
use crate::views::{PUSH_SETTLEMENT, SettlementPush};

/// Pause before retrying a payout batch that failed (the disk, say).
const PAYOUT_RETRY: Duration = Duration::from_secs(1);

impl Betting {
    /// Starts pushes, kickoff timers and payout jobs, and resumes the work
    /// the store says is pending. Called once, by the node's start hook.
    pub fn start(&self, sink: Arc<dyn PushSink>, shutdown: &Shutdown) {
        let inner = &self.inner;
        if inner.shutdown.set(shutdown.clone()).is_err() {
            tracing::warn!("betting service started twice; ignoring the second start");
            return;
        }
        *inner.sink.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sink);
        let _ = inner.kickoffs.set(Scheduler::new(shutdown));
        let this = self.clone();
        shutdown.spawn(async move { this.resume().await });
        let this = self.clone();
        let stop = shutdown.clone();
        // The store finishes queued writes and lets go of its file when the
        // node stops, so a restart in the same process can open it again.
        shutdown.spawn(async move {
            stop.cancelled().await;
            this.inner.sink.write().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            this.inner.store.close().await;
        });
    }

    /// Re-arms kickoffs and restarts payouts from the store.
    async fn resume(&self) {
        let matches = match self.inner.store.matches().await {
            Ok(m) => m,
            Err(err) => {
                tracing::error!(error = %err, "cannot resume betting jobs: matches unreadable");
                return;
            }
        };
        let (mut kickoffs, mut payouts) = (0, 0);
        for m in &matches {
            if m.state.awaits_kickoff() {
                self.arm_kickoff(m);
                kickoffs += 1;
            }
            if m.state.needs_payout() {
                self.spawn_payout(m.id);
                payouts += 1;
            }
        }
        tracing::info!(matches = matches.len(), kickoffs, payouts, "betting jobs resumed from the store");
    }

    /// The `betting.recover` job: arms the kickoffs and resumes the payouts
    /// the store says are due and this node is not running. Run on one node
    /// per tick across the cluster.
    ///
    /// # Errors
    /// When the matches cannot be read (the job's run fails and is counted).
    pub async fn recover(&self) -> Result<(), String> {
        let matches = self.inner.store.matches().await.map_err(|e| format!("matches unreadable: {e}"))?;
        let (mut kickoffs, mut payouts) = (0, 0);
        for m in &matches {
            if m.state.awaits_kickoff() && self.inner.kickoffs.get().is_some_and(|k| !k.is_pending(&m.id)) {
                self.arm_kickoff(m);
                kickoffs += 1;
            }
            let running =
                self.inner.payouts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&m.id);
            if m.state.needs_payout() && !running {
                self.spawn_payout(m.id);
                payouts += 1;
            }
        }
        if kickoffs + payouts > 0 {
            tracing::info!(
                kickoffs,
                payouts,
                "betting jobs taken over from the store (armed here, or left by a node that died)"
            );
        }
        Ok(())
    }

    /// What a state change sets in motion.
    pub(crate) async fn after_transition(&self, m: &Match) {
        if let Some(kickoffs) = self.inner.kickoffs.get() {
            if m.state.awaits_kickoff() {
                self.arm_kickoff(m);
            } else {
                kickoffs.cancel(&m.id);
            }
        }
        self.push_state(m).await;
        if m.state.needs_payout() {
            self.spawn_payout(m.id);
        }
    }

    /// Closes betting on `m` at its start time.
    fn arm_kickoff(&self, m: &Match) {
        let Some(kickoffs) = self.inner.kickoffs.get() else { return };
        let at = UNIX_EPOCH + Duration::from_secs(m.start_time);
        let (this, id) = (self.clone(), m.id);
        let armed = kickoffs.at_system_time(id, at, move || async move {
            match this.apply(id, Action::Kickoff, None).await {
                Ok(_) => {}
                // The admin closed or settled it first: nothing to do.
                Err(BetError::IllegalTransition { .. }) => {}
                Err(err) => tracing::error!(id, error = %err, "kickoff failed"),
            }
        });
        match armed {
            Ok(()) => {
                let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
                tracing::debug!(id, in_secs = wait.as_secs(), "kickoff armed");
            }
            Err(err) => tracing::warn!(id, error = %err, "kickoff not armed"),
        }
    }

    /// Starts the payout job of a match, unless one is running.
    pub(crate) fn spawn_payout(&self, match_id: u64) {
        let Some(shutdown) = self.inner.shutdown.get() else { return };
        let fresh =
            self.inner.payouts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(match_id);
        if !fresh {
            return;
        }
        let this = self.clone();
        let stop = shutdown.clone();
        shutdown.spawn(async move {
            this.run_payout(match_id, &stop).await;
            this.inner.payouts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&match_id);
        });
    }

    /// Pays out a match batch by batch, pushing each bettor's result as its
    /// batch commits, until the match reaches its final state.
    async fn run_payout(&self, match_id: u64, shutdown: &Shutdown) {
        let batch_size = self.inner.settings.payout_batch;
        let (mut orders, started) = (0usize, tokio::time::Instant::now());
        while !shutdown.is_triggered() {
            match self.inner.store.pay_out(match_id, batch_size).await {
                Ok(batch) => {
                    orders += batch.payouts.len();
                    for payout in &batch.payouts {
                        self.push_to_users(&[payout.uid], PUSH_SETTLEMENT, &SettlementPush::from(payout));
                    }
                    if batch.done() {
                        tracing::info!(id = match_id, orders, elapsed = ?started.elapsed(), state = %batch.state,
                            "payout finished");
                        if let Ok(m) = self.inner.store.get_match(match_id).await {
                            self.after_transition(&m).await;
                        }
                        return;
                    }
                }
                Err(BetError::Closed) => return,
                Err(err) => {
                    tracing::error!(id = match_id, error = %err, "payout batch failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(PAYOUT_RETRY) => {}
                    }
                }
            }
        }
        tracing::info!(id = match_id, orders, "payout interrupted by shutdown; it resumes on the next start");
    }
}
