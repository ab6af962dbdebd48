//! Procedural macros for espoir: `#[register_event]` and `events![]`.
//!
//! Use them through their re-exports, `espoir::register_event` and
//! `espoir::events`: the generated code names runtime items only through the
//! hidden `::espoir::__private` module, so a crate using the macros needs
//! `espoir` as a dependency, under that name, and nothing else.
//!
//! This file holds only the entry points and their documentation:
//! `args` parses the attribute's arguments, `expand` checks the function and
//! generates the handler, `events` builds tables. Set `ESPOIR_MACROS_DEBUG`
//! in the environment of a build to print every expansion on stderr (cargo
//! does not rebuild when only the environment changes: touch a source file of
//! the crate under inspection).
//!
//! The guide is `docs/handlers.md` at the root of the repository.

use proc_macro::TokenStream;

mod args;
mod events;
mod expand;

/// Declares an `async fn` as the handler of a command id.
///
/// ```text
/// #[register_event(ID)]
/// #[register_event(ID, need_return = false)]
/// async fn NAME(ctx: Context, request: T) -> R
/// async fn NAME(ctx: Context) -> R
/// ```
///
/// * `ID` is the command id, an integer literal that fits `i32` (obespoir's
///   ids are 32-bit signed; negative ids are accepted).
/// * `T`, the request, is any `serde::de::DeserializeOwned + Send + 'static`
///   type: the body is decoded from JSON with `espoir::decode_body`, so an
///   empty body reads as `{}` or `null`, and a body that does not decode is
///   answered with a `BAD_REQUEST` status naming the problem without calling
///   the function. In the one-parameter form the body is not looked at.
/// * `R`, the return type, implements `espoir::IntoReply`: usually
///   `Result<R, Status>` with `R: Serialize` (sent back as JSON), or any
///   `Result<R, E>` with `E: Into<Status>`; an `Err` goes back to the client
///   as an error frame with its code.
/// * `need_return = false` (obespoir's `need_return=False`) sends nothing
///   back on success, as for heartbeats and notifications. Such handlers
///   usually return `Result<(), Status>` or nothing; a handler that returns
///   nothing *must* say `need_return = false`, or the client would wait for
///   a reply that never comes.
/// * The function's future must be `Send`: handlers run on a multi-threaded
///   runtime.
///
/// # What it generates
///
/// The function is kept as written (call it, test it, take a pointer to
/// it). Next to it, in the type namespace, comes a hidden braced struct with
/// the same name and visibility (Rocket's trick): `NAME {}` is a value
/// implementing `espoir::EventHandler`, with `NAME::ID` as an inherent
/// constant. Nothing is registered anywhere: list the handler in
/// [`events!`] to put it in a table. A private handler that no table lists
/// gets rustc's dead-code warning: "function `NAME` is never used".
///
/// The handler's `name()`, used in logs and in duplicate-id errors, is
/// `concat!(module_path!(), "::", "NAME")`. `#[cfg(...)]` attributes on the
/// function are copied to the generated items.
///
/// # Errors
///
/// Mistakes are reported at compile time at the offending tokens, with the
/// function still emitted so that the rest of the crate type-checks:
/// a missing or non-integer id, an id outside `i32`, an unknown, duplicated
/// or non-bool argument, a function that is not `async`, is `unsafe`, takes
/// `self`, has no parameters or more than two, is generic or has a `where`
/// clause, takes `impl Trait`, or returns nothing without
/// `need_return = false`. A request type that is not `Deserialize`, a
/// return type that is not `IntoReply` and a future that is not `Send` are
/// reported by rustc at that type or at the function's name.
///
/// # Examples
///
/// ```
/// use espoir::{Context, Status, events, register_event};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize)]
/// struct Login {
///     name: String,
///     passwd: String,
/// }
///
/// #[derive(Serialize)]
/// struct Welcome {
///     name: String,
/// }
///
/// /// Logs a player in.
/// #[register_event(100002)]
/// async fn login(ctx: Context, request: Login) -> Result<Welcome, Status> {
///     if request.passwd.is_empty() {
///         return Err(Status::bad_request("empty password"));
///     }
///     let _session = ctx.require_session()?;
///     Ok(Welcome { name: request.name })
/// }
///
/// /// A client's heartbeat: nothing to decode, nothing to answer.
/// #[register_event(100001, need_return = false)]
/// async fn heartbeat(_ctx: Context) {}
///
/// assert_eq!(login::ID, 100002);
/// let table = events![login, heartbeat];
/// assert_eq!(table.ids(), [100001, 100002]);
/// assert!(!table.get(100001).unwrap().need_return());
/// ```
#[proc_macro_attribute]
pub fn register_event(attr: TokenStream, item: TokenStream) -> TokenStream {
    debug_expansion("#[register_event]", expand::register_event(attr.into(), item.into())).into()
}

