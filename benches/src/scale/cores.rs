//! Which cores the servers and the load generator get, and pinning.
//!
//! Core lists are written as `taskset -c` writes them (`0-3,8`). The cores
//! this process may use are split once into the generator's set and a pool
//! for the servers; a run with N server cores pins every server process to
//! the first N cores of the pool, so the generator's cores are the same
//! for every N and the rows compare only the servers.

use std::io;
use std::process::{Child, Command};

use rustix::process::setpriority_process;
use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// How the machine's cores are shared out for a scale run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Cores the load generator (this process) is pinned to.
    pub generator: Vec<usize>,
    /// Cores for the servers, in the order they are handed out.
    pub pool: Vec<usize>,
    /// Server core counts to measure, ascending.
    pub counts: Vec<usize>,
}

impl Layout {
    /// Splits `allowed` (the cores this process may run on). `generator`
    /// defaults to the upper half of `allowed` (at least one core), as on
    /// the reference machine (8 of 16); `counts` defaults to the powers of
    /// two that fit in the rest.
    ///
    /// # Errors
    /// When a generator core or a count does not fit, or no core is left
    /// for the servers.
    pub fn plan(
        allowed: &[usize],
        generator: Option<&[usize]>,
        counts: Option<&[usize]>,
    ) -> Result<Layout, String> {
        let allowed = normalized(allowed.to_vec());
        let generator = match generator {
            Some(cores) => {
                let cores = normalized(cores.to_vec());
                if let Some(c) = cores.iter().find(|c| !allowed.contains(c)) {
                    return Err(format!(
                        "generator core {c} is not one this process may use ({})",
                        format_core_list(&allowed)
                    ));
                }
                cores
            }
            None => allowed[allowed.len() - (allowed.len() / 2).max(1).min(allowed.len())..].to_vec(),
        };
        let pool: Vec<usize> = allowed.iter().copied().filter(|c| !generator.contains(c)).collect();
        if pool.is_empty() || generator.is_empty() {
            return Err(format!(
                "cores {} leave none for the servers or none for the generator: a scale run needs at least 2",
                format_core_list(&allowed)
            ));
        }
        let counts = match counts {
            Some(counts) => {
                let counts = normalized(counts.to_vec());
                if let Some(n) = counts.iter().find(|&&n| n == 0 || n > pool.len()) {
                    return Err(format!(
                        "{n} server cores asked for, but the servers have {} ({}); the generator has {}",
                        pool.len(),
                        format_core_list(&pool),
                        format_core_list(&generator)
                    ));
                }
                counts
            }
            None => std::iter::successors(Some(1usize), |n| n.checked_mul(2))
                .take_while(|&n| n <= pool.len())
                .collect(),
        };
        Ok(Layout { generator, pool, counts })
    }

    /// The cores of a run with `n` server cores.
    pub fn servers(&self, n: usize) -> &[usize] {
        &self.pool[..n.min(self.pool.len())]
    }
}

fn normalized(mut cores: Vec<usize>) -> Vec<usize> {
    cores.sort_unstable();
    cores.dedup();
    cores
}

/// Parses `0-3,8,10-11` (spaces allowed around items).
///
/// # Errors
/// On an empty list, a non-number or a backwards range.
pub fn parse_core_list(text: &str) -> Result<Vec<usize>, String> {
    let mut cores = Vec::new();
    for item in text.split(',').map(str::trim) {
        let number = |s: &str| s.trim().parse::<usize>().map_err(|_| format!("{s:?} is not a core number"));
        match item.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo)?, number(hi)?);
                if lo > hi {
                    return Err(format!("core range {item:?} runs backwards"));
                }
                cores.extend(lo..=hi);
            }
            None => cores.push(number(item)?),
        }
    }
    Ok(normalized(cores))
}

/// Writes cores as `parse_core_list` reads them, with runs as ranges.
pub fn format_core_list(cores: &[usize]) -> String {
    let cores = normalized(cores.to_vec());
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cores.len() {
        let start = cores[i];
        while i + 1 < cores.len() && cores[i + 1] == cores[i] + 1 {
            i += 1;
        }
        parts.push(if cores[i] == start { start.to_string() } else { format!("{start}-{}", cores[i]) });
        i += 1;
    }
    parts.join(",")
}

