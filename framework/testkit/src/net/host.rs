//! [`Host`]: one "machine" of a bed.

use std::net::Ipv4Addr;

/// One "machine" of the bed: a network namespace and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The name the test gave it (`route`, `mongo`, …).
    pub name: String,
    /// Its namespace (under /run/netns).
    pub ns: String,
    /// Its address on the bed's switch; `None` for an island (see
    /// [`Bed::add_island`]).
    pub addr: Option<Ipv4Addr>,
    /// Its port on the switch (in the switch namespace).
    pub(crate) port: Option<String>,
}

impl Host {
    /// Its address on the switch.
    ///
    /// # Panics
    /// For an island, which has none.
    pub fn ip(&self) -> Ipv4Addr {
        self.addr.unwrap_or_else(|| panic!("{} is an island: it has no switch address", self.name))
    }
}
