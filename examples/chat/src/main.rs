//! The chat game's server: espoir's command line serving the game's handler
//! group (`chat check`, `chat up`, `chat node`).

use std::process::ExitCode;

use espoir::HandlerGroups;

fn main() -> ExitCode {
    espoir::cli::run(HandlerGroups::new().add("chat.service", chat::service))
}
