//! Topics as pure data: no sockets here. Proxies hold the subscriptions
//! of their own sessions (`sessions/topics.rs`); a publish goes to every
//! proxy like a group broadcast. See `docs/realtime.md`.
//!
//! * `message`: a published message ([`TopicMessage`]) and the rules on
//!   topic names and conflation keys.
//! * `retain`: the last values a topic keeps for a new subscriber's
//!   snapshot, bounded by count and bytes.
//! * `index`: topic → local subscribers and snapshot, on one proxy.
//! * `conflate`: one slow connection's pending latest message per
//!   (topic, key), bounded.
//! * `stats`: [`TopicStats`].

mod conflate;
mod index;
mod message;
mod retain;
mod stats;

pub(crate) use conflate::{Conflator, Offer};
pub(crate) use index::{Subscribed, TopicIndex};
pub use message::TopicMessage;
pub(crate) use message::{InvalidMessage, check_topic};
pub(crate) use retain::Kept;
pub use stats::TopicStats;
