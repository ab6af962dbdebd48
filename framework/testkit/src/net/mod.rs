//! A multi-host test bed on one machine: hosts in network namespaces on a
//! bridge ([`Bed`]), processes on them ([`HostProcess`]), faults between
//! them (partitions one-way or both, a host cut off, packet loss: [`nft`])
//! and links with delay, jitter, stalls and cuts ([`Relay`]), which also
//! let the test process reach hosts from its own namespace.
//!
//! Everything needs root (`CI` runs as root); [`netns_available`] says
//! whether this process can, failing under `CI=true` when it cannot.
//! Feature `netns`.

mod bed;
mod cmd;
mod host;
pub mod nft;
mod ns;
mod proc;
mod relay;

pub use bed::{Bed, netns_available};
pub use cmd::NetError;
pub use host::Host;
pub use proc::HostProcess;
pub use relay::{CHUNK, FaultSpec, Faults, MAX_CONNECTIONS, QUEUE_CHUNKS, Relay};

/// Whether `addr:port` accepts a TCP connection from inside `host`.
pub async fn accepts(host: &Host, addr: std::net::SocketAddr) -> bool {
    ns::dial(&host.ns, addr).await.is_ok()
}
