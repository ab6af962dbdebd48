use espoir::{Context, Status, register_event};

const LOGIN: i32 = 1;

#[register_event(LOGIN)]
async fn constant(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event("login")]
async fn string(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(1.5)]
async fn float(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

#[register_event(LOGIN + 1)]
async fn expression(_ctx: Context) -> Result<(), Status> {
    Ok(())
}

fn main() {}
