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

mod bootstrap;
mod cache;
mod convert;
mod open;
mod source;
mod transfer;

pub use bootstrap::{MongoSettings, redact_uri};
pub use open::{OpenedConfig, open_node_config};
pub use source::MongoSource;
pub use transfer::{MongoTarget, TransferError, pull_configs, push_configs};

/// Default database of node configs.
pub const DEFAULT_DATABASE: &str = "espoir";
/// Default collection of node configs: one document per node name.
pub const DEFAULT_COLLECTION: &str = "nodes";
