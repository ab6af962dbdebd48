//! A player whose connection is cut (no close handshake) resumes the same
//! session within the proxy's resume grace: the room never saw them
//! leave, re-joining finds the seat `kept`, and the state pushes missed
//! meanwhile are replayed, so the ticks they saw have no gap.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use arena::ids;
use espoir_client::{Client, ClientOptions, Event};
use serde_json::json;
use support::*;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP relay to the proxy whose `cut` drops every connection at once,
/// as a lost network would: no websocket close reaches either side.
struct Relay {
    url: String,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let links = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::clone(&links);
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    let Ok(mut proxy) = TcpStream::connect(target).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut proxy).await;
                });
                held.lock().unwrap().push(link);
            }
        });
        Relay { url, links, _accept: accept }
    }

    fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_player_resumes_the_same_session_and_keeps_the_seat_without_a_gap() {
    let arena = start(app(json!({ "coins": 20 }))).await;
    let relay = Relay::start(arena.proxy.node.addresses().websocket.unwrap()).await;
    let mut bob = Player::login(&arena.ws_url(), "bob").await;
    let ann = Client::connect(ClientOptions::new(&relay.url)).await.unwrap();
    let (mut pushes, mut events) = (ann.pushes(), ann.events());
    ann.request(ids::LOGIN, &json!({ "name": "ann" })).await.unwrap();
    ann.request(ids::FIND, &json!({})).await.unwrap();
    bob.find("classic", &[]).await;
    let room = bob.next(ids::MATCHED, |_| true).await["room"].as_str().unwrap().to_owned();
    assert_eq!(bob.join(&room).await.unwrap(), "seated");
    let joined = ann.request(ids::JOIN, &json!({ "room": room })).await.unwrap();
    assert_eq!(joined["seat"], "seated");

    // Ann's ticks, from her first state on; the cut comes after ten.
    let mut ticks = Vec::new();
    let mut cut = false;
    let play = async {
        while ticks.len() < 60 {
            let push = pushes.recv().await.expect("Ann's pushes");
            if push.command != ids::STATE {
                continue;
            }
            ticks.push(push.body["tick"].as_u64().unwrap());
            if ticks.len() == 10 && !cut {
                relay.cut();
                cut = true;
                loop {
                    if let Event::Connected { reconnected: true, resumed } = events.recv().await.unwrap() {
                        assert!(resumed, "the proxy kept the session");
                        break;
                    }
                }
                let again = ann.request(ids::JOIN, &json!({ "room": room })).await.unwrap();
                assert_eq!(again["seat"], "kept", "the room never saw Ann leave: {again}");
            }
        }
    };
    // A bound so a broken build fails rather than hangs; no time is asserted.
    tokio::time::timeout(std::time::Duration::from_secs(60), play).await.expect("sixty ticks");
    let expected: Vec<u64> = (ticks[0]..ticks[0] + 60).collect();
    assert_eq!(ticks, expected, "every tick once, the missed ones replayed");
    let state = bob.state_with("ann", "here").await;
    assert_eq!(state["phase"], "playing");
}
