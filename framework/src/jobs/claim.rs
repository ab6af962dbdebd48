//! Claiming ticks: a node asks the routes of its config for each tick it
//! means to run, and runs it only with a majority of them granting it.
//! Routes answer from their [`Ledger`].
//!
//! Two nodes cannot both hold a majority of the same routes' grants for
//! one tick, and a route grants a tick once, so a tick runs at most once in
//! the cluster as long as the nodes sharing a job list the same routes.
//! A node without routes in its config (alone, or itself a route) claims
//! from its own ledger: it coordinates with nobody.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};

use super::ledger::{Decision, Ledger, Refusal};
use crate::id::NodeId;
use crate::node::NodeState;
use crate::proto::{Envelope, JobClaim, JobGrant, Kind, NodeType};
use crate::transport::Link;

/// How long a claim waits for a route: a tick not granted by then is not
/// run here (another node, or nobody, runs it).
const CLAIM_DEADLINE: Duration = Duration::from_secs(2);

/// What became of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Run it; `previous` is the tick granted before (see [`Decision`]).
    Granted { previous: Option<i64> },
    /// Another node has it, or the previous run overran: not an error.
    Elsewhere(String),
    /// Not enough routes answered: nobody may have run it.
    Unclaimed(String),
}

/// Where a node claims its ticks.
pub(crate) trait Claims: Send + Sync + 'static {
    fn claim(&self, job: &str, tick: i64) -> BoxFuture<'static, Outcome>;
    fn release(&self, job: &str, tick: i64) -> BoxFuture<'static, ()>;
}

/// Claims from a ledger in this process (tests: several runners as if
/// on several nodes).
#[cfg(test)]
pub(crate) struct LocalClaims {
    pub(crate) ledger: Arc<Mutex<Ledger>>,
    pub(crate) me: NodeId,
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    // Every ledger operation is a few map updates; a poisoned lock holds a
    // consistent ledger.
    ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
impl Claims for LocalClaims {
    fn claim(&self, job: &str, tick: i64) -> BoxFuture<'static, Outcome> {
        let decision = lock(&self.ledger).claim(job, tick, &self.me, |_| true);
        Box::pin(async move { outcome(decision) })
    }

    fn release(&self, job: &str, tick: i64) -> BoxFuture<'static, ()> {
        lock(&self.ledger).release(job, tick, &self.me);
        Box::pin(async {})
    }
}

fn outcome(decision: Decision) -> Outcome {
    match decision {
        Decision::Granted { previous } => Outcome::Granted { previous },
        Decision::Refused(refusal) => Outcome::Elsewhere(describe(&refusal)),
    }
}

fn describe(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Taken { holder: Some(h) } => format!("tick granted to node {h}"),
        Refusal::Taken { holder: None } => "tick already past".to_owned(),
        Refusal::Overrun { holder } => format!("the previous tick still runs on node {holder}"),
        Refusal::Full => format!("the route tracks {} jobs already", super::ledger::MAX_JOBS),
    }
}

/// Claims from the routes of the node's live config (or from its own
/// ledger when it lists none).
pub(crate) struct RouteClaims {
    pub(crate) node: Weak<NodeState>,
}

impl RouteClaims {
    fn routes(shared: &NodeState) -> Vec<NodeId> {
        if shared.node_type() == NodeType::Route {
            return Vec::new();
        }
        let config = shared.router.live_config();
        let mut ids: Vec<NodeId> = config
            .remote_ports
            .iter()
            .filter(|p| p.node_type == NodeType::Route)
            .map(|p| p.node_id())
            .collect();
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ids.dedup();
        ids
    }
}

fn request(job: &str, tick: i64, release: bool, route: &NodeId) -> Envelope {
    Envelope {
        kind: Kind::Request as i32,
        to: route.as_str().to_owned().into(),
        job_claim: Some(JobClaim { job: job.to_owned(), tick_ms: tick, release }),
        ..Envelope::default()
    }
}

async fn ask(
    shared: Arc<NodeState>,
    route: NodeId,
    job: String,
    tick: i64,
    release: bool,
) -> Result<JobGrant, String> {
    let link: Link =
        shared.router.endpoint.link(&route).ok_or_else(|| format!("route {route} not linked"))?;
    let env = request(&job, tick, release, &route);
    let response = shared
        .router
        .endpoint
        .call(&link, env, CLAIM_DEADLINE)
        .await
        .map_err(|e| format!("route {route}: {e}"))?;
    response.job_grant.ok_or_else(|| format!("route {route} does not grant job ticks (an older version?)"))
}

