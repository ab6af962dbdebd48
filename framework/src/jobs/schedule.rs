//! When a job's ticks fall: `every(interval)` or a cron expression. Pure:
//! no clock is read here, every function takes the time it reasons about.
//!
//! A tick's time is its identity across the cluster (with the job's name),
//! so every node must compute the same ticks: `every` ticks are aligned to
//! the Unix epoch (multiples of the interval), not to when a node started,
//! and cron ticks are whole seconds of the expression in its time zone.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// Shortest `every` interval: ticks are claimed at a route, so a job that
/// ticks faster than a round trip or two would spend its life claiming.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleSpecError {
    /// `every` below [`MIN_INTERVAL`].
    #[error("interval {0:?} is shorter than the minimum of 100 ms")]
    TooShort(Duration),
    /// The cron expression does not parse.
    #[error("cron expression {expr:?} does not parse: {reason}")]
    Cron {
        /// The expression.
        expr: String,
        /// The parser's reason.
        reason: String,
    },
    /// The time zone is not an IANA name.
    #[error("unknown time zone {0:?} (an IANA name such as \"Europe/Paris\" or \"UTC\")")]
    TimeZone(String),
}

/// When a job runs.
#[derive(Clone)]
pub enum Schedule {
    /// Every `interval`, at multiples of it since the Unix epoch.
    Every(Duration),
    /// A cron expression (5 fields, or 6 with seconds first) evaluated in a
    /// time zone (UTC unless given), so "0 9 * * *" in "Europe/Paris"
    /// follows daylight saving.
    Cron {
        /// The parsed expression.
        cron: Box<Cron>,
        /// Its text, for display.
        text: String,
        /// The zone it is evaluated in.
        zone: Tz,
    },
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.describe() == other.describe()
    }
}

impl Schedule {
    /// Every `interval`.
    ///
    /// # Errors
    /// [`ScheduleSpecError::TooShort`] below [`MIN_INTERVAL`].
    pub fn every(interval: Duration) -> Result<Schedule, ScheduleSpecError> {
        if interval < MIN_INTERVAL {
            return Err(ScheduleSpecError::TooShort(interval));
        }
        Ok(Schedule::Every(interval))
    }

    /// A cron expression in UTC.
    ///
    /// # Errors
    /// [`ScheduleSpecError::Cron`] when it does not parse.
    pub fn cron(expr: &str) -> Result<Schedule, ScheduleSpecError> {
        Schedule::cron_in(expr, "UTC")
    }

    /// A cron expression in the IANA time zone `zone`.
    ///
    /// # Errors
    /// [`ScheduleSpecError::Cron`], [`ScheduleSpecError::TimeZone`].
    pub fn cron_in(expr: &str, zone: &str) -> Result<Schedule, ScheduleSpecError> {
        let cron = Cron::from_str(expr)
            .map_err(|e| ScheduleSpecError::Cron { expr: expr.to_owned(), reason: e.to_string() })?;
        let zone = Tz::from_str(zone).map_err(|_| ScheduleSpecError::TimeZone(zone.to_owned()))?;
        Ok(Schedule::Cron { cron: Box::new(cron), text: expr.trim().to_owned(), zone })
    }

