//! A whole betting round through the Rust client against configs/local
//! in-process: the admin API creates, approves, opens and settles a match;
//! two bettors bet and receive their settlement pushes; the proxy restarts
//! and the clients reconnect by themselves. Plain and encrypted links.

mod support;

use std::time::Duration;

use espoir_client::{Admin, Bettor, Client, ClientError, ClientOptions, Event, commands};
use espoir_testkit::WAIT;
use support::*;
use tokio::sync::broadcast;

async fn bettor(cluster: &Cluster, encrypt: bool) -> Bettor {
    let mut options = ClientOptions::new(cluster.ws_url());
    options.reconnect = Some((Duration::from_millis(50), Duration::from_millis(500)));
    if encrypt {
        options = options.encrypted(WS_TOKEN);
    }
    Bettor::new(Client::connect(options).await.expect("connects"))
}

async fn next_event(events: &mut broadcast::Receiver<Event>, want: impl Fn(&Event) -> bool) -> Event {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) if want(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the client stopped"),
            }
        }
    };
    tokio::time::timeout(WAIT, wait).await.expect("the event in time")
}

async fn round(encrypt: bool) {
    let mut cluster = Cluster::start(encrypt).await;
    let admin = Admin::new(cluster.admin_addr(), ADMIN_TOKEN);
    let m = admin
        .create("football", "Lions", "Tigers", now() + 3600, &[("home", 1.8), ("away", 2.1)])
        .await
        .unwrap();
    admin.act(m.id, "approve").await.unwrap();
    assert_eq!(admin.act(m.id, "open").await.unwrap().state, 2);

    let (ann, bob) = (bettor(&cluster, encrypt).await, bettor(&cluster, encrypt).await);
    assert_eq!(ann.login("ann", "ann-password").await.unwrap().balance, 1000, "configs/local's signup bonus");
    bob.login("bob", "bob-password").await.unwrap();
    let listed = ann.matches(Some("football"), "doing").await.unwrap();
    assert_eq!(listed.iter().map(|x| x.id).collect::<Vec<_>>(), vec![m.id]);
    assert_eq!(ann.bet(m.id, "home", 100).await.unwrap().balance, 900);
    assert_eq!(bob.bet(m.id, "away", 200).await.unwrap().balance, 800);
    let refused = bob.bet(m.id, "away", 5000).await.unwrap_err();
    assert_eq!(refused.code(), Some(6014), "{refused}");

    let (mut ann_pushes, mut bob_pushes) = (ann.client().pushes(), bob.client().pushes());
    admin.settle(m.id, Some("home")).await.unwrap();
    let won = Bettor::next_settlement(&mut ann_pushes, WAIT).await.unwrap();
    assert_eq!((won.status, won.payout, won.balance), (9, 180, 1080));
    let lost = Bettor::next_settlement(&mut bob_pushes, WAIT).await.unwrap();
    assert_eq!((lost.status, lost.payout, lost.balance), (4, 0, 800));
    assert_eq!(ann.balance().await.unwrap(), 1080);
    assert!(ann.matches(None, "finished").await.unwrap().iter().any(|x| x.id == m.id));

    // Cut every websocket: the clients say so, come back by themselves and
    // carry on after logging in again.
    let mut events = ann.client().events();
    cluster.restart_proxy().await;
    let lost = next_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(matches!(lost, Event::Disconnected { will_reconnect: true, .. }), "{lost:?}");
    let back = next_event(&mut events, |e| matches!(e, Event::Connected { reconnected: true, .. })).await;
    assert_eq!(
        back,
        Event::Connected { reconnected: true, resumed: false },
        "a restarted proxy knows no session"
    );
    ann.login("ann", "ann-password").await.unwrap();
    assert_eq!(ann.balance().await.unwrap(), 1080, "money survives the cut");
    let orders = ann.my_bets().await.unwrap();
    assert_eq!((orders.len(), orders[0].status, orders[0].payout), (1, 9, 180));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_over_plain_websockets() {
    round(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_over_encrypted_websockets() {
    round(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_the_right_token_cannot_connect_and_requests_fail_fast_when_down() {
    let cluster = Cluster::start(true).await;
    let wrong = ClientOptions::new(cluster.ws_url()).encrypted("another-websocket-token-00000001");
    let err = Client::connect(wrong).await.unwrap_err();
    assert!(matches!(err, ClientError::Link(espoir::secure::ClientLinkError::BadProof)), "{err}");
    let plain = Client::connect(ClientOptions::new(cluster.ws_url())).await.unwrap();
    let err = plain.request(commands::BALANCE, &serde_json::json!({})).await.unwrap_err();
    assert!(matches!(err, ClientError::Disconnected | ClientError::Closed), "{err}");
    cluster.stop().await;
}
