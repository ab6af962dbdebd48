//! Any integer literal that fits `i32`: negative, extreme, suffixed, hex.

use espoir::{Context, Status, events, register_event};

#[register_event(-1)]
async fn negative(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(-2147483648)]
async fn minimum(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(2147483647i32)]
async fn maximum(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(0x10)]
async fn hex(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(1_000)]
async fn underscores(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {
    assert_eq!(negative::ID, -1);
    assert_eq!(minimum::ID, i32::MIN);
    assert_eq!(maximum::ID, i32::MAX);
    assert_eq!(hex::ID, 16);
    assert_eq!(underscores::ID, 1000);
    let table = events![negative, minimum, maximum, hex, underscores];
    assert_eq!(table.ids(), [i32::MIN, -1, 16, 1000, i32::MAX]);
}