/// The cores the calling thread may run on (its affinity mask, which on
/// Linux also reflects a container's cpuset).
///
/// # Errors
/// When the kernel refuses the query.
pub fn allowed_cores() -> io::Result<Vec<usize>> {
    let set = sched_getaffinity(None)?;
    Ok((0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect())
}

/// Pins the calling thread to `cores`. Threads it starts afterwards, and
/// processes it spawns, inherit the mask.
///
/// # Errors
/// When the kernel refuses the mask (a core outside the cpuset).
pub fn pin_current_thread(cores: &[usize]) -> io::Result<()> {
    let mut set = CpuSet::new();
    for &core in cores.iter().filter(|&&c| c < CpuSet::MAX_CPU) {
        set.set(core);
    }
    Ok(sched_setaffinity(None, &set)?)
}

/// Gives the calling thread nice value `nice` (negative: more CPU than
/// the machine's other work when cores are contended; needs root or
/// CAP_SYS_NICE). Threads and processes it starts afterwards inherit it.
///
/// # Errors
/// When the kernel refuses it.
pub fn renice_current_thread(nice: i32) -> io::Result<()> {
    // On Linux, PRIO_PROCESS with no pid names the calling thread.
    Ok(setpriority_process(None, nice)?)
}

/// Spawns `command` pinned to `cores` (when given) at nice value `nice`
/// (when given). The spawn runs on a short-lived thread set up so, and the
/// child inherits the thread's mask and nice value from its first
/// instruction; the caller's own threads are never touched.
///
/// # Errors
/// Pinning, renicing or spawning errors.
pub fn spawn_placed(cores: Option<&[usize]>, nice: Option<i32>, command: &mut Command) -> io::Result<Child> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Some(cores) = cores {
                    pin_current_thread(cores)?;
                }
                if let Some(nice) = nice {
                    renice_current_thread(nice)?;
                }
                command.spawn()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the spawning thread panicked")))
    })
}

/// The affinity of a process as its `/proc/PID/status` says
/// (`Cpus_allowed_list`), to show that pinning took.
pub fn cores_of(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:"))?;
    Some(line["Cpus_allowed_list:".len()..].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_lists_parse_and_print_as_taskset_writes_them() {
        assert_eq!(parse_core_list("0-3,8, 10-11").unwrap(), vec![0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_core_list("5,1,1").unwrap(), vec![1, 5]);
        assert!(parse_core_list("3-1").is_err());
        assert!(parse_core_list("a").is_err());
        assert!(parse_core_list("").is_err());
        assert_eq!(format_core_list(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
        assert_eq!(format_core_list(&[4]), "4");
        assert_eq!(format_core_list(&[]), "");
    }

    #[test]
    fn two_cores_give_one_to_each_side() {
        let l = Layout::plan(&[0, 1], None, None).unwrap();
        assert_eq!((l.generator, l.pool, l.counts), (vec![1], vec![0], vec![1]));
    }

    #[test]
    fn sixteen_cores_match_the_reference_machine() {
        let all: Vec<usize> = (0..16).collect();
        let l = Layout::plan(&all, None, None).unwrap();
        assert_eq!(l.generator, (8..16).collect::<Vec<_>>());
        assert_eq!(l.counts, vec![1, 2, 4, 8]);
        assert_eq!(l.servers(4), &[0, 1, 2, 3]);
        // An odd count leaves the extra core to the servers.
        let l = Layout::plan(&[0, 1, 2], None, None).unwrap();
        assert_eq!((l.generator, l.counts), (vec![2], vec![1, 2]));
    }

    #[test]
    fn explicit_choices_are_checked() {
        let all: Vec<usize> = (0..8).collect();
        let l = Layout::plan(&all, Some(&[0, 1]), Some(&[3, 6])).unwrap();
        assert_eq!(l.servers(3), &[2, 3, 4]);
        assert_eq!((l.pool, l.counts), ((2..8).collect::<Vec<_>>(), vec![3, 6]));
        assert!(Layout::plan(&all, Some(&[9]), None).unwrap_err().contains("generator core 9"));
        assert!(Layout::plan(&all, Some(&[0, 1]), Some(&[7])).unwrap_err().contains("7 server cores"));
        assert!(Layout::plan(&[0], None, None).is_err(), "one core cannot be split");
        assert!(Layout::plan(&[0, 1], Some(&[0, 1]), None).is_err(), "nothing left for servers");
    }

    #[test]
    fn this_process_has_cores() {
        assert!(!allowed_cores().unwrap().is_empty());
        assert!(cores_of(std::process::id()).is_some());
    }
}
