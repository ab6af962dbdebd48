//! The matchmaking pool (`espoir::matchmaking::Matchmaker`), side by side
//! with a baseline that matches the same tickets first come, first served
//! by plain chunking, with no criteria.
//!
//! * **Throughput** (criterion): a pool of 1 000 or 10 000 waiting tickets
//!   (parties of 1 to 3, ratings spread over 0..3000) added and polled
//!   until every ticket is matched or left over: tickets per second
//!   through `add` + `poll`. The criteria are the docs' widening rating
//!   rule (a gap of 100 at once, 100 more per second waited), matches of
//!   2 to 4 players.
//! * **Time to match** (printed before criterion runs): tickets arrive at
//!   a given rate on a simulated clock (no wall time is waited or
//!   measured) and the pool is polled every 100 ms of it; each matched
//!   ticket's wait gives p50 and p99, with the rating spread inside the
//!   matches (what the criteria buy) and the tickets that expired.
//!
//! Arrivals are the same for both sides (a fixed-seed generator).

use std::collections::VecDeque;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use espoir::matchmaking::{MatchSettings, Matchmaker, Ticket};
use espoir::{NodeId, RoomMember, SessionId};
use tokio::time::Instant;

const MIN_PLAYERS: usize = 2;
const MAX_PLAYERS: usize = 4;
const FILL_WAIT: Duration = Duration::from_secs(5);
const MAX_WAIT: Duration = Duration::from_secs(60);
const POLL_EVERY: Duration = Duration::from_millis(100);
const RATINGS: u32 = 3000;

/// A ticket as it arrives: its party's size and its rating.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    size: usize,
    rating: u32,
}

/// A fixed-seed generator (xorshift), so both sides see the same arrivals.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Mostly solo players: 70 % alone, 20 % pairs, 10 % trios.
    fn arrival(&mut self) -> Arrival {
        let size = match self.next() % 10 {
            0..=6 => 1,
            7 | 8 => 2,
            _ => 3,
        };
        Arrival { size, rating: u32::try_from(self.next() % u64::from(RATINGS)).unwrap_or(0) }
    }
}

fn arrivals(n: usize) -> Vec<Arrival> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n).map(|_| rng.arrival()).collect()
}

fn widening(a: &Ticket<u32>, b: &Ticket<u32>, waited: Duration) -> bool {
    u128::from(a.properties().abs_diff(*b.properties())) <= 100 + 100 * waited.as_millis() / 1000
}

fn pool(max_tickets: usize) -> Matchmaker<u32> {
    let settings = MatchSettings::new(MIN_PLAYERS, MAX_PLAYERS)
        .and_then(|s| s.fill_wait(FILL_WAIT).max_wait(MAX_WAIT).max_tickets(max_tickets))
        .expect("settings in bounds");
    Matchmaker::new(settings, widening)
}

/// Player sessions, numbered from `next`.
fn party(size: usize, next: &mut u64) -> Vec<RoomMember> {
    let proxy = NodeId::of("127.0.0.1", 7000);
    (0..size)
        .map(|_| {
            *next += 1;
            RoomMember { session: SessionId::new(proxy.clone(), *next), uid: None }
        })
        .collect()
}

/// The baseline: tickets in arrival order, chunked first fit into matches
/// of up to `MAX_PLAYERS` seats, a party never split; a match short of
/// `MAX_PLAYERS` forms once its oldest ticket waited `FILL_WAIT`, as the
/// pool's does. No criteria: whoever comes next.
#[derive(Default)]
struct Fifo {
    queue: VecDeque<(Vec<RoomMember>, u32, Instant)>,
}

/// One match of the baseline: its tickets' ratings and arrival times, and
/// its players.
type FifoMatch = (Vec<(u32, Instant)>, usize);

impl Fifo {
    fn add(&mut self, players: Vec<RoomMember>, rating: u32, now: Instant) {
        self.queue.push_back((players, rating, now));
    }

    /// First fit in arrival order: the oldest ticket, then each next one
    /// whose party fits the seats left (one that does not waits for the
    /// next match).
    fn poll(&mut self, now: Instant) -> Vec<FifoMatch> {
        let mut matches = Vec::new();
        loop {
            let mut seats = 0;
            let mut picked = Vec::with_capacity(MAX_PLAYERS);
            for (i, (players, _, _)) in self.queue.iter().enumerate() {
                if seats + players.len() <= MAX_PLAYERS {
                    seats += players.len();
                    picked.push(i);
                }
                if seats == MAX_PLAYERS {
                    break;
                }
            }
            let oldest_waited = self.queue.front().map(|(_, _, since)| now.saturating_duration_since(*since));
            let ready = seats == MAX_PLAYERS
                || (seats >= MIN_PLAYERS && oldest_waited.is_some_and(|w| w >= FILL_WAIT));
            if !ready {
                return matches;
            }
            let mut m = Vec::with_capacity(picked.len());
            for i in picked.into_iter().rev() {
                if let Some((_, rating, since)) = self.queue.remove(i) {
                    m.push((rating, since));
                }
            }
            m.reverse();
            matches.push((m, seats));
        }
    }
}

/// What a simulated run measured.
#[derive(Debug, Default)]
struct Waits {
    waits_ms: Vec<u64>,
    spreads: Vec<u32>,
    expired: usize,
    matches: usize,
    players: usize,
}