/// Builds an `espoir::EventTable` from `#[register_event]` handlers.
///
/// ```text
/// events![]
/// events![login, logout, shop::buy, crate::chat::say,]
/// ```
///
/// Each entry is the path of a `#[register_event]` function (paths into
/// other modules work, as for any item); a trailing comma is allowed and an
/// empty list gives an empty table.
///
/// Two handlers with the same id in one list are a **compile-time** error,
/// reported at the second handler (the list expands to a `match` on the
/// handlers' `ID` constants under `#[deny(unreachable_patterns)]`):
///
/// ```text
/// error: unreachable pattern
///    |     events![auth::login, shop::buy]
///    |             ----------- ^^^^^^^^^ no value can reach this
///    |             |
///    |             matches all the relevant values
/// ```
///
/// Tables built in different modules or crates are combined with
/// `EventTable::merge`, which returns a `DuplicateEvent` naming both
/// handlers when they overlap; nodes do that when they are built.
///
/// # Examples
///
/// ```
/// mod auth {
///     use espoir::{Context, EventTable, Status, events, register_event};
///
///     #[register_event(100002)]
///     pub async fn login(_ctx: Context, name: String) -> Result<String, Status> {
///         Ok(format!("welcome, {name}"))
///     }
///
///     #[register_event(100003, need_return = false)]
///     pub async fn logout(_ctx: Context) -> Result<(), Status> {
///         Ok(())
///     }
///
///     /// This module's handlers.
///     pub fn events() -> EventTable {
///         events![login, logout]
///     }
/// }
///
/// mod shop {
///     use espoir::{Context, Status, register_event};
///
///     #[register_event(200001)]
///     pub async fn buy(_ctx: Context, item: u32) -> Result<u32, Status> {
///         Ok(item)
///     }
/// }
///
/// let service = auth::events().merge(espoir::events![shop::buy])?;
/// assert_eq!(service.ids(), [100002, 100003, 200001]);
/// assert!(service.get(200001).unwrap().name().ends_with("::shop::buy"));
///
/// // The same id in two tables is caught when they are merged.
/// let clash = espoir::events![auth::login];
/// let err = service.merge(clash).unwrap_err();
/// assert_eq!(err.id, 100002);
/// assert!(err.first.ends_with("::auth::login"));
/// # Ok::<(), espoir::DuplicateEvent>(())
/// ```
#[proc_macro]
pub fn events(input: TokenStream) -> TokenStream {
    debug_expansion("events!", events::events(input.into())).into()
}

/// Prints `expanded` on stderr when `ESPOIR_MACROS_DEBUG` is set (axum's
/// `AXUM_MACROS_DEBUG`), then returns it.
fn debug_expansion(what: &str, expanded: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if std::env::var_os("ESPOIR_MACROS_DEBUG").is_some() {
        eprintln!("// {what} expanded to:\n{expanded}\n");
    }
    expanded
}
