//! The matchmaking task: polls the pool on a timer; each match becomes a
//! room with a seat reserved per player and its tick loop running, and
//! its players are told where to join. Tickets that waited too long are
//! told so.

use std::sync::Arc;
use std::time::Duration;

use espoir::matchmaking::{Match, Polled, Ticket};
use espoir::{Context, PushMode, RoomId, RoomSettings, Seats, Shutdown, Status, TickRate, run_tick_loop};
use serde_json::json;
use tokio::time::{Instant, MissedTickBehavior};

use crate::board::Board;
use crate::host::{Host, Table};
use crate::ids;
use crate::round::Round;
use crate::settings::Settings;

/// How often the pool is polled: a match forms within this of being
/// possible.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// Polls the pool until the node stops.
pub(crate) async fn run(host: Arc<Host>, ctx: Context, shutdown: Shutdown) {
    let mut every = tokio::time::interval(POLL_EVERY);
    every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Held until the waiting players are told of a drain, so the node does
    // not stop before.
    let mut hold = Some(ctx.hold_drain());
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = ctx.draining(), if hold.is_some() => {}
            _ = every.tick() => {}
        }
        // A draining node starts no new rounds: its waiting players are
        // told to queue again, which takes them to another service (a
        // draining node refuses what is not pinned to it).
        if ctx.is_draining() {
            for ticket in host.pool().drain() {
                tell(&ctx, &ticket, "draining");
            }
            hold = None;
            continue;
        }
        let now = Instant::now();
        let Polled { matches, expired } = host.pool().poll(now);
        for ticket in expired {
            tell(&ctx, &ticket, "expired");
        }
        for matched in matches {
            if let Err(err) = open(&host, &ctx, &shutdown, &matched, now) {
                tracing::warn!(%err, "a match could not get a room");
                for player in matched.players() {
                    let _ = ctx.push(&player.session, ids::MATCH_FAILED, &json!({ "msg": err.message() }));
                }
            }
        }
        reap(&host, &ctx, now);
    }
}

/// Tells a ticket's players that it left the pool unmatched, and why
/// (`expired`: no match within `max_wait_ms`; `draining`: the node
/// drains): they may queue again.
fn tell(ctx: &Context, ticket: &Ticket<String>, reason: &str) {
    let body = json!({ "ticket": ticket.id().get(), "mode": ticket.properties(), "reason": reason });
    for player in ticket.players() {
        if let Err(err) = ctx.push(&player.session, ids::QUEUE_EXPIRED, &body) {
            tracing::debug!(%err, "player gone before its ticket left the pool");
        }
    }
}

/// Forgets disposed rooms; tells the members of rooms that the room's
/// own safety bounds ended (the round normally ends first).
fn reap(host: &Host, ctx: &Context, now: Instant) {
    let ended = host.rooms().poll(now);
    for (id, end) in ended {
        tracing::info!(room = %id, reason = end.reason.as_str(), "room ended by its bounds");
        host.tables().remove(&id);
        let body =
            json!({ "room": id.as_str(), "reason": end.reason.as_str(), "scores": [], "winner": null });
        if let Err(err) = ctx.broadcast(&id.group(), ids::RESULT, &body) {
            tracing::warn!(%err, room = %id, "could not tell the room's members");
        }
    }
}

/// Makes the match's room, reserves its seats, starts its round and tells
/// its players.
fn open(
    host: &Arc<Host>,
    ctx: &Context,
    shutdown: &Shutdown,
    matched: &Match<String>,
    now: Instant,
) -> Result<(), Status> {
    let s: &Settings = &host.settings;
    let number = host.next_room();
    let id = RoomId::new(format!("arena-{number}"))?;
    let players: Vec<String> = matched.players().filter_map(|p| p.uid.clone()).collect();
    if players.len() != matched.size() {
        return Err(Status::internal("a matched player was not logged in"));
    }
    let board = Board::new(s.width, s.height, &players, s.coins, s.seed ^ number)
        .map_err(|e| Status::internal(e.to_string()))?;
    // The round ends by its own rules well within these: they only bound
    // a room whose loop could not end it.
    let waits = Settings::ms(s.reservation_ms.max(s.reconnect_window_ms));
    let bound = waits + Settings::ms(s.round_ms) + Duration::from_secs(60);
    let settings = RoomSettings::new(players.len())?
        .ticking(TickRate::hz(s.tick_hz)?, PushMode::EveryTick)
        .empty_timeout(bound)
        .max_lifetime(bound + waits);
    let mut seats = Seats::new(players.len());
    for uid in &players {
        seats.reserve(uid, now + Settings::ms(s.reservation_ms))?;
    }
    {
        let mut tables = host.tables();
        host.rooms().create(id.clone(), settings, now)?;
        tables.insert(id.clone(), Table { seats, players: players.clone() });
    }
    let round = Round::new(Arc::clone(host), ctx.clone(), id.clone(), board);
    // The loop holds the node's drain: a round in play finishes first.
    let hold = ctx.hold_drain();
    let (rooms, loop_id, loop_shutdown) = (Arc::clone(&host.rooms), id.clone(), shutdown.clone());
    shutdown.spawn(async move {
        let end = run_tick_loop(rooms, loop_id, round, loop_shutdown).await;
        tracing::debug!(?end, "arena round loop ended");
        drop(hold);
    });
    let mode = matched.tickets.first().map(|t| t.properties().clone()).unwrap_or_default();
    tracing::info!(room = %id, ?players, %mode, "match made");
    let body = json!({ "room": id.as_str(), "players": players, "mode": mode });
    for player in matched.players() {
        if let Err(err) = ctx.push(&player.session, ids::MATCHED, &body) {
            // The seat waits its reservation: a player who reconnects in
            // time can still join by the room's name.
            tracing::debug!(%err, room = %id, "matched player unreachable");
        }
    }
    Ok(())
}
