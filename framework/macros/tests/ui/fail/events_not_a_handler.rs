use espoir::{Context, Status, events};

async fn forgot_the_attribute(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {
    let _table = events![forgot_the_attribute];
}
