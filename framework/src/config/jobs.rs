//! `jobs`: recurring jobs declared in a node's config (*Espoir
//! extension*), like APScheduler's settings or pinus's `crons`. Each entry
//! names a job handler the node's code registered; see `docs/handlers.md`
//! (Jobs).
//!
//! ```json5
//! "jobs": [
//!   { "name": "sweep", "every": 10, "handler": "sweep" },
//!   { "name": "report", "cron": "0 9 * * MON", "timezone": "Europe/Paris",
//!     "handler": "report", "catch_up": "once" },
//! ]
//! ```

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::fields;
use crate::jobs::{CatchUp, DEFAULT_CATCH_UP_MAX, JobSpec, Schedule};

/// Most jobs one config declares.
const MAX_CONFIG_JOBS: usize = 256;

/// One entry of `jobs`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// The job's name, unique in the cluster (nodes declaring it share its
    /// ticks). Required.
    pub name: String,
    /// Run every this many seconds (aligned to the Unix epoch). One of
    /// `every` and `cron` is required.
    #[serde(default, deserialize_with = "opt_seconds")]
    pub every: Option<Duration>,
    /// A cron expression: 5 fields, or 6 with seconds first.
    #[serde(default)]
    pub cron: Option<String>,
    /// The IANA time zone the cron expression is read in. Default `"UTC"`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The name of the job handler to run (registered by the node's code).
    /// Required.
    pub handler: String,
    /// Missed ticks: `"skip"` (default), `"once"` or `"all"`.
    #[serde(default)]
    pub catch_up: CatchUpName,
    /// With `"all"`: most missed ticks run. Default 10.
    #[serde(default = "default_catch_up_max")]
    pub catch_up_max: usize,
}

/// The names of the catch-up policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUpName {
    /// [`CatchUp::Skip`].
    #[default]
    Skip,
    /// [`CatchUp::Once`].
    Once,
    /// [`CatchUp::All`].
    All,
}

fn default_catch_up_max() -> usize {
    DEFAULT_CATCH_UP_MAX
}

fn opt_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    fields::seconds(d).map(Some)
}

impl JobConfig {
    /// The job this entry declares, or the field at fault and why.
    ///
    /// # Errors
    /// `(field, reason)`.
    pub fn spec(&self) -> Result<JobSpec, (&'static str, String)> {
        if self.name.trim().is_empty() || self.name.len() > 128 {
            return Err(("name", "must be 1 to 128 characters".into()));
        }
        if self.handler.trim().is_empty() {
            return Err(("handler", "must name a job handler".into()));
        }
        let schedule = match (&self.every, &self.cron) {
            (Some(every), None) => {
                if self.timezone.is_some() {
                    return Err(("timezone", "applies to `cron` only".into()));
                }
                Schedule::every(*every).map_err(|e| ("every", e.to_string()))?
            }
            (None, Some(cron)) => Schedule::cron_in(cron, self.timezone.as_deref().unwrap_or("UTC"))
                .map_err(|e| (if self.timezone.is_some() { "timezone" } else { "cron" }, e.to_string()))?,
            (Some(_), Some(_)) => return Err(("every", "give `every` or `cron`, not both".into())),
            (None, None) => return Err(("every", "a job needs `every` (seconds) or `cron`".into())),
        };
        let catch_up = match self.catch_up {
            CatchUpName::Skip => CatchUp::Skip,
            CatchUpName::Once => CatchUp::Once,
            CatchUpName::All if (1..=10_000).contains(&self.catch_up_max) => CatchUp::All(self.catch_up_max),
            CatchUpName::All => return Err(("catch_up_max", "must be 1 to 10000".into())),
        };
        Ok(JobSpec::new(self.name.trim(), schedule, self.handler.trim()).catch_up(catch_up))
    }
}

/// Problems in `jobs`, as `(field, reason)`.
pub(crate) fn check(jobs: &[JobConfig]) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if jobs.len() > MAX_CONFIG_JOBS {
        problems.push(("jobs".to_owned(), format!("at most {MAX_CONFIG_JOBS} jobs")));
    }
    let mut names = HashSet::new();
    for (i, job) in jobs.iter().enumerate() {
        if let Err((field, reason)) = job.spec() {
            problems.push((format!("jobs[{i}].{field}"), reason));
        }
        if !names.insert(job.name.trim()) {
            problems.push((format!("jobs[{i}].name"), format!("{:?} is declared twice", job.name)));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<JobConfig> {
        serde_json5::from_str(text).unwrap()
    }

    #[test]
    fn entries_become_specs_with_defaults() {
        let jobs = parse(
            r#"[{name: "a", every: 2.5, handler: "h"},
            {name: "b", cron: "0 9 * * *", timezone: "Europe/Paris", handler: "h", catch_up: "all", catch_up_max: 3}]"#,
        );
        assert!(check(&jobs).is_empty());
        let a = jobs[0].spec().unwrap();
        assert_eq!((a.schedule.describe(), a.catch_up), ("every 2500ms".to_owned(), CatchUp::Skip));
        let b = jobs[1].spec().unwrap();
        assert_eq!(b.catch_up, CatchUp::All(3));
        assert_eq!(b.schedule.describe(), "cron \"0 9 * * *\" (Europe/Paris)");
    }

    #[test]
    fn bad_entries_name_their_field() {
        let jobs = parse(
            r#"[{name: "a", handler: "h"},
            {name: "b", every: 1, cron: "* * * * *", handler: "h"},
            {name: "c", cron: "nope", handler: "h"},
            {name: "d", cron: "* * * * *", timezone: "Nowhere", handler: "h"},
            {name: "e", every: 0.01, handler: "h"},
            {name: "a", every: 1, handler: ""},
            {name: "g", every: 1, handler: "h", catch_up: "all", catch_up_max: 0}]"#,
        );
        let fields: Vec<String> = check(&jobs).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "jobs[0].every",
                "jobs[1].every",
                "jobs[2].cron",
                "jobs[3].timezone",
                "jobs[4].every",
                "jobs[5].handler",
                "jobs[5].name",
                "jobs[6].catch_up_max"
            ]
        );
        assert!(
            serde_json5::from_str::<Vec<JobConfig>>(
                r#"[{name: "a", every: 1, handler: "h", catch_up: "twice"}]"#
            )
            .is_err()
        );
        assert!(
            serde_json5::from_str::<Vec<JobConfig>>(r#"[{name: "a", every: 1, handler: "h", typo: 1}]"#)
                .is_err()
        );
    }
}
