//! The game's matching rule.

use std::time::Duration;

use super::ticket::Ticket;

/// Who may play whom. `waited` is how long the older of the two tickets
/// has waited: a game widens its criteria by accepting more as it grows
/// (a rating gap of 100 at first, 300 after ten seconds, anyone after
/// thirty). It must be symmetric in `a` and `b`.
///
/// Any `Fn(&Ticket<P>, &Ticket<P>, Duration) -> bool` is a `Criteria`:
///
/// ```
/// use std::time::Duration;
/// use espoir::matchmaking::Ticket;
///
/// struct Rating(u32);
///
/// // Within 100 points, plus 50 for every second the older one waited.
/// let close_enough = |a: &Ticket<Rating>, b: &Ticket<Rating>, waited: Duration| {
///     let gap = a.properties().0.abs_diff(b.properties().0);
///     u128::from(gap) <= 100 + 50 * waited.as_millis() / 1000
/// };
/// # let _: &dyn espoir::matchmaking::Criteria<Rating> = &close_enough;
/// ```
pub trait Criteria<P>: Send + Sync {
    /// Whether `a` and `b` may be in one match.
    fn compatible(&self, a: &Ticket<P>, b: &Ticket<P>, waited: Duration) -> bool;
}

impl<P, F> Criteria<P> for F
where
    F: Fn(&Ticket<P>, &Ticket<P>, Duration) -> bool + Send + Sync,
{
    fn compatible(&self, a: &Ticket<P>, b: &Ticket<P>, waited: Duration) -> bool {
        self(a, b, waited)
    }
}
