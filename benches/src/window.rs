//! What the servers spent over a measured window: CPU time from `/proc`
//! and system calls counted by `perf stat`, for the same seconds the load
//! generator counts round trips in.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::procs::ServerProcs;

/// The tracepoint every system call enters through.
const SYSCALL_EVENT: &str = "raw_syscalls:sys_enter";

/// System calls counted over a window, or why they were not.
#[derive(Debug, Clone, PartialEq)]
pub enum Syscalls {
    /// `count` calls while perf ran for `over` (its own wall time).
    Counted {
        /// System calls made by the watched processes.
        count: u64,
        /// How long perf watched them.
        over: Duration,
    },
    /// Not counted; the reason is shown in place of the figure.
    Unavailable(String),
}

impl Syscalls {
    /// Calls per second, when counted.
    pub fn per_second(&self) -> Option<f64> {
        match self {
            Syscalls::Counted { count, over } => Some(*count as f64 / over.as_secs_f64().max(1e-9)),
            Syscalls::Unavailable(_) => None,
        }
    }
}

/// The servers' and the generator's costs over one window.
#[derive(Debug, Clone)]
pub struct WindowStats {
    /// CPU time of the server processes, summed.
    pub server_cpu: Duration,
    /// CPU time of this process (the load generator).
    pub generator_cpu: Duration,
    /// Wall time between the two CPU samples.
    pub wall: Duration,
    /// System calls of the server processes.
    pub syscalls: Syscalls,
}

impl WindowStats {
    /// Server cores kept busy on average.
    pub fn server_cores(&self) -> f64 {
        self.server_cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }

    /// Generator cores kept busy on average.
    pub fn generator_cores(&self) -> f64 {
        self.generator_cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }

    /// Server CPU time per operation, given the operations per second over
    /// the same window.
    pub fn cpu_per_op(&self, ops_per_second: f64) -> Duration {
        Duration::from_secs_f64(self.server_cores() / ops_per_second.max(1e-9))
    }

    /// Server system calls per operation, when counted.
    pub fn syscalls_per_op(&self, ops_per_second: f64) -> Option<f64> {
        self.syscalls.per_second().map(|s| s / ops_per_second.max(1e-9))
    }
}

/// Waits for `from`, then measures `pids` until `until`; `perf` false
/// skips the system call count (perf's tracepoint costs the servers a
/// little on every call).
pub async fn measure_window(pids: Vec<u32>, from: Instant, until: Instant, perf: bool) -> WindowStats {
    let me = vec![std::process::id()];
    sleep_until(from).await;
    let (before, gen_before, started) =
        (ServerProcs::sample_pids(&pids), ServerProcs::sample_pids(&me), Instant::now());
    let counting = perf.then(|| {
        let (pids, window) = (pids.clone(), until.saturating_duration_since(Instant::now()));
        tokio::spawn(async move { count_syscalls(&pids, window).await })
    });
    sleep_until(until).await;
    let (after, gen_after, wall) =
        (ServerProcs::sample_pids(&pids), ServerProcs::sample_pids(&me), started.elapsed());
    let syscalls = match counting {
        Some(task) => task.await.unwrap_or_else(|e| Syscalls::Unavailable(format!("perf task failed: {e}"))),
        None => Syscalls::Unavailable("not counted (--no-perf)".into()),
    };
    WindowStats {
        server_cpu: after.cpu.saturating_sub(before.cpu),
        generator_cpu: gen_after.cpu.saturating_sub(gen_before.cpu),
        wall,
        syscalls,
    }
}

/// Runs `perf stat -e raw_syscalls:sys_enter -x, -p PIDS -- sleep WINDOW`.
/// perf watches every thread the processes have when it starts, which
/// after warm-up includes all of a tokio runtime's workers.
async fn count_syscalls(pids: &[u32], window: Duration) -> Syscalls {
    let list = pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let started = Instant::now();
    let out = tokio::process::Command::new("perf")
        .args(["stat", "-e", SYSCALL_EVENT, "-x,", "-p", &list, "--", "sleep"])
        .arg(format!("{:.3}", window.as_secs_f64()))
        .output()
        .await;
    let over = started.elapsed();
    match out {
        Err(err) => Syscalls::Unavailable(format!("perf did not run: {err}")),
        Ok(out) => match parse_perf_csv(&String::from_utf8_lossy(&out.stderr), SYSCALL_EVENT) {
            Ok(count) => Syscalls::Counted { count, over },
            Err(why) => Syscalls::Unavailable(why),
        },
    }
}

/// The count of `event` in `perf stat -x,` output (`value,unit,event,…`).
///
/// # Errors
/// perf's own words when the event is missing, not counted or not
/// supported (for example a permission error in place of any line).
pub fn parse_perf_csv(out: &str, event: &str) -> Result<u64, String> {
    let lines: Vec<&str> =
        out.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for line in &lines {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.get(2).is_some_and(|e| e.trim() == event) {
            let value = fields[0].trim();
            return value.parse::<u64>().map_err(|_| format!("perf: {event} {value}"));
        }
    }
    let said = if lines.is_empty() { "no output".to_owned() } else { lines[..lines.len().min(2)].join(" ") };
    Err(format!("perf counted nothing: {said}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_csv_is_read() {
        let out = "133365,,raw_syscalls:sys_enter,914801632,100.00,,\n";
        assert_eq!(parse_perf_csv(out, SYSCALL_EVENT), Ok(133_365));
        let with_comment = "# started on Mon\n\n42,,raw_syscalls:sys_enter,1,100.00,,\n";
        assert_eq!(parse_perf_csv(with_comment, SYSCALL_EVENT), Ok(42));
    }

    #[test]
    fn perf_refusals_are_reported_not_counted() {
        let not_counted = "<not counted>,,raw_syscalls:sys_enter,0,100.00,,\n";
        assert_eq!(
            parse_perf_csv(not_counted, SYSCALL_EVENT),
            Err("perf: raw_syscalls:sys_enter <not counted>".into())
        );
        let denied = "Error:\nNo permission to enable raw_syscalls:sys_enter event.\n";
        assert_eq!(
            parse_perf_csv(denied, SYSCALL_EVENT),
            Err("perf counted nothing: Error: No permission to enable raw_syscalls:sys_enter event.".into())
        );
        assert!(parse_perf_csv("", SYSCALL_EVENT).is_err());
    }

    #[test]
    fn per_operation_figures_divide_by_the_rate() {
        let w = WindowStats {
            server_cpu: Duration::from_secs(4),
            generator_cpu: Duration::from_secs(8),
            wall: Duration::from_secs(8),
            syscalls: Syscalls::Counted { count: 800_000, over: Duration::from_secs(8) },
        };
        assert!((w.server_cores() - 0.5).abs() < 1e-9);
        assert!((w.generator_cores() - 1.0).abs() < 1e-9);
        assert_eq!(w.cpu_per_op(10_000.0), Duration::from_micros(50));
        assert_eq!(w.syscalls_per_op(10_000.0), Some(10.0));
        let n = WindowStats { syscalls: Syscalls::Unavailable("x".into()), ..w };
        assert_eq!(n.syscalls_per_op(1.0), None);
    }
}
