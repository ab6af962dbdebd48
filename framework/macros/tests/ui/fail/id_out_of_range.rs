use espoir::{Context, Status, register_event};

#[register_event(2147483648)]
async fn too_big(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(-2147483649)]
async fn too_small(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(100002u32)]
async fn unsigned(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {}
