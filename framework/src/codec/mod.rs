//! Pure codecs, no sockets: client frames (proxy websocket side) and RPC
//! frames (between nodes).
//!
//! Both decoders honour tokio-util's `Decoder` contract: "incomplete" is not
//! an error, a malformed stream is, and neither ever buffers more than one
//! frame's configured maximum.

mod client;
mod rpc;

pub use client::{CLIENT_HEADER_LEN, ClientDecoder, ClientFrame, ClientFrameError, DEFAULT_MAX_CLIENT_FRAME};
pub use rpc::{
    DEFAULT_MAX_RPC_FRAME, PROTOCOL_VERSION, RPC_LENGTH_PREFIX, RpcDecoder, RpcEncoder, RpcFrameError,
};

#[cfg(test)]
mod envelope_props;
