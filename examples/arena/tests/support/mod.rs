//! configs/arena run in-process on free ports, with `app.arena` set by
//! each test; players as `espoir-client` clients that wait for pushes.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use arena::ids;
use espoir::{Node, NodeBuilder};
use espoir_client::{Client, ClientError, ClientOptions, Push};
use espoir_testkit::*;
use serde_json::{Value, json};
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// A bound on any one wait, so a broken build fails rather than hangs;
/// the tests wait for events, never for a time.
const HANG: Duration = Duration::from_secs(60);

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub struct Arena {
    pub proxy: TestNode,
    pub service: TestNode,
    _dir: tempfile::TempDir,
}

impl Arena {
    pub fn ws_url(&self) -> String {
        self.proxy.ws_url()
    }

    /// Waits until the service holds no room.
    pub async fn wait_no_rooms(&self) {
        wait_until("every room disposed", async || {
            self.service.node.metrics_text().lines().any(|l| l == "espoir_rooms_open 0")
        })
        .await;
    }
}

/// configs/arena/<name> with its ports replaced and the static dir made
/// absolute; for the service, `app.arena` replaced by `app`.
fn rewrite(name: &str, dir: &Path, ports: &[(u16, u16)], app: Option<&Value>) -> PathBuf {
    let mut text =
        std::fs::read_to_string(repo().join("configs/arena").join(name)).expect("a configs/arena file");
    for (from, to) in ports {
        text = text.replace(&from.to_string(), &to.to_string());
    }
    let examples = repo().join("examples").canonicalize().unwrap();
    text = text.replace("\"../../examples\"", &format!("{:?}", examples.display().to_string()));
    if let Some(app) = app {
        let at = text.find("\"app\"").expect("the service's app block");
        text = format!("{}\"app\": {{ \"arena\": {app} }},\n}}\n", &text[..at]);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// configs/arena with `app.arena` = `app`.
pub async fn start(app: Value) -> Arena {
    let dir = tempfile::tempdir().unwrap();
    let (p, s) = (Ports::bind().await, Ports::bind().await);
    let ports = [
        (37000, p.ws_port()),
        (37001, p.http_port()),
        (37002, p.rpc_port()),
        (38001, s.http_port()),
        (38002, s.rpc_port()),
    ];
    let proxy_file = rewrite("proxy.json5", dir.path(), &ports, None);
    let service_file = rewrite("service.json5", dir.path(), &ports, Some(&app));
    let wire =
        |path: &Path, f: fn(NodeBuilder) -> NodeBuilder| f(Node::from_file(path).expect("a valid file"));
    let service = TestNode::start_builder(wire(&service_file, arena::service), s).await;
    let proxy = TestNode::start_builder(wire(&proxy_file, |b| b), p).await;
    proxy.wait_linked(&service).await;
    service.wait_linked(&proxy).await;
    Arena { proxy, service, _dir: dir }
}

/// A logged-in player.
pub struct Player {
    pub name: String,
    pub client: Client,
    pushes: Receiver<Push>,
}

impl Player {
    pub async fn login(url: &str, name: &str) -> Player {
        let client = Client::connect(ClientOptions::new(url)).await.expect("connected");
        let pushes = client.pushes();
        let reply = client.request(ids::LOGIN, &json!({ "name": name })).await.expect("logged in");
        assert_eq!(reply["name"], name);
        Player { name: name.to_owned(), client, pushes }
    }

    pub async fn request(&self, command: i32, body: &Value) -> Result<Value, ClientError> {
        self.client.request(command, body).await
    }

    /// Queues for a match in `mode`, with `party`.
    pub async fn find(&self, mode: &str, party: &[&str]) {
        let reply = self.request(ids::FIND, &json!({ "mode": mode, "party": party })).await.expect("queued");
        assert_eq!(reply["mode"], mode);
    }

    /// Joins `room`; returns how the seat was taken.
    pub async fn join(&self, room: &str) -> Result<String, ClientError> {
        let reply = self.request(ids::JOIN, &json!({ "room": room })).await?;
        Ok(reply["seat"].as_str().expect("a seat").to_owned())
    }

    pub async fn steer(&self, dir: &str) -> Result<Value, ClientError> {
        self.request(ids::MOVE, &json!({ "dir": dir })).await
    }

    /// The next push with `command` whose body satisfies `done`.
    pub async fn next(&mut self, command: i32, done: impl Fn(&Value) -> bool) -> Value {
        let wait = async {
            loop {
                match self.pushes.recv().await {
                    Ok(push) if push.command == command && done(&push.body) => return push.body,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => panic!("{}'s client closed", self.name),
                }
            }
        };
        tokio::time::timeout(HANG, wait)
            .await
            .unwrap_or_else(|_| panic!("{} waited for a {command} push", self.name))
    }

    /// The next push among `commands`.
    pub async fn next_of(&mut self, commands: &[i32]) -> Push {
        let wait = async {
            loop {
                match self.pushes.recv().await {
                    Ok(push) if commands.contains(&push.command) => return push,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => panic!("{}'s client closed", self.name),
                }
            }
        };
        tokio::time::timeout(HANG, wait)
            .await
            .unwrap_or_else(|_| panic!("{} waited for {commands:?}", self.name))
    }

    /// The next state in which `who`'s seat is `seat`.
    pub async fn state_with(&mut self, who: &str, seat: &str) -> Value {
        let (who, seat) = (who.to_owned(), seat.to_owned());
        self.next(ids::STATE, move |s| player_in(s, &who).is_some_and(|p| p["seat"] == seat.as_str())).await
    }
}

/// `name`'s entry in a state push.
pub fn player_in<'a>(state: &'a Value, name: &str) -> Option<&'a Value> {
    state["players"].as_array()?.iter().find(|p| p["name"] == name)
}