    /// How it reads in logs and `/jobs`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Every(d) => format!("every {}", humanize(*d)),
            Schedule::Cron { text, zone, .. } => format!("cron \"{text}\" ({zone})"),
        }
    }

    /// The first tick strictly after `t`, or `None` when there is none (a
    /// cron expression that never matches again).
    pub fn next_after(&self, t: SystemTime) -> Option<SystemTime> {
        match self {
            Schedule::Every(interval) => {
                let step = interval.as_millis();
                let since = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
                let next = (since / step + 1) * step;
                Some(UNIX_EPOCH + Duration::from_millis(u64::try_from(next).ok()?))
            }
            Schedule::Cron { cron, zone, .. } => {
                let utc: DateTime<Utc> = t.into();
                let next = cron.find_next_occurrence(&utc.with_timezone(zone), false).ok()?;
                Some(next.with_timezone(&Utc).into())
            }
        }
    }

    /// The ticks strictly between `after` and `before`, oldest first, and
    /// how many there were in all: at most `keep` (the most recent ones)
    /// are returned, so a long outage of a frequent job stays bounded.
    pub fn ticks_between(
        &self,
        after: SystemTime,
        before: SystemTime,
        keep: usize,
    ) -> (Vec<SystemTime>, u64) {
        let mut kept = std::collections::VecDeque::with_capacity(keep.min(64));
        let mut count = 0u64;
        if let Schedule::Every(interval) = self {
            // Counted arithmetically: an outage of days of a 100 ms job is
            // millions of ticks, too many to walk.
            let step = interval.as_millis();
            let ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
            let (a, b) = (ms(after), ms(before));
            if b > a {
                let first = a / step + 1;
                let last = (b - 1) / step;
                count = u64::try_from((last + 1).saturating_sub(first)).unwrap_or(u64::MAX);
                let from = first.max((last + 1).saturating_sub(keep as u128));
                for n in from..=last {
                    let at = u64::try_from(n * step).unwrap_or(u64::MAX);
                    kept.push_back(UNIX_EPOCH + Duration::from_millis(at));
                }
            }
            return (kept.into(), count);
        }
        let mut t = after;
        // Bounded walk: a cron job ticks at most once a second, and a
        // catch-up beyond a day of seconds is reported as a count anyway.
        const MAX_WALK: u64 = 86_400;
        while let Some(next) = self.next_after(t) {
            if next >= before || count >= MAX_WALK {
                break;
            }
            count += 1;
            if kept.len() == keep {
                kept.pop_front();
            }
            if keep > 0 {
                kept.push_back(next);
            }
            t = next;
        }
        (kept.into(), count)
    }
}

/// `1.5s`, `10m`, `2h`: how an interval reads.
fn humanize(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// Milliseconds since the Unix epoch: how a tick travels in a claim.
pub(crate) fn to_ms(t: SystemTime) -> i64 {
    i64::try_from(t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(i64::MAX)
}

/// The inverse of [`to_ms`]; negative values read as the epoch.
pub(crate) fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn every_ticks_are_aligned_to_the_epoch_so_all_nodes_agree() {
        let s = Schedule::every(Duration::from_secs(10)).unwrap();
        assert_eq!(s.next_after(at(1_000_003)), Some(at(1_000_010)));
        assert_eq!(s.next_after(at(1_000_010)), Some(at(1_000_020)), "strictly after");
        assert_eq!(s.describe(), "every 10s");
    }

    #[test]
    fn intervals_below_the_minimum_are_refused() {
        assert_eq!(
            Schedule::every(Duration::from_millis(50)),
            Err(ScheduleSpecError::TooShort(Duration::from_millis(50)))
        );
    }

    #[test]
    fn cron_with_and_without_seconds() {
        let five = Schedule::cron("*/5 * * * *").unwrap();
        assert_eq!(five.next_after(at(0)), Some(at(300)));
        let six = Schedule::cron("*/20 * * * * *").unwrap();
        assert_eq!(six.next_after(at(0)), Some(at(20)));
        assert!(matches!(Schedule::cron("61 * * * *"), Err(ScheduleSpecError::Cron { .. })));
        assert!(matches!(Schedule::cron_in("0 * * * *", "Mars/Base"), Err(ScheduleSpecError::TimeZone(_))));
    }

    #[test]
    fn cron_follows_its_time_zone() {
        // 09:00 in Paris on 2024-01-15 (winter, UTC+1) is 08:00 UTC.
        let s = Schedule::cron_in("0 9 * * *", "Europe/Paris").unwrap();
        let jan15 = at(1_705_276_800); // 2024-01-15T00:00:00Z
        assert_eq!(s.next_after(jan15), Some(at(1_705_276_800 + 8 * 3600)));
    }

    #[test]
    fn missed_ticks_are_counted_and_the_latest_kept() {
        let s = Schedule::every(Duration::from_secs(10)).unwrap();
        let (kept, count) = s.ticks_between(at(100), at(160), 2);
        assert_eq!(count, 5, "110..150");
        assert_eq!(kept, vec![at(140), at(150)]);
        let (kept, count) = s.ticks_between(at(100), at(110), 5);
        assert_eq!((kept.len(), count), (0, 0));
        let c = Schedule::cron("*/20 * * * * *").unwrap();
        let (kept, count) = c.ticks_between(at(0), at(100), 3);
        assert_eq!(count, 4, "20, 40, 60, 80");
        assert_eq!(kept, vec![at(40), at(60), at(80)]);
    }
}
