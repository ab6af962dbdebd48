//! The pages in headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `.ci/provision-browser`), driven over
//! WebDriver against configs/local in-process with an encrypted websocket:
//! the client self-test agrees with the Rust side; two users log in in two
//! browsers and bet; the admin runs the round in the admin page; both pages
//! show the settlement push and the new balance; then the proxy restarts,
//! cutting every websocket, and the pages reconnect and log in by
//! themselves. Screenshots go to target/browser/.
//!
//! Without Chromium the test skips, except under `CI=true`, where it fails.

mod support;

use espoir_testkit::browser::{Chromium, css, type_into, wait_js};
use serde_json::json;
use support::pages::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_bet_the_admin_settles_in_the_page_and_pages_reconnect_by_themselves() {
    let Some(chromium) = Chromium::find() else { return };
    let mut cluster = Cluster::start(true).await;
    let profiles = tempfile::tempdir().expect("profiles");
    let open = |name: &str| profiles.path().join(name);
    let (admin, ann, bob) = (
        chromium.open(&open("admin"), WINDOW).await,
        chromium.open(&open("ann"), WINDOW).await,
        chromium.open(&open("bob"), WINDOW).await,
    );
    let pages = cluster.pages_url();

    // The browser's framing and crypto agree with the proxy's, byte for byte.
    ann.goto(&format!("{pages}/test.html")).await.unwrap();
    let ok = wait_js(&ann, "the self-test", "document.getElementById('result').dataset.ok !== 'pending' && document.getElementById('result').dataset.ok").await;
    assert_eq!(
        ok,
        json!("true"),
        "{}",
        ann.execute("return document.body.innerText;", vec![]).await.unwrap()
    );

    // The admin creates, approves and opens a match in the admin page.
    admin.goto(&format!("{pages}/admin.html?gm=http://{}", cluster.admin_addr())).await.unwrap();
    type_into(&admin, "#token", ADMIN_TOKEN).await;
    css(&admin, "#use-token").await.click().await.unwrap();
    wait_js(&admin, "the admin API", "!document.getElementById('create-box').hidden").await;
    type_into(&admin, "#m-home", "Lions").await;
    type_into(&admin, "#m-away", "Tigers").await;
    type_into(&admin, "#m-options", "home:1.8, away:2.1").await;
    css(&admin, "#create").await.click().await.unwrap();
    let id = wait_js(
        &admin,
        "the new match",
        "document.querySelector('#matches tr[data-state=\"0\"]')?.dataset.matchId",
    )
    .await;
    let id = id.as_str().expect("an id").to_owned();
    let row = format!("#matches tr[data-match-id=\"{id}\"]");
    for (action, state) in [("approve", 1), ("open", 2)] {
        css(&admin, &format!("{row} button[data-action=\"{action}\"]")).await.click().await.unwrap();
        wait_js(
            &admin,
            action,
            &format!("document.querySelector('{}')?.dataset.state === '{state}'", row.replace('\'', "\\'")),
        )
        .await;
    }

    // Two users in two browsers log in and bet.
    let page = format!("{pages}/?ws={}&token={WS_TOKEN}&maxDelay=1000", cluster.ws_url());
    log_in(&ann, &page, "ann").await;
    log_in(&bob, &page, "bob").await;
    for (browser, option) in [(&ann, "home"), (&bob, "away")] {
        let button = format!("[data-match-id=\"{id}\"] button[data-option=\"{option}\"]");
        css(browser, &button).await.click().await.unwrap();
        balance(browser, 900, "the stake taken").await;
    }

    screenshot(&bob, "betting-open.png").await;
    screenshot(&admin, "admin-open.png").await;

    // The admin settles in the admin page; both pages get the push.
    css(&admin, &format!("{row} button[data-action=\"result\"]")).await.click().await.unwrap();
    balance(&ann, 1080, "ann's payout").await;
    wait_js(
        &ann,
        "the settlement notice",
        "document.getElementById('notices').textContent.includes('won 180')",
    )
    .await;
    balance(&bob, 900, "bob's loss").await;
    wait_js(
        &bob,
        "the settlement notice",
        "document.getElementById('notices').textContent.includes('lost 100')",
    )
    .await;
    screenshot(&ann, "betting-settled.png").await;
    screenshot(&bob, "betting-lost.png").await;
    screenshot(&admin, "admin.png").await;

    // Cut every websocket: the pages notice, reconnect, log in again.
    cluster.restart_proxy().await;
    for browser in [&ann, &bob] {
        wait_js(
            browser,
            "the reconnect notice",
            "document.getElementById('notices').textContent.includes('reconnected')",
        )
        .await;
        wait_js(browser, "connected again", "document.getElementById('status').textContent === 'connected'")
            .await;
    }
    // The new session works: a refresh reads the balance again.
    ann.execute(
        "document.getElementById('balance').textContent = '?'; document.getElementById('refresh').click();",
        vec![],
    )
    .await
    .unwrap();
    balance(&ann, 1080, "the balance after reconnecting").await;
    screenshot(&ann, "betting-reconnected.png").await;

    for browser in [admin, ann, bob] {
        let _ = browser.close().await;
    }
    cluster.stop().await;
}
