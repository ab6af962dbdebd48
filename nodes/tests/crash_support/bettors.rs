//! The client side of the crash tests: bettors that keep betting through
//! failures and remember every bet they saw acknowledged, the admin, and the
//! checks of the store against what clients saw.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use espoir_client::{Admin, Audit, Bettor, Client, ClientError, ClientOptions, Order};
use tokio::time::{Instant, sleep, timeout};

use espoir_testkit::WAIT;

use super::{ADMIN_TOKEN, BONUS, CALL_TIMEOUT_SECS, now};

/// One bet the client saw acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub order_id: String,
    pub option: String,
    pub amount: u64,
}

/// What one user's client saw: acknowledged bets, and bets that failed
/// without an answer (they may or may not have been stored).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub acked: Vec<Acked>,
    pub unanswered: usize,
}

/// A client on `urls[0]` that fails over to the others, reconnecting fast.
pub async fn connect(urls: &[String]) -> Bettor {
    let mut options = ClientOptions::new(&urls[0]).with_fallbacks(urls[1..].iter().cloned());
    options.reconnect = Some((Duration::from_millis(50), Duration::from_millis(300)));
    // Longer than the proxies' call timeout, so a slow call is answered
    // by the proxy (408) rather than abandoned by the client.
    options.request_timeout = Duration::from_secs(CALL_TIMEOUT_SECS + 15);
    // Each proxy's heartbeat answers keep the link honest between bets.
    options.heartbeat = Some(Duration::from_secs(1));
    Bettor::new(Client::connect(options).await.unwrap_or_else(|e| panic!("connect to {urls:?}: {e}")))
}

/// Logs in, retrying through reconnects and unavailable services.
pub async fn login(bettor: &Bettor, name: &str) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        match bettor.login(name, &format!("{name}-pw")).await {
            Ok(me) => return me.balance,
            Err(e) if Instant::now() < deadline && retryable(&e) => sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("{name} cannot log in: {e}"),
        }
    }
}

/// A request that waited out a timeout (the client's, or the proxy's call
/// timeout: 408, 504) rather than failing at once.
pub fn timed_out(e: &ClientError) -> bool {
    matches!(e, ClientError::Timeout { .. }) || matches!(e.code(), Some(408 | 504))
}

/// Errors a cluster in failover may give: the client is reconnecting, a
/// service or link is down (503), a call timed out (408), or the session's
/// login was on a node that died (6001).
pub fn retryable(e: &ClientError) -> bool {
    matches!(e, ClientError::Disconnected | ClientError::Timeout { .. })
        || matches!(e.code(), Some(503 | 408 | 504 | 6001))
}

/// The admin of the service whose HTTP port is `port`.
pub fn admin(port: u16) -> Admin {
    Admin::new(format!("127.0.0.1:{port}"), ADMIN_TOKEN)
}

/// Creates a match (home 2.5, away 1.5), approves it and opens betting.
pub async fn open_match(admin: &Admin) -> u64 {
    let m = admin
        .create("football", "Lions", "Tigers", now() + 3600, &[("home", 2.5), ("away", 1.5)])
        .await
        .expect("create a match");
    admin.act(m.id, "approve").await.expect("approve");
    assert_eq!(admin.act(m.id, "open").await.expect("open").state, 2);
    m.id
}

/// Polls the admin API (which may be restarting) until `check` holds.
pub async fn admin_until<T>(admin: &Admin, what: &str, mut check: impl AsyncCheck<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        // Bounded, so a call to a service that is restarting is retried
        // rather than awaited forever; a third of WAIT, so a slow answer on
        // a busy machine still gets through.
        let last = match timeout(WAIT / 3, check.run(admin)).await {
            Ok(Ok(Some(value))) => return value,
            Ok(Ok(None)) => "not yet".to_owned(),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        assert!(Instant::now() < deadline, "{what}: {last}");
        sleep(Duration::from_millis(50)).await;
    }
}

/// A poll of the admin API: `Some` once the awaited condition holds.
pub trait AsyncCheck<T> {
    fn run(&mut self, admin: &Admin) -> impl Future<Output = Result<Option<T>, ClientError>>;
}

/// Waits for the match to reach `state`.
pub struct MatchIn(pub u64, pub u8);

impl AsyncCheck<()> for MatchIn {
    async fn run(&mut self, admin: &Admin) -> Result<Option<()>, ClientError> {
        let matches = admin.matches().await?;
        Ok(matches.iter().any(|m| m.id == self.0 && m.state == self.1).then_some(()))
    }
}

/// The audit, once the service answers.
pub struct Audited;

impl AsyncCheck<Audit> for Audited {
    async fn run(&mut self, admin: &Admin) -> Result<Option<Audit>, ClientError> {
        admin.audit().await.map(Some)
    }
}

/// Checks one user's stored orders against what the client saw: each
/// acknowledged bet stored exactly once, with its option and amount; no
/// order id twice; at most `unanswered` orders nobody saw acknowledged (a
/// bet in flight when a node died may or may not have committed). Returns
/// the stored orders.
pub async fn check_user(urls: &[String], name: &str, ledger: &Ledger) -> Vec<Order> {
    let bettor = connect(urls).await;
    login(&bettor, name).await;
    let orders = bettor.my_bets().await.unwrap_or_else(|e| panic!("{name}: my bets: {e}"));
    assert!(orders.len() < betting::MY_BETS_LIMIT, "{name}: more orders than one page; the check needs all");
    let mut stored: HashMap<&str, &Order> = HashMap::new();
    for order in &orders {
        assert!(stored.insert(&order.order_id, order).is_none(), "{name}: order {} twice", order.order_id);
    }
    let mut acked = HashSet::new();
    for bet in &ledger.acked {
        assert!(acked.insert(&bet.order_id), "{name}: the service acknowledged {} twice", bet.order_id);
        let order = stored.get(bet.order_id.as_str()).unwrap_or_else(|| {
            panic!("{name}: acknowledged bet {} is not in the store ({} stored)", bet.order_id, orders.len())
        });
        assert_eq!(
            (&order.option, order.amount),
            (&bet.option, bet.amount),
            "{name}: order {}",
            bet.order_id
        );
    }
    let extra = orders.len() - ledger.acked.len();
    assert!(
        extra <= ledger.unanswered,
        "{name}: {extra} stored orders nobody acknowledged, but only {} bets went unanswered",
        ledger.unanswered
    );
    bettor.client().close().await;
    orders
}

/// Coins a user holds after sign-up and `orders`, once they are settled
/// with "home" winning at 2.5 (or still open, when `settled` is false).
pub fn expected_balance(orders: &[Order], settled: bool) -> u64 {
    let staked: u64 = orders.iter().map(|o| o.amount).sum();
    let won: u64 = if settled {
        orders.iter().filter(|o| o.option == "home").map(|o| o.amount * 250 / 100).sum()
    } else {
        0
    };
    BONUS - staked + won
}
