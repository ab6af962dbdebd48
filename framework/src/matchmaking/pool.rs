//! [`Matchmaker`]: the pool of waiting tickets and how matches form.
//!
//! A poll first lets go of the tickets that waited `max_wait`, then takes
//! the rest **oldest first**: each ticket still free anchors a group and
//! is compared with up to `scan` younger free tickets, in age order; a
//! younger ticket joins the group when its party fits the seats left and
//! the game's [`Criteria`] accepts it with every ticket already in the
//! group (each pair judged with the older one's wait, so criteria widen
//! as the anchor waits). A full group is a match at once; a group of at
//! least `min_players` is one once its anchor has waited `fill_wait`.
//! Oldest first means the players who waited longest are matched first,
//! and a party is never split.

use std::collections::{BTreeMap, HashMap, HashSet};

use tokio::time::Instant;

use super::criteria::Criteria;
use super::error::MatchError;
use super::settings::MatchSettings;
use super::ticket::{Ticket, TicketId};
use crate::id::SessionId;
use crate::rooms::RoomMember;

/// Tickets that play together: the parties, oldest ticket first.
#[derive(Debug, Clone)]
pub struct Match<P> {
    /// The tickets, oldest first.
    pub tickets: Vec<Ticket<P>>,
}

impl<P> Match<P> {
    /// Every player, party by party, oldest ticket first.
    pub fn players(&self) -> impl Iterator<Item = &RoomMember> {
        self.tickets.iter().flat_map(|t| t.players.iter())
    }

    /// Seats the match takes.
    pub fn size(&self) -> usize {
        self.tickets.iter().map(Ticket::size).sum()
    }
}

/// What one [`Matchmaker::poll`] did.
#[derive(Debug)]
pub struct Polled<P> {
    /// Matches formed, the one with the oldest ticket first.
    pub matches: Vec<Match<P>>,
    /// Tickets that waited `max_wait` unmatched and left the pool.
    pub expired: Vec<Ticket<P>>,
}

/// A pool of tickets waiting for matches. Not shared: the node that runs
/// matchmaking owns it (behind its own lock or task) and polls it on a
/// timer.
pub struct Matchmaker<P> {
    settings: MatchSettings,
    criteria: Box<dyn Criteria<P>>,
    /// By id, so in age order.
    tickets: BTreeMap<TicketId, Ticket<P>>,
    /// Which ticket each waiting player is in.
    by_session: HashMap<SessionId, TicketId>,
    next: u64,
}

impl<P> std::fmt::Debug for Matchmaker<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matchmaker")
            .field("settings", &self.settings)
            .field("tickets", &self.tickets.len())
            .finish_non_exhaustive()
    }
}

