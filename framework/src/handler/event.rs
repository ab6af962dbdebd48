//! What a message handler is, to the runtime.
//!
//! `#[register_event(ID)]` turns an `async fn(ctx, request) -> Result<R, Status>`
//! into a value implementing [`EventHandler`]; [`crate::events!`] collects
//! such values into an [`EventTable`](super::EventTable). Handlers never see frames or
//! envelopes: they get a [`Context`] and a typed request, and the runtime
//! does the JSON and the wire.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use super::context::Context;
use crate::status::Status;

/// The future a handler returns: the encoded reply body, or `None` when the
/// handler sends nothing back (`need_return = false`).
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Option<Bytes>, Status>> + Send + 'static>>;

/// A message handler, as the runtime calls it.
///
/// Implemented by the code `#[register_event]` generates; implement it by
/// hand only for handlers that need the raw body.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an espoir event handler",
    note = "put `#[espoir::register_event(ID)]` on an `async fn(ctx: Context, request: T) -> Result<R, Status>`"
)]
pub trait EventHandler: Send + Sync + 'static {
    /// The command id it serves.
    fn id(&self) -> i32;

    /// Its name, for logs, metrics and duplicate-id errors (module path and
    /// function name).
    fn name(&self) -> &'static str;

    /// Whether the client gets the return value (obespoir's `need_return`).
    fn need_return(&self) -> bool {
        true
    }

    /// At most this many runs of the handler at once on a node
    /// (`#[register_event(ID, concurrency = N)]`); further requests are
    /// refused as busy (429). `handlers.per_command` in the config
    /// overrides it. `None`: only the node's `handlers.max_inflight`.
    fn concurrency(&self) -> Option<usize> {
        None
    }

    /// Runs the handler on a raw request body.
    fn call(&self, ctx: Context, body: Bytes) -> HandlerFuture;
}
