//! Node and session identity, in obespoir's exact forms.
//!
//! * A node id is the lowercase hex md5 of `"{host}_{rpc_port}"`, so a node
//!   that lists `127.0.0.1:21002` in its config knows the id of that peer
//!   before it ever connects.
//! * A session id is `"{proxy_node_id}_{seq}"`. The proxy part says which
//!   proxy holds the client, which is how replies and pushes find their way
//!   back. `seq` counts up from the proxy's start time in microseconds, so a
//!   restarted proxy never hands out an id its previous run used (obespoir
//!   counts from 1 on every start, so a late message for an old session could
//!   reach whoever got that number next).

use std::fmt;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use md5::{Digest, Md5};

/// Length of a node id: 32 lowercase hex digits.
const NODE_ID_LEN: usize = 32;

/// A node's identity: hex md5 of `"{host}_{rpc_port}"`.
///
/// Held inline (32 bytes, no allocation): every message names nodes, and
/// parsing or cloning an id must not cost an allocation or a shared counter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId([u8; NODE_ID_LEN]);

impl NodeId {
    /// The id of the node whose RPC listener is configured at `host:rpc_port`.
    ///
    /// ```
    /// use espoir::NodeId;
    /// assert_eq!(NodeId::of("127.0.0.1", 21002).as_str(), "b05f15475700128b7db26c8fc1198a0c");
    /// ```
    pub fn of(host: &str, rpc_port: u16) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Md5::digest(format!("{host}_{rpc_port}").as_bytes());
        let mut hex = [0u8; NODE_ID_LEN];
        for (i, byte) in digest.iter().enumerate() {
            hex[2 * i] = HEX[usize::from(byte >> 4)];
            hex[2 * i + 1] = HEX[usize::from(byte & 0xf)];
        }
        NodeId(hex)
    }

    /// Parses an id received from a peer: exactly 32 lowercase hex digits.
    ///
    /// # Errors
    /// Returns [`InvalidId`] for anything else, so a peer cannot smuggle
    /// separators or arbitrary text into routing keys and logs.
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        Self::parse_bytes(text.as_bytes())
    }

    /// As [`NodeId::parse`], from a message's bytes.
    ///
    /// # Errors
    /// As [`NodeId::parse`].
    pub fn parse_bytes(text: &[u8]) -> Result<Self, InvalidId> {
        let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        match <[u8; NODE_ID_LEN]>::try_from(text) {
            Ok(id) if id.iter().all(hex) => Ok(NodeId(id)),
            _ => Err(InvalidId::Node(truncate_for_error(text))),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only hex digits ever get in (`of`, `parse_bytes`), and they are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id as a message carries it. Allocates: a node keeps its own id's
    /// bytes rather than calling this per message.
    pub fn to_wire(&self) -> Bytes {
        Bytes::copy_from_slice(&self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.as_str())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client session: `"{proxy_node_id}_{seq}"`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId {
    proxy: NodeId,
    seq: u64,
}

impl SessionId {
    /// The session numbered `seq` on proxy `proxy`.
    pub fn new(proxy: NodeId, seq: u64) -> Self {
        SessionId { proxy, seq }
    }

    /// Parses `"{proxy_node_id}_{seq}"`.
    ///
    /// # Errors
    /// [`InvalidId`] unless the text is a valid node id, one `_`, and a
    /// decimal sequence number of at least 1.
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        Self::parse_bytes(text.as_bytes())
    }

    /// As [`SessionId::parse`], from a message's bytes (no allocation).
    ///
    /// # Errors
    /// As [`SessionId::parse`].
    pub fn parse_bytes(text: &[u8]) -> Result<Self, InvalidId> {
        let bad = || InvalidId::Session(truncate_for_error(text));
        let split = text.iter().position(|&b| b == b'_').ok_or_else(bad)?;
        let (proxy, seq) = (&text[..split], &text[split + 1..]);
        let proxy = NodeId::parse_bytes(proxy).map_err(|_| bad())?;
        if seq.is_empty() || seq.len() > 20 || !seq.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let seq = seq.iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')));
        match seq {
            Some(seq) if seq > 0 => Ok(SessionId { proxy, seq }),
            _ => Err(bad()),
        }
    }

    /// The id as a message carries it: `"{proxy}_{seq}"`.
    pub fn to_wire(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(NODE_ID_LEN + 21);
        out.put_slice(&self.proxy.0);
        // Writing into a BytesMut cannot fail.
        let _ = write!(out, "_{}", self.seq);
        out.freeze()
    }

    /// The proxy that holds this session's client.
    pub fn proxy(&self) -> &NodeId {
        &self.proxy
    }

    /// The per-proxy sequence number (from 1).
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.proxy, self.seq)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// Hands out the session ids of one proxy: `epoch`, `epoch + 1`, …
///
/// `epoch` is the wall clock in microseconds when the proxy started. A
/// restart therefore begins above every id of the previous run unless that
/// run handed out more than one id per microsecond of its life, which no
/// proxy can. One allocator per proxy node value, never a process global, so
/// several proxies in one process (as in tests and `espoir up`) each count
/// on their own.
#[derive(Debug)]
pub struct SessionIds {
    proxy: NodeId,
    next: AtomicU64,
}

impl SessionIds {
    /// A counter for proxy `proxy`, starting at the current time in
    /// microseconds since the Unix epoch.
    pub fn new(proxy: NodeId) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2));
        Self::starting_at(proxy, now)
    }

    /// A counter for proxy `proxy` whose first id is `first` (at least 1).
    pub fn starting_at(proxy: NodeId, first: u64) -> Self {
        SessionIds { proxy, next: AtomicU64::new(first.max(1)) }
    }

    /// The next session id.
    pub fn next_id(&self) -> SessionId {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        SessionId::new(self.proxy.clone(), seq)
    }
}

