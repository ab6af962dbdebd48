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

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use espoir_testkit::WAIT;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use support::*;

/// The flags the project runs Chromium with: headless, no sandbox (CI runs
/// as root in containers), and nothing that reaches the network by itself.
const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=480,1000",
];

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// Chromium and chromedriver, or `None` (skip) outside CI.
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("ESPOIR_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path(&["chromium", "chromium-browser"]));
    let driver = on_path(&["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        _ => {
            let why = "chromium or chromedriver not found: run .ci/provision-browser";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true: not skipping)");
            eprintln!("skipping: {why}");
            None
        }
    }
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(path: &Path) -> Driver {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

/// A new browser with its own fresh profile (a separate "context").
async fn open_browser(driver: &Driver, chromium: &Path, profile: &Path) -> Browser {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        // chromedriver may not listen yet right after it was spawned.
        match ClientBuilder::new(HttpConnector::new()).capabilities(caps.clone()).connect(&driver.url).await {
            Ok(browser) => return browser,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("waiting for chromedriver: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no browser session: {e}"),
        }
    }
}

/// Polls a JavaScript expression until it is truthy; returns its value.
async fn wait_js(browser: &Browser, what: &str, expr: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let value = browser.execute(&format!("return ({expr});"), vec![]).await.unwrap_or(Value::Null);
        if !matches!(value, Value::Null | Value::Bool(false)) && value != json!("") {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            let notices =
                browser.execute("return document.body.innerText;", vec![]).await.unwrap_or_default();
            panic!("timed out waiting for {what} ({expr}); page text:\n{notices}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn css(browser: &Browser, selector: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
}

async fn type_into(browser: &Browser, selector: &str, text: &str) {
    let input = css(browser, selector).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser");
    std::fs::create_dir_all(&dir).expect("target/browser");
    dir
}

async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(name), png).expect("save the screenshot");
}

async fn log_in(browser: &Browser, page: &str, name: &str) {
    browser.goto(page).await.unwrap();
    wait_js(browser, "connected", "document.getElementById('status').textContent === 'connected'").await;
    type_into(browser, "#name", name).await;
    type_into(browser, "#password", &format!("{name}-password")).await;
    css(browser, "#login").await.click().await.unwrap();
    wait_js(browser, "logged in", "!document.getElementById('matches-box').hidden").await;
}

async fn balance(browser: &Browser, expected: u64, what: &str) {
    wait_js(browser, what, &format!("document.getElementById('balance').textContent === '{expected}'")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_bet_the_admin_settles_in_the_page_and_pages_reconnect_by_themselves() {
    let Some((chromium, driver_bin)) = browser_binaries() else { return };
    let mut cluster = Cluster::start(true).await;
    let driver = start_driver(&driver_bin);
    let profiles = tempfile::tempdir().expect("profiles");
    let open = |name: &str| profiles.path().join(name);
    let (admin, ann, bob) = (
        open_browser(&driver, &chromium, &open("admin")).await,
        open_browser(&driver, &chromium, &open("ann")).await,
        open_browser(&driver, &chromium, &open("bob")).await,
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
