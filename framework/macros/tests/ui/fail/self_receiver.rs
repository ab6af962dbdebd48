use espoir::{Context, Status, register_event};

struct Lobby;

impl Lobby {
    #[register_event(1)]
    async fn join(&self, _ctx: Context) -> Result<(), Status> {
        Ok(())
    }
}

fn main() {}
