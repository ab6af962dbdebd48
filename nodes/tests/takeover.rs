//! Betting on two nodes over MongoDB recovers by itself: the node that
//! armed a kickoff and started a payout is SIGKILLed and stays down, and
//! the survivor (through the cluster job `betting.recover`) still stops
//! betting at the start time and completes the payout, each order paid
//! exactly once, money conserved.

mod crash_support;

use betting::{MongoStore, Store};
use crash_support::bettors::{
    Acked, Audited, Ledger, MatchIn, admin, admin_until, check_user, connect, expected_balance, login,
};
use crash_support::*;
use espoir_testkit::wait_until;

const BETTORS: usize = 6;
const BETS_EACH: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survivor_takes_over_a_dead_nodes_kickoff_and_payout_exactly_once() {
    let _serial = one_at_a_time().await;
    let Some(db) = espoir_testkit::Mongo::start().await else { return };
    let uri = db.uri();
    // Settling one order per transaction makes the payout long enough for
    // the kill to land in it.
    let app = |worker| {
        let mut app = mongo(&uri, worker, 1);
        app["recover_every"] = serde_json::json!(0.5);
        app
    };
    let mut cluster = Cluster::start(9, |p, _| {
        let services = vec![remote("service", p[4]), remote("service", p[6]), remote("route", p[2])];
        vec![
            with_admin(proxy("proxy", p[0], p[1], services), p[8]),
            route(
                "route",
                p[3],
                p[2],
                vec![remote("proxy", p[1]), remote("service", p[4]), remote("service", p[6])],
            ),
            betting("betting_1", p[5], p[4], vec![remote("route", p[2])], app(1)),
            betting("betting_2", p[7], p[6], vec![remote("route", p[2])], app(2)),
        ]
    })
    .await;
    let urls = vec![ws_url(cluster.proc("proxy").first_port())];
    let doomed = admin(cluster.proc("betting_1").first_port());
    let survivor = admin(cluster.proc("betting_2").first_port());

    // A match to pay out, with bets from several users.
    let paid = crash_support::bettors::open_match(&doomed).await;
    let mut users = Vec::new();
    for i in 0..BETTORS {
        let name = format!("takeover-{i}");
        let bettor = connect(&urls).await;
        login(&bettor, &name).await;
        let mut ledger = Ledger::default();
        for n in 0..BETS_EACH {
            let option = if (i as u64 + n).is_multiple_of(3) { "away" } else { "home" };
            let amount = 1 + (i as u64 * 5 + n) % 20;
            let placed =
                bettor.bet(paid, option, amount).await.unwrap_or_else(|e| panic!("{name}: bet: {e}"));
            ledger.acked.push(Acked { order_id: placed.order_id, option: option.into(), amount });
        }
        users.push((name, ledger, bettor));
    }

    // A match that starts in a few seconds, opened (and its kickoff armed)
    // on the node about to die.
    let start = now() + 5;
    let kicked = doomed
        .create("football", "Owls", "Hawks", start, &[("home", 2.0), ("away", 2.0)])
        .await
        .expect("create")
        .id;
    doomed.act(kicked, "approve").await.expect("approve");
    doomed.act(kicked, "open").await.expect("open");

    // The result, on the doomed node, which starts paying; then it dies.
    doomed.settle(paid, Some("home")).await.expect("set the result");
    cluster.kill("betting_1");
    let store = MongoStore::connect(uri.clone(), "betting").await.expect("mongo");
    let audit = store.audit().await.expect("audit");
    eprintln!(
        "takeover: {} of {} orders still open when betting_1 died",
        audit.open_orders,
        BETTORS as u64 * BETS_EACH
    );

    // Betting on `kicked` is open until its start, on the survivor.
    let (_, ledger, bettor) = &mut users[0];
    if now() + 1 < start {
        let placed = bettor.bet(kicked, "home", 1).await.expect("a bet before the start");
        ledger.acked.push(Acked { order_id: placed.order_id, option: "home".into(), amount: 1 });
    }
    // From the start on, no bet is taken, whether the kickoff ran yet or not.
    wait_until("the start time", async || now() >= start).await;
    let late = bettor.bet(kicked, "home", 1).await.expect_err("a bet after the start");
    assert_eq!(late.code(), Some(6012), "{late}");
    admin_until(&survivor, "the survivor closes betting on the dead node's match", MatchIn(kicked, 5)).await;
    admin_until(&survivor, "the survivor finishes the dead node's payout", MatchIn(paid, 4)).await;

    // Each order paid exactly once: every user's balance is what their own
    // bets make, and the store's books balance.
    for (name, ledger, bettor) in &users {
        bettor.client().close().await;
        let orders = check_user(&urls, name, ledger).await;
        let (paid_orders, later): (Vec<_>, Vec<_>) = orders.into_iter().partition(|o| o.match_id == paid);
        assert!(paid_orders.iter().all(|o| o.status != 0), "{name}: every order settled: {paid_orders:?}");
        let later: u64 = later.iter().map(|o| o.amount).sum();
        let c = connect(&urls).await;
        login(&c, name).await;
        let balance = c.balance().await.expect("balance");
        assert_eq!(balance + later, expected_balance(&paid_orders, true), "{name}: paid exactly once");
        c.client().close().await;
    }
    let audit = admin_until(&survivor, "the audit", Audited).await;
    assert!(audit.balanced, "money conserved: {audit:?}");
    assert!(audit.open_orders <= 1, "only the pre-start bet on the closed match may be open: {audit:?}");
}