/// A malformed id received from outside.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    /// Not 32 lowercase hex digits.
    #[error("invalid node id {0:?}: expected 32 lowercase hex digits")]
    Node(String),
    /// Not `"{node_id}_{seq}"` with `seq >= 1`.
    #[error("invalid session id {0:?}: expected \"{{node_id}}_{{seq}}\" with seq >= 1")]
    Session(String),
}

/// Keeps error messages (and the logs they end up in) small when a peer
/// sends a huge bogus id.
fn truncate_for_error(text: &[u8]) -> String {
    String::from_utf8_lossy(&text[..text.len().min(80)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_match_obespoir_demo_ids() {
        // Spec §4: the ids of obespoir's demo nodes.
        assert_eq!(NodeId::of("127.0.0.1", 20002).as_str(), "3a868e96c1d28dac1076c9108fbfec48");
        assert_eq!(NodeId::of("127.0.0.1", 21002).as_str(), "b05f15475700128b7db26c8fc1198a0c");
        assert_eq!(NodeId::of("127.0.0.1", 22002).as_str(), "80c1039db0c62ca51f2839fb424b538e");
    }

    #[test]
    fn node_id_parse_accepts_only_lowercase_hex_of_length_32() {
        let id = NodeId::of("10.0.0.1", 1);
        assert_eq!(NodeId::parse(id.as_str()).unwrap(), id);
        assert!(NodeId::parse("").is_err());
        assert!(NodeId::parse(&id.as_str()[..31]).is_err());
        assert!(NodeId::parse(&id.as_str().to_uppercase()).is_err());
        assert!(NodeId::parse(&format!("{}0", id.as_str())).is_err());
        assert!(NodeId::parse("g05f15475700128b7db26c8fc1198a0c").is_err());
    }

    #[test]
    fn session_ids_count_up_per_proxy() {
        let a = SessionIds::starting_at(NodeId::of("127.0.0.1", 20002), 1);
        let b = SessionIds::starting_at(NodeId::of("127.0.0.1", 20012), 0);
        assert_eq!(a.next_id().to_string(), "3a868e96c1d28dac1076c9108fbfec48_1");
        assert_eq!(a.next_id().seq(), 2);
        assert_eq!(b.next_id().seq(), 1, "0 is not a valid sequence number");
    }

    #[test]
    fn a_restarted_proxy_starts_above_every_id_of_its_previous_run() {
        let proxy = NodeId::of("127.0.0.1", 20002);
        let before = SessionIds::new(proxy.clone());
        // The previous run hands out many ids in less than a microsecond each.
        let last = (0..10_000).map(|_| before.next_id().seq()).max().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let after = SessionIds::new(proxy);
        assert!(after.next_id().seq() > last, "a restart must not reuse session ids");
    }

    #[test]
    fn session_id_round_trips_and_rejects_garbage() {
        let s = SessionId::new(NodeId::of("127.0.0.1", 20002), 42);
        assert_eq!(SessionId::parse(&s.to_string()).unwrap(), s);
        assert_eq!(s.to_wire(), s.to_string().as_bytes());
        assert_eq!(SessionId::parse_bytes(&s.to_wire()).unwrap(), s);
        let max = SessionId::new(NodeId::of("127.0.0.1", 20002), u64::MAX);
        assert_eq!(SessionId::parse_bytes(&max.to_wire()).unwrap(), max);
        assert!(SessionId::parse_bytes(b"3a868e96c1d28dac1076c9108fbfec48_\xff").is_err());
        assert!(NodeId::parse_bytes(b"3a868e96c1d28dac1076c9108fbfec4\xff").is_err());
        for bad in [
            "",
            "_1",
            "3a868e96c1d28dac1076c9108fbfec48",
            "3a868e96c1d28dac1076c9108fbfec48_",
            "3a868e96c1d28dac1076c9108fbfec48_0",
            "3a868e96c1d28dac1076c9108fbfec48_-1",
            "3a868e96c1d28dac1076c9108fbfec48_1_2",
            "3a868e96c1d28dac1076c9108fbfec48_+1",
            "3a868e96c1d28dac1076c9108fbfec48_99999999999999999999999",
            "3a868e96c1d28dac1076c9108fbfec48_18446744073709551616",
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
