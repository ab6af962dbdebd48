//! End to end through a real cluster: an admin drives a match over HTTP,
//! users bet over websockets through the proxy, and each gets the
//! settlement push with the right payout. Then the cluster restarts on the
//! same data and nothing is lost.

mod common;

use betting::{PUSH_SETTLEMENT, PUSH_STATE};
use common::cluster::Cluster;
use espoir_testkit::{Admin, Client};
use serde_json::{Value, json};

const LOGIN: i32 = 100_002;
const LIST: i32 = 100_010;
const DETAIL: i32 = 100_011;
const BET: i32 = 100_020;
const MY_BETS: i32 = 100_021;
const BALANCE: i32 = 100_030;

async fn login(url: &str, name: &str) -> Client {
    let mut client = Client::connect(url).await;
    let reply = client.call(LOGIN, &json!({"name": name, "password": format!("{name}-pw")})).await;
    assert_eq!(reply["name"], name, "{reply}");
    client
}

async fn create_open_match(admin: &Admin) -> u64 {
    let spec = json!({"type": "football", "home": "Lions", "away": "Tigers", "start_time": 4_102_444_800u64,
        "options": [{"name": "home", "odds": 2.5}, {"name": "draw", "odds": 3.2}, {"name": "away", "odds": 2.8}]});
    let (status, created) = admin.call("POST", "/gm/matches", &spec).await;
    assert_eq!((status, &created["state"]), (200, &json!(0)), "{created}");
    let id = created["id"].as_u64().unwrap();
    for (verb, state) in [("approve", 1), ("open", 2)] {
        let (status, m) = admin.call("POST", &format!("/gm/matches/{id}/{verb}"), &Value::Null).await;
        assert_eq!((status, &m["state"]), (200, &json!(state)), "{verb}: {m}");
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_runs_a_match_users_bet_and_each_is_paid_through_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("betting.redb");
    let cluster = Cluster::start(&data).await;
    let admin = cluster.admin();
    let url = cluster.ws_url();

    // The admin API wants its token; a wrong transition is refused with its code.
    let (status, body) = admin.call_with("GET", "/gm/matches", &Value::Null, Some("wrong-token")).await;
    assert_eq!((status, &body["code"]), (401, &json!(6020)));
    let id = create_open_match(&admin).await;
    let (status, body) = admin.call("POST", &format!("/gm/matches/{id}/approve"), &Value::Null).await;
    assert_eq!((status, &body["code"]), (409, &json!(6011)), "{body}");

    // Before logging in, commands are refused with 6001.
    let mut stranger = Client::connect(&url).await;
    assert_eq!(
        stranger.call(BET, &json!({"match_id": id, "option": "home", "amount": 1})).await["code"],
        6001
    );
    stranger.close().await;

    let mut ann = login(&url, "ann").await;
    let mut bob = login(&url, "bob").await;
    let mut cy = login(&url, "cy").await;
    let listed = ann.call(LIST, &json!({"status": "doing"})).await;
    assert_eq!(listed["matches"][0]["id"], id, "{listed}");
    assert_eq!(ann.call(DETAIL, &json!({"match_id": id})).await["options"][2]["odds"], 2.8);

    let bets = [(&mut ann, "home", 100), (&mut bob, "away", 200), (&mut cy, "home", 50)];
    for (client, option, amount) in bets {
        let reply = client.call(BET, &json!({"match_id": id, "option": option, "amount": amount})).await;
        assert_eq!(reply["balance"], 1000 - amount, "{reply}");
        assert!(reply["order_id"].as_str().unwrap().parse::<u64>().is_ok(), "ids are decimal strings");
    }
    let reply = cy.call(BET, &json!({"match_id": id, "option": "draw", "amount": 10})).await;
    assert_eq!(reply["balance"], 940);
    let broke = bob.call(BET, &json!({"match_id": id, "option": "away", "amount": 801})).await;
    assert_eq!(broke["code"], 6014, "insufficient balance: {broke}");

    let (status, m) =
        admin.call("POST", &format!("/gm/matches/{id}/result"), &json!({"option": "home"})).await;
    assert_eq!((status, &m["state"], &m["result"]), (200, &json!(3), &json!("home")), "{m}");

    // Each bettor gets one settlement push per order, with the right payout.
    let ann_paid = ann.push(PUSH_SETTLEMENT).await;
    assert_eq!(
        (&ann_paid["stake"], &ann_paid["payout"], &ann_paid["balance"]),
        (&json!(100), &json!(250), &json!(1150))
    );
    assert_eq!(ann_paid["status"], 9);
    let bob_paid = bob.push(PUSH_SETTLEMENT).await;
    assert_eq!(
        (&bob_paid["stake"], &bob_paid["payout"], &bob_paid["balance"]),
        (&json!(200), &json!(0), &json!(800))
    );
    let mut cy_paid = [cy.push(PUSH_SETTLEMENT).await, cy.push(PUSH_SETTLEMENT).await];
    cy_paid.sort_by_key(|p| p["stake"].as_u64());
    assert_eq!((&cy_paid[0]["stake"], &cy_paid[0]["payout"]), (&json!(10), &json!(0)));
    assert_eq!((&cy_paid[1]["stake"], &cy_paid[1]["payout"]), (&json!(50), &json!(125)));
    assert_eq!(cy_paid.iter().map(|p| p["balance"].as_u64().unwrap()).max(), Some(1065));

    // The match ends settled, and every bettor is told.
    for client in [&mut ann, &mut bob, &mut cy] {
        loop {
            let push = client.push(PUSH_STATE).await;
            if push["state"] == 4 {
                assert_eq!(push["result"], "home");
                break;
            }
        }
    }
    assert_eq!(ann.call(BALANCE, &json!({})).await["balance"], 1150);
    let mine = cy.call(MY_BETS, &json!({})).await;
    let statuses: Vec<&Value> = mine["orders"].as_array().unwrap().iter().map(|o| &o["status"]).collect();
    assert_eq!(statuses, [&json!(4), &json!(9)], "newest first: the lost draw, then the won home bet");
    // The read-only audit: 3 × 1000 credited; 1150 + 800 + 1065 held, the
    // house's 360 − 375 = −15 the rest; nothing open.
    let (status, audit) = admin.call("GET", "/gm/audit", &Value::Null).await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(
        audit,
        json!({"credited": "3000", "balances": "3015", "open_stakes": "0", "house": "-15",
            "open_orders": 0, "indexed_open": 0, "balanced": true})
    );
    let (status, body) = admin.call_with("GET", "/gm/audit", &Value::Null, Some("wrong-token")).await;
    assert_eq!((status, &body["code"]), (401, &json!(6020)));
    let (status, _) = admin.call("POST", "/gm/audit", &Value::Null).await;
    assert_eq!(status, 405);
    for client in [ann, bob, cy] {
        client.close().await;
    }
    cluster.stop().await;

    // A restart on the same data keeps every balance and the match's state.
    let cluster = Cluster::start(&data).await;
    let url = cluster.ws_url();
    let mut ann = Client::connect(&url).await;
    let wrong = ann.call(LOGIN, &json!({"name": "ann", "password": "nope"})).await;
    assert_eq!(wrong["code"], 6002);
    let again = ann.call(LOGIN, &json!({"name": "ann", "password": "ann-pw"})).await;
    assert_eq!((&again["balance"], &again["created"]), (&json!(1150), &json!(false)));
    let finished = ann.call(LIST, &json!({"status": "finished"})).await;
    assert_eq!(finished["matches"][0]["state"], 4, "{finished}");
    ann.close().await;
    cluster.stop().await;
}
