use espoir::{Context, Status, register_event};

#[register_event(1)]
async fn nothing() -> Result<(), Status> {
    Ok(())
}

#[register_event(2)]
async fn too_many(_ctx: Context, _name: String, _passwd: String, _extra: u8) -> Result<(), Status> {
    Ok(())
}

fn main() {}
