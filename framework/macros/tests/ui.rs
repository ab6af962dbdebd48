//! Compile-time behaviour of `#[register_event]` and `events![]`: what must
//! compile (`ui/pass`, each also run), and the exact diagnostics for what
//! must not (`ui/fail/*.rs` next to their `.stderr` snapshots).
//!
//! Regenerate the snapshots after a deliberate change of message or span
//! with `TRYBUILD=overwrite cargo test -p espoir-macros --test ui`, then read
//! the diff. They are rustc-version sensitive: they were recorded with the
//! toolchain in use when they last changed.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
