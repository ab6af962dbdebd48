//! The claim ledger: who was granted which tick of which job. Pure data,
//! kept by routes (for the nodes linked to them) and by a node that has no
//! route (for itself).
//!
//! Rules, per job name:
//! * a tick is granted only if it is later than every tick granted or
//!   refused before (fencing: a tick id is the job's name plus its time,
//!   and they only grow), so no tick is ever granted twice, whoever asks
//!   and however late;
//! * a tick is refused while the previous grant is still running on a live
//!   holder (the job overran its interval); the tick counts as consumed;
//! * a holder that releases its tick, or whose last link to the ledger's
//!   node is lost, stops running (the latter counted as abandoned).
//!
//! The ledger keeps one record per job name, at most [`MAX_JOBS`].

use std::collections::HashMap;

use crate::id::NodeId;

/// Most job names one ledger tracks: a cluster declares jobs in code and
/// config, so this is far above any real count, and bounds what a confused
/// peer can make a route keep.
pub(crate) const MAX_JOBS: usize = 4096;

/// What the ledger knows of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// The latest tick granted or consumed, Unix ms.
    pub(crate) last_tick: i64,
    /// Who was granted the latest grant.
    pub(crate) holder: Option<NodeId>,
    /// The tick of that grant while it runs (a later tick may have been
    /// consumed meanwhile).
    pub(crate) running: Option<i64>,
    /// Ticks granted.
    pub(crate) granted: u64,
    /// Grants whose holder was lost before releasing them.
    pub(crate) abandoned: u64,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Run it. `previous` is the tick granted or consumed before this one
    /// (`None`: this ledger never saw the job), so the holder knows which
    /// ticks nobody claimed.
    Granted { previous: Option<i64> },
    /// Not yours: why.
    Refused(Refusal),
}

/// Why a tick was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Already granted (or consumed) to `holder`: another node runs it.
    Taken { holder: Option<NodeId> },
    /// The previous tick still runs on `holder`.
    Overrun { holder: NodeId },
    /// The ledger holds [`MAX_JOBS`] jobs already.
    Full,
}

/// Claims by job name.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    jobs: HashMap<String, Record>,
}

impl Ledger {
    /// `node` claims `tick` of `job`; `live` says whether a node still
    /// holds a link here (the current holder may have died).
    pub(crate) fn claim(
        &mut self,
        job: &str,
        tick: i64,
        node: &NodeId,
        live: impl Fn(&NodeId) -> bool,
    ) -> Decision {
        if !self.jobs.contains_key(job) && self.jobs.len() >= MAX_JOBS {
            return Decision::Refused(Refusal::Full);
        }
        let record = self.jobs.entry(job.to_owned()).or_insert(Record {
            last_tick: i64::MIN,
            holder: None,
            running: None,
            granted: 0,
            abandoned: 0,
        });
        if tick <= record.last_tick {
            return Decision::Refused(Refusal::Taken { holder: record.holder.clone() });
        }
        if record.running.is_some() {
            match &record.holder {
                Some(holder) if live(holder) => {
                    record.last_tick = tick;
                    return Decision::Refused(Refusal::Overrun { holder: holder.clone() });
                }
                _ => {
                    record.running = None;
                    record.abandoned += 1;
                }
            }
        }
        let previous = (record.last_tick != i64::MIN).then_some(record.last_tick);
        record.last_tick = tick;
        record.holder = Some(node.clone());
        record.running = Some(tick);
        record.granted += 1;
        Decision::Granted { previous }
    }

    /// `node` finished (or gave up) `tick` of `job`. A release of anything
    /// but the current grant changes nothing.
    pub(crate) fn release(&mut self, job: &str, tick: i64, node: &NodeId) {
        if let Some(r) = self.jobs.get_mut(job)
            && r.running == Some(tick)
            && r.holder.as_ref() == Some(node)
        {
            r.running = None;
        }
    }

    /// `node` is gone: its running grants end, counted as abandoned.
    /// Returns the jobs it held.
    pub(crate) fn lost(&mut self, node: &NodeId) -> Vec<String> {
        let mut held = Vec::new();
        for (name, r) in &mut self.jobs {
            if r.running.is_some() && r.holder.as_ref() == Some(node) {
                r.running = None;
                r.abandoned += 1;
                held.push(name.clone());
            }
        }
        held
    }

    /// Every record, by name.
    pub(crate) fn records(&self) -> Vec<(String, Record)> {
        let mut all: Vec<_> = self.jobs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(port: u16) -> NodeId {
        NodeId::of("127.0.0.1", port)
    }

    #[test]
    fn a_tick_is_granted_once_and_later_ticks_only() {
        let mut l = Ledger::default();
        let (a, b) = (node(1), node(2));
        assert_eq!(l.claim("j", 100, &a, |_| true), Decision::Granted { previous: None });
        assert_eq!(
            l.claim("j", 100, &b, |_| true),
            Decision::Refused(Refusal::Taken { holder: Some(a.clone()) })
        );
        l.release("j", 100, &a);
        assert_eq!(
            l.claim("j", 90, &b, |_| true),
            Decision::Refused(Refusal::Taken { holder: Some(a.clone()) })
        );
        assert_eq!(l.claim("j", 200, &b, |_| true), Decision::Granted { previous: Some(100) });
    }

    #[test]
    fn an_overrunning_tick_consumes_the_next_while_its_holder_lives() {
        let mut l = Ledger::default();
        let (a, b) = (node(1), node(2));
        l.claim("j", 100, &a, |_| true);
        assert_eq!(
            l.claim("j", 200, &b, |_| true),
            Decision::Refused(Refusal::Overrun { holder: a.clone() })
        );
        // The consumed tick is not granted later either.
        l.release("j", 100, &a);
        assert!(matches!(l.claim("j", 200, &b, |_| true), Decision::Refused(Refusal::Taken { .. })));
        // A dead holder's grant is abandoned, not waited for.
        assert_eq!(l.claim("j", 300, &a, |_| true), Decision::Granted { previous: Some(200) });
        assert_eq!(l.claim("j", 400, &b, |n| n != &a), Decision::Granted { previous: Some(300) });
        assert_eq!(l.records()[0].1.abandoned, 1);
    }

    #[test]
    fn a_lost_holder_releases_its_grants_and_stale_releases_do_nothing() {
        let mut l = Ledger::default();
        let (a, b) = (node(1), node(2));
        l.claim("j", 100, &a, |_| true);
        l.release("j", 100, &b);
        assert_eq!(l.records()[0].1.running, Some(100), "only the holder releases");
        assert_eq!(l.lost(&a), vec!["j".to_owned()]);
        assert_eq!(l.claim("j", 200, &b, |_| true), Decision::Granted { previous: Some(100) });
    }

    #[test]
    fn the_number_of_jobs_is_bounded() {
        let mut l = Ledger::default();
        for i in 0..MAX_JOBS {
            l.claim(&format!("j{i}"), 1, &node(1), |_| true);
        }
        assert_eq!(l.claim("one-more", 1, &node(1), |_| true), Decision::Refused(Refusal::Full));
        assert!(matches!(l.claim("j0", 2, &node(1), |_| true), Decision::Refused(Refusal::Overrun { .. })));
    }
}
