//! The scale run's tables: round trips/s per scenario and server core
//! count with the ratio to the bare echo, then every figure per run.

use std::fmt::Write as _;
use std::time::Duration;

use super::deploy::Scenario;
use crate::report::{ms, thousands};

/// One measurement, reduced to what the tables show.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Server cores (N).
    pub cores: usize,
    /// Closed-loop clients (C).
    pub clients: usize,
    /// Which round of the interleaving, from 1.
    pub round: usize,
    /// What was measured.
    pub scenario: Scenario,
    /// Round trips per second.
    pub rate: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Error replies, timeouts and broken connections.
    pub errors: u64,
    /// Server CPU time (all its processes) per round trip.
    pub cpu_per_rt: Duration,
    /// Server system calls per round trip; `None` when perf could not
    /// count them (the reason is in the notes).
    pub syscalls_per_rt: Option<f64>,
    /// Server cores kept busy.
    pub server_cores: f64,
    /// Generator cores kept busy.
    pub generator_cores: f64,
}

impl Measured {
    /// One line for the progress log.
    pub fn summary(&self) -> String {
        format!(
            "{:.0} rt/s p50 {:?} p99 {:?} errors {} server CPU {:.1} µs/rt syscalls/rt {} server {:.2} cores generator {:.2} cores",
            self.rate,
            self.p50,
            self.p99,
            self.errors,
            self.cpu_per_rt.as_secs_f64() * 1e6,
            self.syscalls_per_rt.map_or_else(|| "n/a".into(), |s| format!("{s:.1}")),
            self.server_cores,
            self.generator_cores
        )
    }
}

/// The run shown for one (N, C, scenario): the median round by round
/// trips/s, and the median over rounds of its ratio to the echo measured
/// in the same round.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell<'a> {
    /// The median run.
    pub(crate) run: &'a Measured,
    /// × bare echo; `None` for the echo itself or without an echo run.
    pub(crate) ratio: Option<f64>,
}

/// The cell of `(cores, clients, scenario)`, if it was measured.
pub(crate) fn cell(runs: &[Measured], cores: usize, clients: usize, scenario: Scenario) -> Option<Cell<'_>> {
    let same = |r: &&Measured| r.cores == cores && r.clients == clients;
    let mut mine: Vec<&Measured> = runs.iter().filter(same).filter(|r| r.scenario == scenario).collect();
    mine.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let run = *mine.get(mine.len() / 2)?;
    let mut ratios: Vec<f64> = if scenario == Scenario::Echo {
        Vec::new()
    } else {
        mine.iter()
            .filter_map(|r| {
                let echo =
                    runs.iter().filter(same).find(|e| e.scenario == Scenario::Echo && e.round == r.round)?;
                Some(r.rate / echo.rate.max(1e-9))
            })
            .collect()
    };
    ratios.sort_by(f64::total_cmp);
    Some(Cell { run, ratio: ratios.get(ratios.len() / 2).copied() })
}

