//! Node configs kept in MongoDB (`"available_way": "mongo"`).
//!
//! * `bootstrap`: the small local file that says where MongoDB is and which
//!   node this is ([`MongoSettings`]).
//! * `open`: [`open_node_config`], which turns any config file (full or
//!   bootstrap) into a config plus the source to re-read it from.
//! * `convert`: config text ↔ BSON documents, pure.
//! * `cache`: the last-known-good copy written after every successful load,
//!   so a node can start while MongoDB is down.
//! * `source`: [`MongoSource`], the [`ConfigSource`](crate::ConfigSource)
//!   that reads one node's document and follows it with a change stream.
//! * `transfer`: `espoir config push` / `pull` between a folder of files and
//!   a collection.
//!
//! Everything but `open` needs the `mongodb` feature (on by default); a
//! build without it refuses bootstrap files with a problem that says so,
//! and does not compile the MongoDB driver.

#[cfg(feature = "mongodb")]
mod bootstrap;
#[cfg(feature = "mongodb")]
mod cache;
#[cfg(feature = "mongodb")]
mod convert;
mod open;
#[cfg(feature = "mongodb")]
mod source;
#[cfg(feature = "mongodb")]
mod transfer;

#[cfg(feature = "mongodb")]
pub use bootstrap::{MongoSettings, redact_uri};
pub use open::{OpenedConfig, open_node_config};
#[cfg(feature = "mongodb")]
pub use source::MongoSource;
#[cfg(feature = "mongodb")]
pub use transfer::{MongoTarget, TransferError, pull_configs, push_configs};

/// Default database of node configs.
#[cfg(feature = "mongodb")]
pub const DEFAULT_DATABASE: &str = "espoir";
/// Default collection of node configs: one document per node name.
#[cfg(feature = "mongodb")]
pub const DEFAULT_COLLECTION: &str = "nodes";
