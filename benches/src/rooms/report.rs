//! What a rooms run measured, and the runs side by side as markdown, each
//! rooms row with its ratios to the baseline row of the same size.

use std::time::Duration;

use super::RoomsSpec;
use super::service::{HZ, MEMBERS, Mode};

/// One run's figures; the counts are over the measured window unless
/// named `_total`.
#[derive(Debug, Clone)]
pub struct RoomsReport {
    /// The run's shape.
    pub spec: RoomsSpec,
    /// The window's length.
    pub seconds: f64,
    /// Members that joined, that had their room's state, that failed to
    /// join or lost their connection (over the whole run).
    pub joined: u64,
    /// See `joined`.
    pub ready: u64,
    /// See `joined`.
    pub failed_members: u64,
    /// The first member's failure, if any.
    pub first_error: Option<String>,
    /// Loops started, and loops that stopped before the run's end.
    pub loops: u64,
    /// See `loops`.
    pub loops_stopped: u64,
    /// CPU time of the service's thread.
    pub service_cpu: Duration,
    /// CPU time of the whole process (route, proxy, members too).
    pub process_cpu: Duration,
    /// Ticks run, and ticks skipped for being more than a period late.
    pub ticks: u64,
    /// See `ticks`.
    pub skipped: u64,
    /// Broadcasts refused.
    pub push_errors: u64,
    /// State frames the members had, and their bytes (header and body).
    pub frames: u64,
    /// See `frames`.
    pub bytes: u64,
    /// State frames naming another room than the member's.
    pub wrong_room: u64,
    /// Ticks and frames since the start, at the window's end.
    pub ticks_total: u64,
    /// See `ticks_total`.
    pub frames_total: u64,
    /// Each tick's lateness behind its schedule, microseconds.
    pub late_p50_us: u64,
    /// See `late_p50_us`.
    pub late_p99_us: u64,
    /// See `late_p50_us`.
    pub late_max_us: u64,
}

impl RoomsReport {
    /// Service CPU time per tick, microseconds.
    pub fn cpu_per_tick_us(&self) -> f64 {
        self.service_cpu.as_secs_f64() * 1e6 / self.ticks.max(1) as f64
    }

    /// Service CPU time per room and second, milliseconds.
    pub fn cpu_per_room_second_ms(&self) -> f64 {
        self.service_cpu.as_secs_f64() * 1e3 / (self.spec.rooms as f64 * self.seconds.max(1e-9))
    }

    /// Share of one core the service used.
    pub fn service_core_share(&self) -> f64 {
        self.service_cpu.as_secs_f64() / self.seconds.max(1e-9)
    }

    /// State bytes the members had per second.
    pub fn bytes_per_second(&self) -> f64 {
        self.bytes as f64 / self.seconds.max(1e-9)
    }

    /// Frames the members had, against one per member per tick run.
    pub fn delivered(&self) -> f64 {
        self.frames as f64 / (self.ticks.max(1) * MEMBERS as u64) as f64
    }

    /// Every failure seen: members, loops stopped early, refused
    /// broadcasts, frames to the wrong room.
    pub fn errors(&self) -> u64 {
        self.failed_members + self.loops_stopped + self.push_errors + self.wrong_room
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}×", a / b) } else { "-".into() }
}

/// The runs as a markdown table; a rooms row's ratios are to the baseline
/// run with as many rooms.
pub fn markdown(reports: &[RoomsReport]) -> String {
    let mut out = format!(
        "| rooms | loops | ticks/s (expected {HZ}/room) | skipped | service CPU (one core) | CPU/tick µs | ratio | CPU/room·s ms | lateness p50 / p99 / max ms | p99 ratio | push KiB/s | push B/s per room | delivered | process CPU | errors |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for r in reports {
        let base = reports.iter().find(|b| b.spec.mode == Mode::Intervals && b.spec.rooms == r.spec.rooms);
        let (cpu_ratio, late_ratio) = match (r.spec.mode, base) {
            (Mode::Rooms, Some(b)) => (
                ratio(r.cpu_per_tick_us(), b.cpu_per_tick_us()),
                ratio(r.late_p99_us as f64, b.late_p99_us as f64),
            ),
            _ => ("1".into(), "1".into()),
        };
        let ms = |us: u64| us as f64 / 1000.0;
        out.push_str(&format!(
            "| {} | {} | {:.0} | {} | {:.0} % | {:.1} | {} | {:.3} | {:.2} / {:.2} / {:.2} | {} | {:.0} | {:.0} | {:.1} % | {:.0} % | {} |\n",
            r.spec.rooms,
            r.spec.mode.as_str(),
            r.ticks as f64 / r.seconds.max(1e-9),
            r.skipped,
            r.service_core_share() * 100.0,
            r.cpu_per_tick_us(),
            cpu_ratio,
            r.cpu_per_room_second_ms(),
            ms(r.late_p50_us),
            ms(r.late_p99_us),
            ms(r.late_max_us),
            late_ratio,
            r.bytes_per_second() / 1024.0,
            r.bytes_per_second() / r.spec.rooms as f64,
            r.delivered() * 100.0,
            r.process_cpu.as_secs_f64() / r.seconds.max(1e-9) * 100.0,
            r.errors(),
        ));
    }
    out
}
