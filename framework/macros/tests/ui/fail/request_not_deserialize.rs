use espoir::{Context, Status, register_event};

struct Login {
    name: String,
}

#[register_event(1)]
async fn login(_ctx: Context, request: Login) -> Result<String, Status> {
    Ok(request.name)
}

fn main() {}
