//! The one-parameter form and `need_return = false`.

use espoir::{Context, EventHandler, Status, events, register_event};

#[register_event(1, need_return = false)]
async fn heartbeat(_ctx: Context) {}

// A trailing comma in the arguments is fine.
#[register_event(2, need_return = false)]
async fn leave(ctx: Context) -> Result<(), Status> {
    ctx.require_session()?;
    Ok(())
}

// The one-parameter form can still answer.
#[register_event(3)]
async fn server_time(_ctx: Context) -> Result<u64, Status> {
    Ok(0)
}

// need_return = false with a typed request and a reply that is dropped.
#[register_event(4, need_return = false)]
async fn report(_ctx: Context, event: String) -> Result<String, Status> {
    Ok(event)
}

// Explicit `need_return = true` is the default.
#[register_event(5, need_return = true)]
async fn echo(_ctx: Context, text: String) -> Result<String, Status> {
    Ok(text)
}

fn main() {
    assert!(!heartbeat {}.need_return());
    assert!(!leave {}.need_return());
    assert!(server_time {}.need_return());
    assert!(!report {}.need_return());
    assert!(echo {}.need_return());
    let table = events![heartbeat, leave, server_time, report, echo,];
    assert_eq!(table.ids(), [1, 2, 3, 4, 5]);
}
