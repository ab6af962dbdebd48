//! A room's round, as its tick loop runs it ([`RoomGame`]): each tick
//! reads the seats (freeing the lapsed ones), starts the round once every
//! matched player came or gave up their seat, applies one move per
//! player present, ends the round when the coins are gone, the time is up,
//! no one is left or the node drains, and pushes the state to the room's
//! group.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use espoir::{Context, DisposeReason, Ended, RoomGame, RoomId, Seat, SeatLapse, Tick};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::board::Board;
use crate::host::{Host, Steer};
use crate::ids;

/// Where the round is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Matched players are still to come (their seats are reserved).
    Waiting,
    /// Playing, with this many ticks left.
    Playing(u64),
    /// The result was sent and the room disposed.
    Over,
}

/// How a player's seat shows on the page.
fn seat_word(seat: Option<&Seat>) -> &'static str {
    match seat {
        Some(Seat::Reserved { .. }) => "waiting",
        Some(Seat::Taken { .. }) => "here",
        Some(Seat::Away { .. }) => "away",
        None => "out",
    }
}

/// One room's round.
pub(crate) struct Round {
    host: Arc<Host>,
    ctx: Context,
    id: RoomId,
    group: String,
    board: Board,
    phase: Phase,
    /// Each player's seat as of the last tick.
    seats: BTreeMap<String, &'static str>,
}

impl Round {
    pub(crate) fn new(host: Arc<Host>, ctx: Context, id: RoomId, board: Board) -> Round {
        let group = id.group();
        Round { host, ctx, id, group, board, phase: Phase::Waiting, seats: BTreeMap::new() }
    }

    fn broadcast(&self, command: i32, body: &Value) {
        if let Err(err) = self.ctx.broadcast(&self.group, command, body) {
            tracing::warn!(%err, room = %self.id, command, "arena push failed");
        }
    }

    /// Frees lapsed seats (telling the room) and reads every player's.
    fn read_seats(&mut self) {
        let lapsed = {
            let mut tables = self.host.tables();
            let Some(table) = tables.get_mut(&self.id) else { return };
            let lapsed = table.seats.expire(Instant::now());
            self.seats = self
                .board
                .players()
                .keys()
                .map(|uid| (uid.clone(), seat_word(table.seats.get(uid))))
                .collect();
            lapsed
        };
        for (uid, why) in lapsed {
            let seat = match why {
                SeatLapse::NoShow => "no-show",
                SeatLapse::Gone => "gone",
            };
            tracing::info!(room = %self.id, player = %uid, seat, "seat freed");
            self.broadcast(ids::SEAT, &json!({ "room": self.id.as_str(), "player": uid, "seat": seat }));
        }
        // A freed seat (lapsed, or left) takes its player out of the round.
        let out: Vec<String> =
            self.seats.iter().filter(|(_, s)| **s == "out").map(|(u, _)| u.clone()).collect();
        for uid in out {
            self.board.take_out(&uid);
        }
    }

    /// The result: every player's score, best first, and the winner.
    fn result(&self, reason: &str) -> Value {
        let (scores, winner) = self.board.standings();
        let scores: Vec<Value> =
            scores.into_iter().map(|(name, score)| json!({ "name": name, "score": score })).collect();
        json!({ "room": self.id.as_str(), "reason": reason, "scores": scores, "winner": winner })
    }

    /// Sends the result and disposes the room. Its members stay in its
    /// group: a group operation issued now keeps no order with the
    /// broadcasts before it and could take them out before the result
    /// reaches them. A player's next join leaves the old group.
    fn finish(&mut self, reason: &str) {
        tracing::info!(room = %self.id, reason, "round over");
        self.broadcast(ids::RESULT, &self.result(reason));
        self.phase = Phase::Over;
        self.host.tables().remove(&self.id);
        if let Ok(room) = self.host.rooms().room(&self.id) {
            room.dispose(DisposeReason::Closed);
        }
    }

    fn snapshot(&self, tick: u64) -> Value {
        let (width, height) = self.board.size();
        let (phase, ticks_left) = match self.phase {
            Phase::Waiting => ("waiting", self.host.settings.round_ticks()),
            Phase::Playing(left) => ("playing", left),
            Phase::Over => ("over", 0),
        };
        let players: Vec<Value> = self
            .board
            .players()
            .iter()
            .map(|(uid, p)| {
                let seat = self.seats.get(uid).copied().unwrap_or("waiting");
                json!({ "name": uid, "x": p.cell.0, "y": p.cell.1, "score": p.score, "seat": seat })
            })
            .collect();
        let coins: Vec<[u16; 2]> = self.board.coins().iter().map(|c| [c.0, c.1]).collect();
        json!({
            "room": self.id.as_str(), "tick": tick, "phase": phase, "ticks_left": ticks_left,
            "width": width, "height": height, "coins": coins, "players": players,
        })
    }
}

impl RoomGame for Round {
    type Input = Steer;

    fn step(&mut self, tick: Tick<Steer>) -> bool {
        if self.phase == Phase::Over {
            return false;
        }
        self.read_seats();
        if self.phase == Phase::Waiting && !self.seats.values().any(|s| *s == "waiting") {
            self.phase = Phase::Playing(self.host.settings.round_ticks());
        }
        if let Phase::Playing(left) = self.phase {
            // One move per player per tick, the oldest, from players in
            // their seat: the board's speed is the server's, not the
            // client's key repeat.
            let mut moved = HashSet::new();
            for input in tick.inputs {
                let steer = input.input;
                if self.seats.get(&steer.uid) == Some(&"here") && moved.insert(steer.uid.clone()) {
                    self.board.steer(&steer.uid, steer.dir);
                }
            }
            self.phase = Phase::Playing(left.saturating_sub(1));
        }
        let end = if self.ctx.is_draining() {
            // The node is going away: the round ends now, with its scores,
            // rather than at a grace period's cut.
            Some("drained")
        } else if self.board.players_in() == 0 {
            Some("abandoned")
        } else if matches!(self.phase, Phase::Playing(_)) && self.board.coins().is_empty() {
            // Checked before the time: the last coin on the last tick wins.
            Some("coins")
        } else if self.phase == Phase::Playing(0) {
            Some("time")
        } else {
            None
        };
        if let Some(reason) = end {
            // The last state first, so the page shows the final board.
            self.broadcast(ids::STATE, &self.snapshot(tick.number));
            self.finish(reason);
        }
        true
    }

    fn push(&mut self, tick: u64) {
        if self.phase != Phase::Over {
            self.broadcast(ids::STATE, &self.snapshot(tick));
        }
    }

    fn ended(&mut self, ended: Ended) {
        // The room's own safety bounds (lifetime, empty timeout) ended it:
        // the round's rules normally end it first.
        self.phase = Phase::Over;
        self.host.tables().remove(&self.id);
        self.broadcast(ids::RESULT, &self.result(ended.reason.as_str()));
    }
}
