use espoir::{Context, register_event};

#[register_event(1)]
async fn heartbeat(_ctx: Context) {}

#[register_event(2, need_return = true)]
async fn ping(_ctx: Context) -> () {}

fn main() {}
