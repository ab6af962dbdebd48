//! Live reconfiguration (`docs/operations.md`): re-read the node's config
//! source, validate, diff, apply; an invalid config keeps the old one and
//! says why.
//!
//! * `apply`: [`ConfigSource`] (a file, MongoDB) and [`reload`], the one
//!   path `POST /update_remote_rpc_config`, the watcher and
//!   [`crate::RunningNode::reload`] share.
//! * `diff`: what changed between two configs, and what needs a restart.
//!   Pure.
//! * `history`: the last reloads and what each changed (or why it was
//!   refused), bounded, for the operations console.
//! * `report`: [`ReloadReport`], what a reload changed.
//! * `watch`: follows the source (polling a file, or its change stream).

mod apply;
mod diff;
mod history;
mod report;
mod watch;

pub use apply::{ConfigSource, FileSource, ReloadError};
pub(crate) use apply::{Reloader, reload};
pub use report::{PeerChange, ReloadReport};
pub(crate) use watch::{WATCH_INTERVAL, spawn as spawn_watcher};
