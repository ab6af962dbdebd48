//! Faults set with nftables inside a host's namespace: dropped packets in
//! one direction or both, a host cut off, random loss (`numgen random`).
//! Each host has its own table, so rules never leave the bed; healing a
//! host flushes its chains.

use std::io::Write;
use std::process::{Command, Stdio};

use super::cmd::{NetError, run};
use super::host::Host;

/// The table every host of a bed gets.
const TABLE: &str = "espoir_faults";

/// Creates the host's table and its input and output chains (empty:
/// everything passes).
pub(crate) fn install(ns: &str) -> Result<(), NetError> {
    script(
        ns,
        &format!(
            "table inet {TABLE} {{\n\
               chain input {{ type filter hook input priority 0; policy accept; }}\n\
               chain output {{ type filter hook output priority 0; policy accept; }}\n\
             }}\n"
        ),
    )
}

/// Feeds `text` to `nft -f -` inside `ns`.
fn script(ns: &str, text: &str) -> Result<(), NetError> {
    let command = format!("ip netns exec {ns} nft -f -");
    let spawn = |source| NetError::Spawn { command: command.clone(), source };
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    child.stdin.take().expect("piped").write_all(text.as_bytes()).map_err(spawn)?;
    let out = child.wait_with_output().map_err(spawn)?;
    if !out.status.success() {
        let stderr = format!("{}\nscript:\n{text}", String::from_utf8_lossy(&out.stderr));
        return Err(NetError::Command { command, stderr });
    }
    Ok(())
}

fn rule(host: &Host, chain: &str, rule: &str) -> Result<(), NetError> {
    script(&host.ns, &format!("add rule inet {TABLE} {chain} {rule}\n"))
}

/// Packets from `from` to `to` are dropped (as they leave `from`); the
/// other way still passes: a one-way partition.
///
/// # Errors
/// When `nft` fails.
pub fn block(from: &Host, to: &Host) -> Result<(), NetError> {
    rule(from, "output", &format!("ip daddr {} drop", to.ip()))
}

/// No packet passes between `a` and `b`, either way.
///
/// # Errors
/// When `nft` fails.
pub fn partition(a: &Host, b: &Host) -> Result<(), NetError> {
    block(a, b)?;
    block(b, a)
}

/// `host` is cut off from every other host (its loopback still works).
///
/// # Errors
/// When `nft` fails.
pub fn isolate(host: &Host) -> Result<(), NetError> {
    rule(host, "output", "oifname \"eth0\" drop")?;
    rule(host, "input", "iifname \"eth0\" drop")
}

/// Each packet into or out of `host`'s `eth0` is dropped with probability
/// `percent`/100 (TCP retransmits it: latency, not lost bytes).
///
/// # Errors
/// When `nft` fails.
///
/// # Panics
/// When `percent` is over 100.
pub fn loss(host: &Host, percent: u8) -> Result<(), NetError> {
    assert!(percent <= 100, "a loss of {percent}%");
    rule(host, "output", &format!("oifname \"eth0\" numgen random mod 100 < {percent} drop"))?;
    rule(host, "input", &format!("iifname \"eth0\" numgen random mod 100 < {percent} drop"))
}

/// As [`loss`], only for TCP packets to or from `port` (one link of the
/// host: its RPC port, say, and not its database's).
///
/// # Errors
/// When `nft` fails.
///
/// # Panics
/// When `percent` is over 100.
pub fn loss_on_port(host: &Host, percent: u8, port: u16) -> Result<(), NetError> {
    assert!(percent <= 100, "a loss of {percent}%");
    for (chain, iface) in [("output", "oifname"), ("input", "iifname")] {
        for side in ["sport", "dport"] {
            let drop = format!("{iface} \"eth0\" tcp {side} {port} numgen random mod 100 < {percent} drop");
            rule(host, chain, &drop)?;
        }
    }
    Ok(())
}

/// Removes every rule from `host`: its faults heal.
///
/// # Errors
/// When `nft` fails.
pub fn heal(host: &Host) -> Result<(), NetError> {
    run("ip", &["netns", "exec", &host.ns, "nft", "flush", "chain", "inet", TABLE, "input"])?;
    run("ip", &["netns", "exec", &host.ns, "nft", "flush", "chain", "inet", TABLE, "output"])?;
    Ok(())
}
