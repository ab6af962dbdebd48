use espoir::{Context, Status, register_event};

#[register_event(1, need_return = false, need_return = true)]
async fn heartbeat(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {}
