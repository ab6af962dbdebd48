//! The process's own metrics under their standard names (`process_*`, no
//! `espoir_` prefix, as dashboards expect): CPU seconds, resident memory,
//! open and maximum file descriptors, start time. Read from `/proc/self`
//! when scraped; elsewhere than Linux (or without `/proc`) they are left out
//! of the scrape rather than reported as zero.
//!
//! `/proc` counts CPU time and the start time in clock ticks of `USER_HZ`,
//! which the kernel fixes at 100 per second on every architecture Espoir
//! builds for; memory is `VmRSS`.

use std::path::Path;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Clock ticks per second in `/proc` (`USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// What `/proc/self` says about the process.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProcessStats {
    pub(crate) cpu_seconds: f64,
    pub(crate) resident_bytes: i64,
    pub(crate) open_fds: i64,
    pub(crate) max_fds: Option<i64>,
    pub(crate) start_time_seconds: f64,
}

/// `utime + stime` and `starttime` (ticks) from `/proc/self/stat`. The
/// command name (field 2) may hold spaces and parentheses: fields are
/// counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so field N is at index N - 3.
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    let start: u64 = fields.get(22 - 3)?.parse().ok()?;
    Some((utime + stime, start))
}

/// `VmRSS` in bytes from `/proc/self/status`.
fn parse_rss(status: &str) -> Option<i64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The soft limit of open files from `/proc/self/limits`.
fn parse_max_fds(limits: &str) -> Option<i64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// Boot time (seconds since the epoch) from `/proc/stat`.
fn parse_btime(stat: &str) -> Option<u64> {
    stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

impl ProcessStats {
    /// Reads `/proc/self`; `None` where there is no such thing.
    pub(crate) fn read() -> Option<ProcessStats> {
        Self::read_from(Path::new("/proc"))
    }

    fn read_from(proc: &Path) -> Option<ProcessStats> {
        let read = |path: &str| std::fs::read_to_string(proc.join(path)).ok();
        let (ticks, start_ticks) = parse_stat(&read("self/stat")?)?;
        let btime = parse_btime(&read("stat")?)?;
        let open_fds = std::fs::read_dir(proc.join("self/fd")).ok()?.count();
        #[allow(clippy::cast_precision_loss)] // ticks stay far below 2^52
        Some(ProcessStats {
            cpu_seconds: ticks as f64 / TICKS_PER_SECOND,
            resident_bytes: parse_rss(&read("self/status")?)?,
            open_fds: i64::try_from(open_fds).unwrap_or(i64::MAX),
            max_fds: read("self/limits").as_deref().and_then(parse_max_fds),
            start_time_seconds: btime as f64 + start_ticks as f64 / TICKS_PER_SECOND,
        })
    }
}

/// Reports [`ProcessStats`] when scraped.
#[derive(Debug)]
pub(crate) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
        let Some(stats) = ProcessStats::read() else { return Ok(()) };
        let cpu = ConstCounter::new(stats.cpu_seconds);
        cpu.encode(enc.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            ("process_resident_memory_bytes", "Resident memory size in bytes", Some(stats.resident_bytes)),
            ("process_open_fds", "Number of open file descriptors", Some(stats.open_fds)),
            ("process_max_fds", "Maximum number of open file descriptors (the soft limit)", stats.max_fds),
        ];
        for (name, help, value) in gauges {
            let Some(value) = value else { continue };
            let gauge = ConstGauge::new(value);
            gauge.encode(enc.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let start = ConstGauge::new(stats.start_time_seconds);
        start.encode(enc.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            None,
            start.metric_type(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed_whatever_the_command_name() {
        let stat = "4242 (espoir (a) b) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 12345 1000000 2000";
        assert_eq!(parse_stat(stat), Some((300, 12345)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_rss("Name:\tespoir\nVmRSS:\t   2048 kB\n"), Some(2 * 1024 * 1024));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 1048576              files\n";
        assert_eq!(parse_max_fds(limits), Some(1024));
        assert_eq!(parse_btime("cpu  1 2 3\nbtime 1700000000\n"), Some(1_700_000_000));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read_from_proc() {
        let stats = ProcessStats::read().expect("/proc on Linux");
        assert!(stats.resident_bytes > 0 && stats.open_fds > 0, "{stats:?}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        assert!(stats.start_time_seconds > 1.0e9 && stats.start_time_seconds <= now + 1.0, "{stats:?}");
    }
}
