use espoir::{Context, Status, register_event};

// A bound of 0 would refuse every request: refused at compile time.
#[register_event(100020, concurrency = 0)]
async fn place_bet(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {}
