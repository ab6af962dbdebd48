//! What the browser tests do in the betting page: log in, read the
//! balance, take screenshots into target/browser/.

use std::path::{Path, PathBuf};

use espoir_testkit::browser::{css, type_into, wait_js};
use fantoccini::Client as Browser;

/// Each page's window: a phone's width.
pub const WINDOW: (u32, u32) = (480, 1000);

pub fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser");
    std::fs::create_dir_all(&dir).expect("target/browser");
    dir
}

pub async fn screenshot(browser: &Browser, name: &str) {
    espoir_testkit::browser::screenshot(browser, &screenshots().join(name)).await;
}

pub async fn log_in(browser: &Browser, page: &str, name: &str) {
    browser.goto(page).await.unwrap();
    wait_js(browser, "connected", "document.getElementById('status').textContent === 'connected'").await;
    type_into(browser, "#name", name).await;
    type_into(browser, "#password", &format!("{name}-password")).await;
    css(browser, "#login").await.click().await.unwrap();
    wait_js(browser, "logged in", "!document.getElementById('matches-box').hidden").await;
}

pub async fn balance(browser: &Browser, expected: u64, what: &str) {
    wait_js(browser, what, &format!("document.getElementById('balance').textContent === '{expected}'")).await;
}
