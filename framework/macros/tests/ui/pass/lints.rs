//! The expansion is clean under strict lints, and `#[cfg]` on a handler
//! removes its generated items too.
#![deny(
    warnings,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms,
    nonstandard_style,
    unused_qualifications
)]

/// Handlers of a library-like public module.
pub mod handlers {
    use espoir::{Context, EventTable, Status, events, register_event};

    /// Documented, public, listed.
    #[register_event(7)]
    pub async fn ping(_ctx: Context, n: u32) -> Result<u32, Status> {
        Ok(n)
    }

    /// Compiled out: its struct and impls must go with it.
    #[cfg(any())]
    #[register_event(7)]
    pub async fn ping_twice(_ctx: Context, n: u32) -> Result<u32, Status> {
        Ok(n * 2)
    }

    /// The module's table.
    pub fn table() -> EventTable {
        events![ping]
    }
}

fn main() {
    assert_eq!(handlers::table().ids(), [7]);
    println!("{:?}", handlers::ping {});
}
