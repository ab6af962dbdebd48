use espoir::{Context, Status, register_event};

#[register_event]
async fn bare(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event()]
async fn empty(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(need_return = false)]
async fn only_options(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {}