/// The move towards the nearest coin from `name`'s cell, if any coin is
/// left.
pub fn towards_coin(state: &Value, name: &str) -> Option<&'static str> {
    let me = player_in(state, name)?;
    let (x, y) = (me["x"].as_i64()?, me["y"].as_i64()?);
    let coin = state["coins"]
        .as_array()?
        .iter()
        .filter_map(|c| Some((c[0].as_i64()?, c[1].as_i64()?)))
        .min_by_key(|(cx, cy)| (cx - x).abs() + (cy - y).abs())?;
    Some(if coin.0 > x {
        "right"
    } else if coin.0 < x {
        "left"
    } else if coin.1 > y {
        "down"
    } else {
        "up"
    })
}

/// Two players, matched into one room and seated; returns the room.
pub async fn matched_pair(arena: &Arena, a: &str, b: &str) -> (Player, Player, String) {
    let mut a = Player::login(&arena.ws_url(), a).await;
    let mut b = Player::login(&arena.ws_url(), b).await;
    a.find("classic", &[]).await;
    b.find("classic", &[]).await;
    let room_a = a.next(ids::MATCHED, |_| true).await;
    let room_b = b.next(ids::MATCHED, |_| true).await;
    assert_eq!(room_a, room_b, "one match for both");
    let room = room_a["room"].as_str().unwrap().to_owned();
    assert_eq!(a.join(&room).await.unwrap(), "seated");
    assert_eq!(b.join(&room).await.unwrap(), "seated");
    (a, b, room)
}

/// The settings the tests start from: a small board, a match as soon as
/// two players wait, and windows long enough never to run out unless a
/// test makes one short.
pub fn app(edit: Value) -> Value {
    let mut app = json!({
        "width": 6, "height": 5, "coins": 4, "tick_hz": 20, "round_ms": 600000,
        "min_players": 2, "max_players": 4, "fill_wait_ms": 1, "max_wait_ms": 600000,
        "reservation_ms": 600000, "reconnect_window_ms": 600000,
    });
    for (key, value) in edit.as_object().unwrap() {
        app[key] = value.clone();
    }
    app
}
