// Attribute and signature mistakes are all reported in one compile, and the
// function is still emitted: calling it from `main` raises nothing more.
use espoir::{Context, Status, register_event};

#[register_event(1, need_retrun = false)]
fn login<T>(_ctx: Context, name: String) -> Result<String, Status> {
    Ok(name)
}

fn main() {
    let _ = login::<u8>;
}
