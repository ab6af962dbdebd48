use espoir::{Context, Status, events, register_event};

#[register_event(1)]
async fn login(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {
    let _called = events![login()];
    let _literal = events![1];
    let _generic = events![login::<u8>];
}
