//! Client connections per source IP address (`websocket.limits.
//! max_connections_per_ip`), counted with RAII guards so that a connection
//! that ends in any way gives its place back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Open connections by source address. An address leaves the map when its
/// last connection ends, so the map holds at most one entry per open
/// connection.
#[derive(Debug)]
pub(crate) struct IpLimiter {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct IpGuard {
    limiter: Arc<IpLimiter>,
    ip: IpAddr,
}

impl IpLimiter {
    pub(crate) fn new(max: usize) -> Arc<IpLimiter> {
        Arc::new(IpLimiter { max, open: Mutex::default() })
    }

    /// A place for a connection from `ip`, or `None` when the address
    /// already has `max` connections.
    pub(crate) fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<IpGuard> {
        let ip = canonical(ip);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpGuard { limiter: Arc::clone(self), ip })
    }

    /// Connections open from `ip`.
    #[cfg(test)]
    pub(crate) fn count(&self, ip: IpAddr) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).get(&canonical(ip)).copied().unwrap_or(0)
    }

    /// Distinct addresses with open connections.
    #[cfg(test)]
    pub(crate) fn addresses(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// An IPv4 client reaching a dual-stack listener shows up as an
/// IPv4-mapped IPv6 address; it is the same client as its IPv4 form.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Drop for IpGuard {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn each_address_gets_max_places_and_dropping_frees_them() {
        let limiter = IpLimiter::new(2);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let first = limiter.try_acquire(a).unwrap();
        let _second = limiter.try_acquire(a).unwrap();
        assert!(limiter.try_acquire(a).is_none(), "a third from one address is refused");
        let _other = limiter.try_acquire(b).expect("another address is not affected");
        drop(first);
        assert_eq!(limiter.count(a), 1);
        let _again = limiter.try_acquire(a).expect("a freed place is reusable");
    }

    #[test]
    fn addresses_leave_the_map_with_their_last_connection() {
        let limiter = IpLimiter::new(5);
        let guards: Vec<IpGuard> = (0..100u8)
            .map(|i| limiter.try_acquire(IpAddr::V4(Ipv4Addr::new(10, 0, 1, i))).unwrap())
            .collect();
        assert_eq!(limiter.addresses(), 100);
        drop(guards);
        assert_eq!(limiter.addresses(), 0);
    }

    #[test]
    fn a_mapped_ipv4_address_counts_as_its_ipv4_form() {
        let limiter = IpLimiter::new(1);
        let v4 = Ipv4Addr::new(192, 0, 2, 7);
        let _g = limiter.try_acquire(IpAddr::V4(v4)).unwrap();
        assert!(limiter.try_acquire(IpAddr::V6(v4.to_ipv6_mapped())).is_none());
        assert!(limiter.try_acquire(IpAddr::V6(Ipv6Addr::LOCALHOST)).is_some());
    }
}
