//! TODO room doc

pub(crate) mod counters;
pub(crate) mod scrape;