impl Waits {
    fn record(&mut self, tickets: &[(u32, Instant)], now: Instant, players: usize) {
        for (_, since) in tickets {
            self.waits_ms.push(u64::try_from(now.saturating_duration_since(*since).as_millis()).unwrap_or(0));
        }
        let (lo, hi) = tickets.iter().fold((u32::MAX, 0), |(lo, hi), (r, _)| (lo.min(*r), hi.max(*r)));
        self.spreads.push(hi.saturating_sub(lo));
        self.matches += 1;
        self.players += players;
    }

    fn row(mut self, side: &str, rate: f64) -> String {
        self.waits_ms.sort_unstable();
        self.spreads.sort_unstable();
        let pct =
            |v: &[u64], p: f64| v.get(((v.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied();
        let spreads: Vec<u64> = self.spreads.iter().map(|s| u64::from(*s)).collect();
        let ms = |v: Option<u64>| v.map_or("-".into(), |v| format!("{:.2}", v as f64 / 1000.0));
        format!(
            "| {rate} | {side} | {} | {} | {} | {:.2} | {} | {} | {} |",
            self.waits_ms.len(),
            ms(pct(&self.waits_ms, 0.50)),
            ms(pct(&self.waits_ms, 0.99)),
            self.players as f64 / self.matches.max(1) as f64,
            pct(&spreads, 0.50).unwrap_or(0),
            pct(&spreads, 0.99).unwrap_or(0),
            self.expired,
        )
    }
}

/// Tickets arriving at `rate` a second for `seconds` of simulated time,
/// both sides polled every `POLL_EVERY`, then as long again to drain.
fn simulate(rate: f64, seconds: u64) -> (Waits, Waits) {
    let t0 = Instant::now();
    let total = (rate * seconds as f64) as usize;
    let arrivals = arrivals(total);
    let mut mm = pool(1_000_000);
    let mut fifo = Fifo::default();
    let (mut pooled, mut fifoed) = (Waits::default(), Waits::default());
    let mut next = 0;
    let mut arrived = 0;
    let mut now = t0;
    while now < t0 + Duration::from_secs(seconds * 2) {
        now += POLL_EVERY;
        let due = ((now - t0).as_secs_f64() * rate) as usize;
        for a in &arrivals[arrived..due.min(total)] {
            // Ticket times are spread over the poll period, as arrivals are.
            let at = t0 + Duration::from_secs_f64(arrived as f64 / rate);
            mm.add(party(a.size, &mut next), a.rating, at).expect("the pool has room");
            fifo.add(party(a.size, &mut next), a.rating, at);
            arrived += 1;
        }
        let polled = mm.poll(now);
        pooled.expired += polled.expired.len();
        for m in polled.matches {
            let tickets: Vec<(u32, Instant)> =
                m.tickets.iter().map(|t| (*t.properties(), t.since())).collect();
            pooled.record(&tickets, now, m.size());
        }
        for (m, players) in fifo.poll(now) {
            fifoed.record(&m, now, players);
        }
    }
    (pooled, fifoed)
}

fn time_to_match() {
    println!(
        "\ntime to match (simulated clock, polled every 100 ms, 2-4 players, fill wait 5 s, max wait 60 s)\n"
    );
    println!(
        "| tickets/s | side | matched tickets | wait p50 s | wait p99 s | players/match | rating spread p50 | rating spread p99 | expired |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for rate in [5.0, 50.0, 500.0] {
        let (pooled, fifo) = simulate(rate, 120);
        println!("{}", pooled.row("pool, widening rating", rate));
        println!("{}", fifo.row("FIFO chunks, no criteria", rate));
    }
    println!();
}

/// Adds every arrival at `t0` and polls until nothing more forms: at
/// `t0` (full matches), then after the fill wait (smaller ones), then
/// every second until the widening criteria stop adding matches.
fn drain_pool(arrivals: &[Arrival]) -> usize {
    let t0 = Instant::now();
    let mut mm = pool(arrivals.len());
    let mut next = 0;
    for a in arrivals {
        mm.add(party(a.size, &mut next), a.rating, t0).expect("the pool has room");
    }
    let mut matched = 0;
    for at in [Duration::ZERO, FILL_WAIT, FILL_WAIT * 2, FILL_WAIT * 4] {
        matched += mm.poll(t0 + at).matches.iter().map(|m| m.tickets.len()).sum::<usize>();
    }
    matched
}

fn drain_fifo(arrivals: &[Arrival]) -> usize {
    let t0 = Instant::now();
    let mut fifo = Fifo::default();
    let mut next = 0;
    for a in arrivals {
        fifo.add(party(a.size, &mut next), a.rating, t0);
    }
    let mut matched = 0;
    for at in [Duration::ZERO, FILL_WAIT, FILL_WAIT * 2, FILL_WAIT * 4] {
        matched += fifo.poll(t0 + at).iter().map(|(m, _)| m.len()).sum::<usize>();
    }
    matched
}

fn main() {
    time_to_match();
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let mut group = c.benchmark_group("matchmaking/add_and_poll");
    for n in [1_000, 10_000] {
        let tickets = arrivals(n);
        println!(
            "pool of {n}: the pool matches {} tickets, FIFO {}",
            drain_pool(&tickets),
            drain_fifo(&tickets)
        );
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("pool_widening", n), &tickets, |b, t| {
            b.iter_batched(|| t.clone(), |t| drain_pool(&t), BatchSize::LargeInput);
        });
        group.bench_with_input(BenchmarkId::new("fifo_chunks", n), &tickets, |b, t| {
            b.iter_batched(|| t.clone(), |t| drain_fifo(&t), BatchSize::LargeInput);
        });
    }
    group.finish();
    c.final_summary();
}
