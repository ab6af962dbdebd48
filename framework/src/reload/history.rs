//! The last reloads of a node and what each changed, for the operations
//! console. Bounded: the oldest entry goes when a new one comes.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::report::ReloadReport;

/// Reloads kept: enough to see a morning's changes, small enough to send
/// whole with every snapshot.
pub(crate) const KEPT: usize = 20;

/// One reload, as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ReloadRecord {
    /// When it ended, in milliseconds since the Unix epoch.
    pub(crate) at_ms: u64,
    /// `applied`, `unchanged`, `invalid` or `unavailable` (the
    /// `espoir_config_reloads_total` results).
    pub(crate) result: &'static str,
    /// What changed (peers added, removed, redialed; tables replaced;
    /// fields waiting for a restart), when it was read and valid.
    pub(crate) diff: Option<ReloadReport>,
    /// Why nothing was applied, otherwise.
    pub(crate) error: Option<String>,
    /// The problems of an invalid config, as `field: reason`.
    pub(crate) problems: Vec<String>,
}

impl ReloadRecord {
    /// A reload that read a valid config: `applied` when it changed
    /// something live, else `unchanged`.
    pub(crate) fn applied(report: ReloadReport) -> ReloadRecord {
        let result = if report.changed { "applied" } else { "unchanged" };
        ReloadRecord { at_ms: now_ms(), result, diff: Some(report), error: None, problems: Vec::new() }
    }

    /// A reload that applied nothing, with why.
    pub(crate) fn refused(result: &'static str, error: String, problems: Vec<String>) -> ReloadRecord {
        ReloadRecord { at_ms: now_ms(), result, diff: None, error: Some(error), problems }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The last [`KEPT`] reloads, oldest first.
#[derive(Debug, Default)]
pub(crate) struct ReloadHistory {
    entries: Mutex<VecDeque<ReloadRecord>>,
}

impl ReloadHistory {
    pub(crate) fn push(&self, record: ReloadRecord) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() == KEPT {
            entries.pop_front();
        }
        entries.push_back(record);
    }

    /// The kept reloads, newest first.
    pub(crate) fn recent(&self) -> Vec<ReloadRecord> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).iter().rev().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(changed: bool) -> ReloadReport {
        ReloadReport {
            source: "file a.json5".into(),
            changed,
            added: Vec::new(),
            removed: Vec::new(),
            reconnected: Vec::new(),
            routes_changed: changed,
            no_state_changed: false,
            restart_required: vec!["http"],
            jobs: None,
        }
    }

    #[test]
    fn records_say_what_a_reload_did_and_why_it_failed() {
        let applied = ReloadRecord::applied(report(true));
        assert_eq!(applied.result, "applied");
        assert_eq!(applied.diff.as_ref().unwrap().restart_required, ["http"]);
        assert_eq!(ReloadRecord::applied(report(false)).result, "unchanged");
        let refused = ReloadRecord::refused("invalid", "bad".into(), vec!["rpc.port: in use".into()]);
        assert_eq!(refused.problems, ["rpc.port: in use"]);
        assert!(refused.diff.is_none() && refused.error.as_deref() == Some("bad"));
    }

    #[test]
    fn only_the_last_reloads_are_kept_newest_first() {
        let history = ReloadHistory::default();
        for i in 0..(KEPT as u64 + 5) {
            let mut record = ReloadRecord::applied(report(true));
            record.at_ms = i;
            history.push(record);
        }
        let recent = history.recent();
        assert_eq!(recent.len(), KEPT);
        assert_eq!(recent[0].at_ms, KEPT as u64 + 4);
        assert_eq!(recent[KEPT - 1].at_ms, 5);
    }
}
