use espoir::{Context, Status, register_event};

#[register_event(1, need_return = "no")]
async fn string(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(2, need_return = 0)]
async fn number(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {}
