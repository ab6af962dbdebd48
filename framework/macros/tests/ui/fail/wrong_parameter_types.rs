use espoir::{Context, Status, register_event};

#[register_event(1)]
async fn request_first(name: String) -> Result<String, Status> {
    Ok(name)
}

#[register_event(2)]
async fn swapped(name: String, _ctx: Context) -> Result<String, Status> {
    Ok(name)
}

fn main() {}
