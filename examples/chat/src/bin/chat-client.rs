//! A terminal client for the chat game: `chat-client URL NAME ROOM`, then
//! type lines. What others say in the room is printed as it comes.

use std::process::ExitCode;

use chat::ids;
use espoir_client::{Client, ClientOptions, Push};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, name, room] = args.as_slice() else {
        eprintln!("usage: chat-client ws://HOST:PORT NAME ROOM");
        return ExitCode::FAILURE;
    };
    match run(url, name, room).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chat-client: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str, name: &str, room: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::connect(ClientOptions::new(url)).await?;
    let mut pushes = client.pushes();
    client.request(ids::LOGIN, &json!({ "name": name })).await?;
    let joined = client.request(ids::JOIN, &json!({ "room": room })).await?;
    println!("* you joined {room}, with {}", joined["members"]);
    tokio::spawn(async move {
        while let Ok(push) = pushes.recv().await {
            show(&push);
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        client.request(ids::SAY, &json!({ "text": line })).await?;
    }
    client.close().await;
    Ok(())
}

fn show(push: &Push) {
    let b = &push.body;
    match push.command {
        ids::MESSAGE => println!("[{}] {}: {}", text(&b["room"]), text(&b["from"]), text(&b["text"])),
        ids::JOINED => println!("* {} joined {}", text(&b["name"]), text(&b["room"])),
        ids::LEFT => println!("* {} left {}", text(&b["name"]), text(&b["room"])),
        _ => {}
    }
}

fn text(value: &serde_json::Value) -> &str {
    value.as_str().unwrap_or_default()
}
