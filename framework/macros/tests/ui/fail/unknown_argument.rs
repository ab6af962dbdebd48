use espoir::{Context, Status, register_event};

#[register_event(1, need_retrun = false)]
async fn heartbeat(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(2, 3)]
async fn two_ids(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {}
