//! Headless Chromium driven over WebDriver (feature `browser`): Debian's
//! `chromium` and `chromium-driver`, installed by `.ci/provision-browser`.
//!
//! [`Chromium::find`] skips (returns `None`) when they are missing, except
//! under `CI=true`, where a missing browser fails the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::wait::WAIT;

/// The flags the project runs Chromium with: headless, no sandbox (CI runs
/// as root in containers), and nothing that reaches the network by itself.
pub const CHROMIUM_FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// Chromium (`ESPOIR_CHROMIUM` or on `PATH`) and a chromedriver serving it.
#[derive(Debug)]
pub struct Chromium {
    binary: PathBuf,
    driver: Child,
    url: String,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Chromium {
    /// Starts chromedriver on a free port, or `None` (skip) when Chromium
    /// or chromedriver is missing outside CI.
    ///
    /// # Panics
    /// Under `CI=true` when either is missing; when chromedriver does not
    /// start.
    pub fn find() -> Option<Chromium> {
        let binary = std::env::var_os("ESPOIR_CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| on_path(&["chromium", "chromium-browser"]));
        let (binary, driver) = match (binary, on_path(&["chromedriver"])) {
            (Some(b), Some(d)) => (b, d),
            _ => {
                let why = "chromium or chromedriver not found: run .ci/provision-browser";
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true: not skipping)");
                eprintln!("skipping: {why}");
                return None;
            }
        };
        let port = crate::process::free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        Some(Chromium { binary, driver, url: format!("http://127.0.0.1:{port}") })
    }

    /// A new browser window `width`×`height` with its own fresh profile
    /// in `profile`.
    ///
    /// # Panics
    /// When no session starts within [`WAIT`].
    pub async fn open(&self, profile: &Path, size: (u32, u32)) -> Browser {
        self.open_with(profile, size, &[]).await
    }

    /// [`Chromium::open`] with more Chromium flags (say, a certificate to
    /// trust: `--ignore-certificate-errors-spki-list=…`).
    ///
    /// # Panics
    /// When no session starts within [`WAIT`].
    pub async fn open_with(&self, profile: &Path, (width, height): (u32, u32), extra: &[String]) -> Browser {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--window-size={width},{height}"));
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend(extra.iter().cloned());
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), json!({ "binary": self.binary, "args": args }));
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // chromedriver may not listen yet right after it was spawned.
            match ClientBuilder::new(HttpConnector::new()).capabilities(caps.clone()).connect(&self.url).await
            {
                Ok(browser) => return browser,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    eprintln!("waiting for chromedriver: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no browser session: {e}"),
            }
        }
    }
}

/// Polls a JavaScript expression until it is truthy; returns its value.
///
/// # Panics
/// After [`WAIT`], with the page's text.
pub async fn wait_js(browser: &Browser, what: &str, expr: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let value = browser.execute(&format!("return ({expr});"), vec![]).await.unwrap_or(Value::Null);
        if !matches!(value, Value::Null | Value::Bool(false)) && value != json!("") {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            let text = browser.execute("return document.body.innerText;", vec![]).await.unwrap_or_default();
            panic!("timed out waiting for {what} ({expr}); page text:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The element `selector` names, once it exists.
///
/// # Panics
/// After [`WAIT`].
pub async fn css(browser: &Browser, selector: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
}

/// Replaces the text of the input `selector` names.
///
/// # Panics
/// When the input never appears or refuses the keys.
pub async fn type_into(browser: &Browser, selector: &str, text: &str) {
    let input = css(browser, selector).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// Clicks the element `selector` names.
///
/// # Panics
/// When it never appears or cannot be clicked.
pub async fn click(browser: &Browser, selector: &str) {
    css(browser, selector).await.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

/// Saves a PNG of the page to `path`, making its directory.
///
/// # Panics
/// When the browser or the disk refuses.
pub async fn screenshot(browser: &Browser, path: &Path) {
    let png = browser.screenshot().await.expect("a screenshot");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the screenshot's directory");
    }
    std::fs::write(path, png).expect("save the screenshot");
}
