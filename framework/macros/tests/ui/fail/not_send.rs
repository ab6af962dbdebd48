use std::rc::Rc;

use espoir::{Context, Status, register_event};

async fn tick() {}

#[register_event(1)]
async fn login(_ctx: Context, name: String) -> Result<String, Status> {
    let shared = Rc::new(name);
    tick().await;
    Ok(shared.to_string())
}

fn main() {}
