//! [`Bed`]: a switch and hosts, each host its own network namespace with
//! its own address, all made by the test and removed when it drops.
//!
//! The bridge lives in a namespace of its own too, so the machine's own
//! namespace gains no interface, address or route: nothing the bed does is
//! visible outside it, and its addresses (10.99.0.0/24) are never a
//! target anywhere else. The test process reaches hosts through sockets
//! made inside their namespaces ([`Relay`](super::Relay)).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};

use super::cmd::{NetError, run};
use super::host::Host;
use super::nft;

/// The bed's subnet: private to its switch namespace.
const SUBNET: [u8; 3] = [10, 99, 0];
/// Hosts per bed (addresses .2 to .251).
const MAX_HOSTS: usize = 250;

static BEDS: AtomicU32 = AtomicU32::new(0);

/// A switch and the hosts on it; every namespace it made is deleted on
/// drop (their interfaces with them), even when the test panics.
#[derive(Debug)]
pub struct Bed {
    tag: String,
    switch: String,
    hosts: Vec<Host>,
    namespaces: Vec<String>,
}

impl Bed {
    /// A new, empty bed: its switch namespace and bridge.
    ///
    /// # Errors
    /// When `ip` fails (not root, no netns support).
    pub fn new() -> Result<Bed, NetError> {
        let tag = format!("ef{}x{}", std::process::id(), BEDS.fetch_add(1, Ordering::Relaxed));
        let mut bed = Bed { switch: format!("{tag}-sw"), tag, hosts: Vec::new(), namespaces: Vec::new() };
        bed.namespace(&bed.switch.clone())?;
        let sw = bed.switch.clone();
        run("ip", &["-n", &sw, "link", "add", "br0", "type", "bridge"])?;
        run("ip", &["-n", &sw, "link", "set", "br0", "up"])?;
        Ok(bed)
    }

    fn namespace(&mut self, ns: &str) -> Result<(), NetError> {
        run("ip", &["netns", "add", ns])?;
        self.namespaces.push(ns.to_owned());
        run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        nft::install(ns)
    }

    /// Adds a host on the switch: a namespace with `eth0` at the next
    /// address, its firewall table ready for faults.
    ///
    /// # Errors
    /// When `ip` or `nft` fails, or the bed is full.
    pub fn add_host(&mut self, name: &str) -> Result<Host, NetError> {
        let index = self.hosts.len();
        if index >= MAX_HOSTS {
            return Err(NetError::Full(MAX_HOSTS));
        }
        let addr = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], 2 + index as u8);
        let ns = format!("{}-{index}", self.tag);
        self.namespace(&ns)?;
        let port = format!("p{index}");
        let sw = self.switch.clone();
        run("ip", &["-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns])?;
        run("ip", &["-n", &sw, "link", "set", &port, "master", "br0", "up"])?;
        run("ip", &["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", "eth0"])?;
        run("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        let host = Host { name: name.to_owned(), ns, addr: Some(addr), port: Some(port) };
        self.hosts.push(host.clone());
        Ok(host)
    }

    /// Adds an island: a namespace on no switch, holding `addrs` on its
    /// loopback. A process there that dials one of them reaches whatever
    /// listens on it inside the island: a [`Relay`](super::Relay) that
    /// carries the traffic on to the real host, so every byte the
    /// process sends or receives passes the relay's faults.
    ///
    /// # Errors
    /// When `ip` fails.
    pub fn add_island(&mut self, name: &str, addrs: &[Ipv4Addr]) -> Result<Host, NetError> {
        let ns = format!("{}-i{}", self.tag, self.namespaces.len());
        self.namespace(&ns)?;
        for addr in addrs {
            run("ip", &["-n", &ns, "addr", "add", &format!("{addr}/32"), "dev", "lo"])?;
        }
        Ok(Host { name: name.to_owned(), ns, addr: None, port: None })
    }

    /// Sets `host`'s cable up or down (its port on the switch): a down
    /// link drops everything both ways.
    ///
    /// # Errors
    /// When `ip` fails.
    pub fn set_link(&self, host: &Host, up: bool) -> Result<(), NetError> {
        let port = host.port.as_deref().unwrap_or_else(|| panic!("{} is on no switch", host.name));
        run("ip", &["-n", &self.switch, "link", "set", port, if up { "up" } else { "down" }])?;
        Ok(())
    }

    /// The hosts on the switch.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            if let Err(e) = run("ip", &["netns", "del", ns]) {
                eprintln!("could not delete network namespace {ns}: {e}");
            }
        }
    }
}

/// Whether this process can build beds: root, `ip` and `nft` present and
/// a namespace can be made. `false` (after saying why on stderr) lets a
/// developer's run skip.
///
/// # Panics
/// Under `CI=true` when it cannot: a missing dependency fails there.
pub fn netns_available() -> bool {
    let why = match probe() {
        Ok(()) => return true,
        Err(why) => why,
    };
    let why = format!("network namespaces unavailable ({why}): run as root after .ci/provision-netns");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true: not skipping)");
    eprintln!("skipping: {why}");
    false
}

fn probe() -> Result<(), NetError> {
    run("nft", &["--version"])?;
    // Making (and dropping) a bed proves root, ip, nft and netns support.
    Bed::new().map(drop)
}
