//! Handlers named like the wrapper's local variables, and parameters named
//! like them, are not shadowed by the generated code.

use espoir::{Context, Status, events, register_event};

#[register_event(1)]
async fn request(ctx: Context, reply: String) -> Result<String, Status> {
    let _ = ctx;
    Ok(reply)
}

#[register_event(2)]
async fn reply(body: Context, ctx: u32) -> Result<u32, Status> {
    let _ = body;
    Ok(ctx)
}

#[register_event(3)]
async fn ctx(request: Context) -> Result<(), Status> {
    let _ = request;
    Ok(())
}

#[register_event(4, need_return = false)]
async fn body(status: Context) {
    let _ = status;
}

#[register_event(5)]
async fn status(_ctx: Context, status: Option<u16>) -> Result<Option<u16>, Status> {
    Ok(status)
}

fn main() {
    let table = events![request, reply, ctx, body, status];
    assert_eq!(table.ids(), [1, 2, 3, 4, 5]);
}
