//! The betting page over HTTPS and `wss://` in headless Chromium:
//! configs/local in-process with TLS on the proxy (the pages and the
//! websocket), its certificate issued by a CA made in the test. Chromium
//! trusts that certificate through `--ignore-certificate-errors-spki-list`
//! (its public key's hash), which needs no system trust store; a browser
//! without the flag refuses the page, so the trust comes from the flag and
//! not from a lax browser. A user logs in, bets and sees the settlement.
//!
//! Without Chromium the test skips, except under `CI=true`, where it fails.

mod support;

use espoir_client::Admin;
use espoir_testkit::TestCa;
use espoir_testkit::browser::{Chromium, css, wait_js};
use serde_json::json;
use support::pages::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_betting_page_works_over_https_and_wss() {
    let Some(chromium) = Chromium::find() else { return };
    let ca = TestCa::new("espoir browser test CA");
    let issued = ca.issue(&["127.0.0.1"]);
    let cluster = Cluster::start_with(false, Some(&issued)).await;
    let (pages, ws) = (cluster.pages_url(), cluster.ws_url());
    assert!(pages.starts_with("https://") && ws.starts_with("wss://"), "{pages} {ws}");

    // A match open for bets (the admin API is the betting service's own
    // port, in clear: only the proxy has TLS here).
    let admin = Admin::new(cluster.admin_addr(), ADMIN_TOKEN);
    let m = admin
        .create("football", "Lions", "Tigers", now() + 3600, &[("home", 1.8), ("away", 2.1)])
        .await
        .unwrap();
    admin.act(m.id, "approve").await.unwrap();
    admin.act(m.id, "open").await.unwrap();

    let profiles = tempfile::tempdir().expect("profiles");
    let trust = format!("--ignore-certificate-errors-spki-list={}", issued.spki_sha256);
    let ann = chromium.open_with(&profiles.path().join("ann"), WINDOW, &[trust]).await;

    // The page comes over HTTPS and its websocket is wss://.
    let page = format!("{pages}/?ws={ws}&maxDelay=1000");
    log_in(&ann, &page, "ann").await;
    assert_eq!(ann.execute("return location.protocol;", vec![]).await.unwrap(), json!("https:"));
    let button = format!("[data-match-id=\"{}\"] button[data-option=\"home\"]", m.id);
    css(&ann, &button).await.click().await.unwrap();
    balance(&ann, 900, "the stake taken").await;

    // The settlement push arrives over wss://.
    admin.settle(m.id, Some("home")).await.unwrap();
    balance(&ann, 1080, "ann's payout").await;
    wait_js(
        &ann,
        "the settlement notice",
        "document.getElementById('notices').textContent.includes('won 180')",
    )
    .await;
    screenshot(&ann, "betting-tls.png").await;

    // Without the flag Chromium does not trust the test CA: the page does
    // not load (an error page instead, with no login form).
    let stranger = chromium.open(&profiles.path().join("stranger"), WINDOW).await;
    let _ = stranger.goto(&page).await;
    let text = stranger.execute("return document.body.innerText;", vec![]).await.unwrap_or_default();
    let has_form =
        stranger.execute("return document.getElementById('login') !== null;", vec![]).await.unwrap();
    assert_eq!(has_form, json!(false), "an untrusted certificate is refused; page text: {text}");

    for browser in [ann, stranger] {
        let _ = browser.close().await;
    }
    cluster.stop().await;
}
