//! The betting invariants, checked while faults act and after they heal:
//! the audit balances at every moment it answers (money conserved, the
//! settlement index consistent); at the end every acknowledged bet is
//! stored exactly once, every balance is what the user's own orders make
//! it (never below zero), and after settlement every winning order was
//! paid exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use espoir_client::{Admin, Audit, Bettor};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

use crate::crash_support::BONUS;
use crate::crash_support::bettors::{
    Audited, Ledger, MatchIn, admin_until, check_user, connect, expected_balance, login,
};

/// Audits taken in the background while a scenario runs.
pub struct Auditor {
    stop: Arc<AtomicBool>,
    task: JoinHandle<(u64, Vec<Audit>)>,
}

impl Auditor {
    /// Audits through each of `admins` in turn until stopped; an audit
    /// that does not answer (its service cut off) is skipped.
    pub fn start(admins: Vec<Admin>) -> Auditor {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let (mut taken, mut unbalanced) = (0, Vec::new());
                let mut turn = 0;
                while !stop.load(Ordering::Relaxed) {
                    let admin = &admins[turn % admins.len()];
                    turn += 1;
                    if let Ok(Ok(audit)) = timeout(Duration::from_secs(5), admin.audit()).await {
                        taken += 1;
                        if !audit.balanced || audit.balances < 0 {
                            unbalanced.push(audit);
                        }
                    }
                    sleep(Duration::from_millis(100)).await;
                }
                (taken, unbalanced)
            }
        });
        Auditor { stop, task }
    }

    /// Stops and asserts that every audit taken balanced.
    pub async fn finish(self, scenario: &str) {
        self.stop.store(true, Ordering::Relaxed);
        let (taken, unbalanced) = self.task.await.expect("the auditor panicked");
        assert!(unbalanced.is_empty(), "{scenario}: unbalanced audits during the faults: {unbalanced:?}");
        assert!(taken > 0, "{scenario}: no audit answered during the whole scenario");
        eprintln!("{scenario}: {taken} audits during the scenario, every one balanced");
    }
}

/// How many times the open books are read before they must agree.
const BOOK_READS: usize = 50;

/// One reading of the books with the match open: every acknowledged bet
/// stored once (a violation panics at once: no later reading can mend it);
/// `Err` when a balance or the audit's totals disagree with the orders
/// read.
async fn open_books(urls: &[String], users: &[(String, Ledger)], admin: &Admin) -> Result<(), String> {
    let mut staked = 0u64;
    for (name, ledger) in users {
        let orders = check_user(urls, name, ledger).await;
        staked += orders.iter().map(|o| o.amount).sum::<u64>();
        let bettor = connect(urls).await;
        let (balance, expected) = (login(&bettor, name).await, expected_balance(&orders, false));
        bettor.client().close().await;
        if balance != expected {
            return Err(format!("{name}: balance {balance}, its orders make it {expected}"));
        }
    }
    let audit = admin_until(admin, "the audit", Audited).await;
    assert!(audit.balanced, "{audit:?}");
    assert_eq!(audit.credited, (users.len() as u64 * BONUS).into(), "{audit:?}");
    if (audit.open_orders, audit.open_stakes) != (staked, staked.into()) {
        return Err(format!("the users' orders stake {staked}; {audit:?}"));
    }
    Ok(())
}

/// Every acknowledged bet stored once, every balance exact with the match
/// still open; then the match settles (home wins) and every order is paid
/// exactly once. `users` is every user the load made.
pub async fn check_all(urls: &[String], users: &[(String, Ledger)], admin: &Admin, match_id: u64) {
    // A bet the fault left unanswered may still be on its way (held in a
    // healed link's buffers) and land after its user's orders were read,
    // moving a balance and the audit: read the books again until they
    // agree. Books that never agree fail once the attempts are spent.
    let mut disagreement = String::new();
    let mut agreed = false;
    for _ in 0..BOOK_READS {
        match open_books(urls, users, admin).await {
            Ok(()) => {
                agreed = true;
                break;
            }
            Err(why) => disagreement = why,
        }
        sleep(Duration::from_millis(200)).await;
    }
    assert!(agreed, "the books never agreed: {disagreement}");

    admin.settle(match_id, Some("home")).await.expect("set the result");
    admin_until(admin, "the match settles", MatchIn(match_id, 4)).await;
    for (name, ledger) in users {
        let orders = check_user(urls, name, ledger).await;
        for order in &orders {
            let (status, payout) =
                if order.option == "home" { (9, order.amount * 250 / 100) } else { (4, 0) };
            assert_eq!((order.status, order.payout), (status, payout), "{name}: order {}", order.order_id);
        }
        let bettor: Bettor = connect(urls).await;
        assert_eq!(login(&bettor, name).await, expected_balance(&orders, true), "{name}: paid exactly once");
        bettor.client().close().await;
    }
    let audit = admin_until(admin, "the audit", Audited).await;
    assert!(audit.balanced && audit.open_orders == 0, "after settlement: {audit:?}");
}
