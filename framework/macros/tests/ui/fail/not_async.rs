use espoir::{Context, Status, register_event};

#[register_event(1)]
fn login(_ctx: Context, name: String) -> Result<String, Status> {
    Ok(name)
}

fn main() {}