impl<P> Matchmaker<P> {
    /// An empty pool that matches by `criteria`.
    pub fn new(settings: MatchSettings, criteria: impl Criteria<P> + 'static) -> Matchmaker<P> {
        Matchmaker {
            settings,
            criteria: Box::new(criteria),
            tickets: BTreeMap::new(),
            by_session: HashMap::new(),
            next: 1,
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &MatchSettings {
        &self.settings
    }

    /// Tickets waiting.
    pub fn len(&self) -> usize {
        self.tickets.len()
    }

    /// No ticket waits.
    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }

    /// The waiting ticket `id`.
    pub fn get(&self, id: TicketId) -> Option<&Ticket<P>> {
        self.tickets.get(&id)
    }

    /// The ticket `session` waits in.
    pub fn ticket_of(&self, session: &SessionId) -> Option<TicketId> {
        self.by_session.get(session).copied()
    }

    /// Adds a party's ticket.
    ///
    /// # Errors
    /// [`MatchError::EmptyParty`], [`MatchError::PartyTooLarge`] (more
    /// players than a match), [`MatchError::AlreadyQueued`] (a player
    /// already waits, or is in the party twice), [`MatchError::Full`].
    pub fn add(
        &mut self,
        players: Vec<RoomMember>,
        properties: P,
        now: Instant,
    ) -> Result<TicketId, MatchError> {
        if players.is_empty() {
            return Err(MatchError::EmptyParty);
        }
        let max = self.settings.max_players;
        if players.len() > max {
            return Err(MatchError::PartyTooLarge { size: players.len(), max });
        }
        let mut seen = HashSet::with_capacity(players.len());
        for player in &players {
            if self.by_session.contains_key(&player.session) || !seen.insert(&player.session) {
                return Err(MatchError::AlreadyQueued(player.session.clone()));
            }
        }
        if self.tickets.len() >= self.settings.max_tickets {
            return Err(MatchError::Full { max: self.settings.max_tickets });
        }
        let id = TicketId(self.next);
        self.next += 1;
        for player in &players {
            self.by_session.insert(player.session.clone(), id);
        }
        self.tickets.insert(id, Ticket { id, players, properties, since: now });
        Ok(id)
    }

    /// Takes ticket `id` out of the pool.
    pub fn cancel(&mut self, id: TicketId) -> Option<Ticket<P>> {
        let ticket = self.tickets.remove(&id)?;
        for player in &ticket.players {
            self.by_session.remove(&player.session);
        }
        Some(ticket)
    }

    /// Takes the ticket `session` waits in out of the pool: a player who
    /// leaves (or disconnects) takes their whole party out.
    pub fn cancel_session(&mut self, session: &SessionId) -> Option<Ticket<P>> {
        let id = self.ticket_of(session)?;
        self.cancel(id)
    }

    /// Empties the pool, oldest ticket first: its node drains (or the
    /// game closes the queue), and the players are to be told to queue
    /// again elsewhere.
    pub fn drain(&mut self) -> Vec<Ticket<P>> {
        self.by_session.clear();
        std::mem::take(&mut self.tickets).into_values().collect()
    }

    /// Expires the tickets that waited too long, then forms the matches
    /// the pool allows at `now` (see the module's doc).
    pub fn poll(&mut self, now: Instant) -> Polled<P> {
        let expired = self.expire(now);
        let groups = self.groups(now);
        let matches = groups
            .into_iter()
            .map(|group| Match { tickets: group.into_iter().filter_map(|id| self.cancel(id)).collect() })
            .collect();
        Polled { matches, expired }
    }

    fn expire(&mut self, now: Instant) -> Vec<Ticket<P>> {
        let max_wait = self.settings.max_wait;
        let old: Vec<TicketId> =
            self.tickets.values().filter(|t| t.waited(now) >= max_wait).map(Ticket::id).collect();
        old.into_iter().filter_map(|id| self.cancel(id)).collect()
    }

    /// The groups that form at `now`, as ticket ids, oldest first.
    fn groups(&self, now: Instant) -> Vec<Vec<TicketId>> {
        let MatchSettings { min_players, max_players, fill_wait, scan, .. } = self.settings;
        let order: Vec<&Ticket<P>> = self.tickets.values().collect();
        let mut taken = vec![false; order.len()];
        let mut groups = Vec::new();
        for (i, anchor) in order.iter().enumerate() {
            if taken[i] {
                continue;
            }
            let mut group = vec![i];
            let mut seats = anchor.size();
            for (j, other) in order.iter().enumerate().skip(i + 1).filter(|(j, _)| !taken[*j]).take(scan) {
                if seats == max_players {
                    break;
                }
                if seats + other.size() > max_players {
                    continue;
                }
                let fits = group.iter().all(|&g| {
                    let older = order[g];
                    self.criteria.compatible(older, other, older.waited(now))
                });
                if fits {
                    group.push(j);
                    seats += other.size();
                }
            }
            let ready = seats == max_players || (seats >= min_players && anchor.waited(now) >= fill_wait);
            if ready {
                for &g in &group {
                    taken[g] = true;
                }
                groups.push(group.into_iter().map(|g| order[g].id).collect());
            }
        }
        groups
    }
}