impl Claims for RouteClaims {
    fn claim(&self, job: &str, tick: i64) -> BoxFuture<'static, Outcome> {
        let node = self.node.clone();
        let job = job.to_owned();
        Box::pin(async move {
            let Some(shared) = node.upgrade() else { return Outcome::Unclaimed("node stopped".into()) };
            let routes = RouteClaims::routes(&shared);
            if routes.is_empty() {
                let decision = lock(&shared.jobs.ledger).claim(&job, tick, shared.id(), |_| true);
                return outcome(decision);
            }
            let quorum = routes.len() / 2 + 1;
            let asks = routes.iter().map(|r| ask(Arc::clone(&shared), r.clone(), job.clone(), tick, false));
            let answers = join_all(asks).await;
            let (mut granted, mut unanswered) = (Vec::new(), Vec::new());
            let (mut previous, mut refusals, mut failures) = (None::<i64>, Vec::new(), Vec::new());
            for (route, answer) in routes.iter().zip(answers) {
                match answer {
                    Ok(g) if g.granted => {
                        previous = previous.max(g.previous_ms);
                        granted.push(route.clone());
                    }
                    Ok(g) => refusals.push(g.reason),
                    Err(e) => {
                        failures.push(e);
                        unanswered.push(route.clone());
                    }
                }
            }
            if granted.len() >= quorum {
                return Outcome::Granted { previous };
            }
            // A minority of grants runs nothing: hand them back so those
            // routes do not wait for a run that never comes. A route that
            // did not answer in time may have granted the tick since, and
            // would then refuse every later tick as an overrun for as long
            // as this node stays linked: hand it back there too (a release
            // of a tick a route did not grant changes nothing).
            let backs = granted
                .into_iter()
                .chain(unanswered)
                .map(|r| ask(Arc::clone(&shared), r, job.clone(), tick, true));
            join_all(backs).await;
            if let Some(reason) = refusals.into_iter().next() {
                Outcome::Elsewhere(reason)
            } else {
                Outcome::Unclaimed(format!(
                    "no majority of {} route(s): {}",
                    routes.len(),
                    failures.join("; ")
                ))
            }
        })
    }

    fn release(&self, job: &str, tick: i64) -> BoxFuture<'static, ()> {
        let node = self.node.clone();
        let job = job.to_owned();
        Box::pin(async move {
            let Some(shared) = node.upgrade() else { return };
            let routes = RouteClaims::routes(&shared);
            if routes.is_empty() {
                lock(&shared.jobs.ledger).release(&job, tick, shared.id());
                return;
            }
            let backs = routes.into_iter().map(|r| ask(Arc::clone(&shared), r, job.clone(), tick, true));
            for result in join_all(backs).await {
                if let Err(err) = result {
                    // The route releases it anyway when it loses our link.
                    tracing::debug!(job, error = %err, "job tick release not delivered");
                }
            }
        })
    }
}

/// A route's side: answers a claim (or release) from the node on `link`.
/// The claimant is the link's proven peer, never a name in the message.
pub(crate) fn on_claim(shared: &NodeState, link: &Link, envelope: &Envelope, claim: &JobClaim) {
    let claimant = link.peer_id();
    let grant = if shared.node_type() != NodeType::Route {
        JobGrant { granted: false, previous_ms: None, reason: "only routes grant job ticks".into() }
    } else if claim.job.is_empty() || claim.job.len() > 128 {
        JobGrant { granted: false, previous_ms: None, reason: "invalid job name".into() }
    } else if claim.release {
        lock(&shared.jobs.ledger).release(&claim.job, claim.tick_ms, claimant);
        JobGrant { granted: true, previous_ms: None, reason: String::new() }
    } else {
        let endpoint = &shared.router.endpoint;
        let decision = lock(&shared.jobs.ledger)
            .claim(&claim.job, claim.tick_ms, claimant, |id| endpoint.link(id).is_some());
        match decision {
            Decision::Granted { previous } => {
                tracing::debug!(job = %claim.job, tick_ms = claim.tick_ms, node = %claimant, "job tick granted");
                JobGrant { granted: true, previous_ms: previous, reason: String::new() }
            }
            Decision::Refused(refusal) => {
                JobGrant { granted: false, previous_ms: None, reason: describe(&refusal) }
            }
        }
    };
    if envelope.kind() != Kind::Request {
        return;
    }
    let mut response = shared.router.endpoint.response_to(envelope, bytes::Bytes::new());
    response.job_grant = Some(grant);
    if let Err(err) = link.send(response) {
        tracing::debug!(peer = %claimant, error = %err, "job grant not sent");
    }
}

/// A route lost its last link to `peer`: its running ticks end.
pub(crate) fn peer_lost(shared: &NodeState, peer: &NodeId) {
    if shared.node_type() != NodeType::Route {
        return;
    }
    let held = lock(&shared.jobs.ledger).lost(peer);
    if !held.is_empty() {
        tracing::warn!(%peer, jobs = ?held, "node lost while running job ticks; the next ticks go to others");
    }
}