fn distinct(values: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn ratio_text(ratio: Option<f64>) -> String {
    ratio.map_or_else(String::new, |r| format!("{r:.2}×"))
}

/// The tables as markdown, `header` first and `notes` as a list after.
pub(crate) fn render(runs: &[Measured], header: &str, notes: &[String]) -> String {
    let mut out = String::from(header);
    let cores = {
        let mut c = distinct(runs.iter().map(|r| r.cores));
        c.sort_unstable();
        c
    };
    for clients in distinct(runs.iter().map(|r| r.clients)) {
        let _ = writeln!(out, "\nRound trips/s at C = {clients} (× the bare echo at the same N):\n");
        out.push_str("| scenario |");
        for n in &cores {
            let _ = write!(out, " N = {n} |");
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(cores.len()));
        out.push('\n');
        for scenario in Scenario::ALL {
            let _ = write!(out, "| {} |", scenario.label());
            for &n in &cores {
                let text = match cell(runs, n, clients, scenario) {
                    Some(c) if c.ratio.is_some() => {
                        format!("{} ({})", thousands(c.run.rate), ratio_text(c.ratio))
                    }
                    Some(c) => thousands(c.run.rate),
                    None => "—".into(),
                };
                let _ = write!(out, " {text} |");
            }
            out.push('\n');
        }
    }
    out.push_str(
        "\n| N | C | scenario | round trips/s | × echo | p50 | p99 | errors | server CPU per rt | syscalls per rt | server cores busy | generator cores busy |\n",
    );
    out.push_str("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for &n in &cores {
        for clients in distinct(runs.iter().map(|r| r.clients)) {
            for scenario in Scenario::ALL {
                let Some(c) = cell(runs, n, clients, scenario) else { continue };
                let r = c.run;
                let _ = writeln!(
                    out,
                    "| {n} | {clients} | {} | {} | {} | {} | {} | {} | {:.1} µs | {} | {:.2} | {:.2} |",
                    scenario.key(),
                    thousands(r.rate),
                    ratio_text(c.ratio),
                    ms(r.p50),
                    ms(r.p99),
                    r.errors,
                    r.cpu_per_rt.as_secs_f64() * 1e6,
                    r.syscalls_per_rt.map_or_else(|| "n/a".into(), |s| format!("{s:.1}")),
                    r.server_cores,
                    r.generator_cores,
                );
            }
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            let _ = writeln!(out, "* {note}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cores: usize, clients: usize, round: usize, scenario: Scenario, rate: f64) -> Measured {
        Measured {
            cores,
            clients,
            round,
            scenario,
            rate,
            p50: Duration::from_micros(500),
            p99: Duration::from_micros(1_500),
            errors: 0,
            cpu_per_rt: Duration::from_nanos(12_345),
            syscalls_per_rt: (scenario != Scenario::Hello).then_some(4.0),
            server_cores: 0.9,
            generator_cores: 1.0,
        }
    }

    #[test]
    fn ratios_pair_each_run_with_the_echo_of_its_round() {
        let runs = vec![
            run(1, 32, 1, Scenario::Echo, 100.0),
            run(1, 32, 1, Scenario::Direct, 50.0),
            run(1, 32, 2, Scenario::Echo, 200.0),
            run(1, 32, 2, Scenario::Direct, 60.0),
            run(1, 32, 3, Scenario::Echo, 100.0),
            run(1, 32, 3, Scenario::Direct, 40.0),
        ];
        let c = cell(&runs, 1, 32, Scenario::Direct).unwrap();
        assert_eq!(c.run.rate, 50.0, "the median round by rate");
        // Ratios 0.5, 0.3, 0.4: the median is 0.4, not 50 / 100.
        assert!((c.ratio.unwrap() - 0.4).abs() < 1e-9);
        assert_eq!(cell(&runs, 1, 32, Scenario::Echo).unwrap().ratio, None);
        assert_eq!(cell(&runs, 2, 32, Scenario::Echo), None);
    }

    #[test]
    fn the_tables_show_every_core_count_and_client_count() {
        let runs = vec![
            run(1, 256, 1, Scenario::Echo, 90_000.0),
            run(1, 256, 1, Scenario::Direct, 45_000.0),
            run(1, 256, 1, Scenario::Hello, 30_000.0),
            run(2, 256, 1, Scenario::Echo, 150_000.0),
            run(2, 256, 1, Scenario::Direct, 90_000.0),
        ];
        let md = render(&runs, "Header\n", &["a note".into()]);
        assert!(md.starts_with("Header\n"));
        assert!(md.contains("Round trips/s at C = 256"));
        assert!(md.contains("| scenario | N = 1 | N = 2 |\n|---|---:|---:|\n"), "{md}");
        assert!(md.contains("| bare echo | 90,000 | 150,000 |"), "{md}");
        assert!(md.contains("| 45,000 (0.50×) | 90,000 (0.60×) |"), "{md}");
        assert!(md.contains("(proxy → route → service, `configs/hello`) | 30,000 (0.33×) | — |"), "{md}");
        assert!(
            md.contains(
                "| 1 | 256 | direct | 45,000 | 0.50× | 0.50 ms | 1.50 ms | 0 | 12.3 µs | 4.0 | 0.90 | 1.00 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| 1 | 256 | hello | 30,000 | 0.33× | 0.50 ms | 1.50 ms | 0 | 12.3 µs | n/a |"),
            "{md}"
        );
        assert!(md.ends_with("\n* a note\n"));
    }
}
