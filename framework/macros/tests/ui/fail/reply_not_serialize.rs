use espoir::{Context, Status, register_event};

struct Welcome;

#[register_event(1)]
async fn login(_ctx: Context) -> Result<Welcome, Status> {
    Ok(Welcome)
}

#[register_event(2)]
async fn wrong_error(_ctx: Context) -> Result<String, std::io::Error> {
    Ok(String::new())
}

#[register_event(3)]
async fn not_a_result(_ctx: Context) -> String {
    String::new()
}

fn main() {}
