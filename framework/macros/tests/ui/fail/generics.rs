use espoir::{Context, Status, register_event};

#[register_event(1)]
async fn echo<T: serde::de::DeserializeOwned + serde::Serialize>(
    _ctx: Context,
    body: T,
) -> Result<T, Status> {
    Ok(body)
}

#[register_event(2)]
async fn bounded(_ctx: Context, body: String) -> Result<String, Status>
where
    String: Clone,
{
    Ok(body)
}

#[register_event(3)]
async fn anonymous(_ctx: Context, body: impl serde::de::DeserializeOwned) -> Result<(), Status> {
    let _ = body;
    Ok(())
}

fn main() {}
