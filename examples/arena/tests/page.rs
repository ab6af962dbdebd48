//! The page in headless Chromium: two browser players find a match, see
//! the board, play the round to the result through the page's moves; one
//! drops its connection meanwhile, shows "reconnecting", and re-joins its
//! seat ("rejoined") within the window. Under `CI=true` a missing
//! Chromium fails the test.

mod support;

use espoir_testkit::browser::{Chromium, click, screenshot, type_into, wait_js};
use fantoccini::Client as Browser;
use serde_json::{Value, json};
use support::*;

/// The page's next state after the `seen`-th, or `None` once the round
/// is over.
async fn next_state(browser: &Browser, seen: u64) -> Option<(Value, u64)> {
    let expr = format!(
        "(arena.result && {{ over: true }}) || (arena.states > {seen} && {{ state: arena.last, n: arena.states }})"
    );
    let got = wait_js(browser, "a new state or the result", &expr).await;
    if got["over"] == true {
        return None;
    }
    Some((got["state"].clone(), got["n"].as_u64().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browser_players_play_a_round_and_one_rejoins_after_a_drop() {
    let Some(chromium) = Chromium::find() else { return };
    let arena = start(app(json!({ "width": 8, "height": 6, "coins": 5 }))).await;
    let page =
        format!("http://{}/arena/web/index.html?ws={}&minDelay=50", arena.proxy.http_addr(), arena.ws_url());
    let (profile_a, profile_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ann = chromium.open(profile_a.path(), (900, 600)).await;
    let bob = chromium.open(profile_b.path(), (900, 600)).await;
    for (browser, name) in [(&ann, "ann"), (&bob, "bob")] {
        browser.goto(&page).await.unwrap();
        wait_js(browser, "the connection", "window.arena && arena.connection === 'open'").await;
        type_into(browser, "#name", name).await;
        click(browser, "#play").await;
    }
    for browser in [&ann, &bob] {
        let both_here = "arena.seat === 'seated' && arena.last && arena.last.phase === 'playing' \
                         && arena.last.players.every(p => p.seat === 'here')";
        wait_js(browser, "the board with both players", both_here).await;
    }
    let room = wait_js(&bob, "the room", "arena.room").await;

    // Ann's connection drops: her page says so, reconnects, logs in again
    // and takes her seat back.
    // The service hears of the drop by the old session's close notice and
    // of the return by the new login's join; the two sessions' messages
    // keep no order between them, so the seat comes back either way
    // (`returned` or `replaced`), and Bob is told it is back.
    ann.execute("arena.drop();", vec![]).await.unwrap();
    wait_js(&ann, "Ann's seat back", "arena.seat === 'returned' && arena.rejoins === 1").await;
    let shown = wait_js(&ann, "the seats shown", "arena.seats").await;
    assert_eq!(shown, json!(["seated", "reconnecting", "returned"]));
    wait_js(&bob, "Ann back", "arena.events.some(e => e.player === 'ann' && e.seat === 'back')").await;
    assert_eq!(wait_js(&ann, "the same room", "arena.room").await, room);
    let shown = wait_js(&ann, "the seat line", "document.getElementById('seat').textContent").await;
    assert_eq!(shown, "rejoined");
    wait_js(&bob, "Ann back", "arena.last.players.find(p => p.name === 'ann').seat === 'here'").await;

    // Both steer towards coins through the page until the round ends.
    let mut seen = [0u64, 0];
    let mut open = [true, true];
    while open.iter().any(|o| *o) {
        for (i, (browser, name)) in [(&ann, "ann"), (&bob, "bob")].into_iter().enumerate() {
            if !open[i] {
                continue;
            }
            match next_state(browser, seen[i]).await {
                None => open[i] = false,
                Some((state, n)) => {
                    seen[i] = n;
                    if let Some(dir) = towards_coin(&state, name) {
                        browser.execute("arena.move(arguments[0]);", vec![json!(dir)]).await.unwrap();
                    }
                }
            }
        }
    }
    let result = wait_js(&ann, "the result", "arena.result").await;
    assert_eq!(wait_js(&bob, "the result", "arena.result").await, result);
    assert_eq!(result["reason"], "coins", "{result}");
    let total: u64 = result["scores"].as_array().unwrap().iter().map(|s| s["score"].as_u64().unwrap()).sum();
    assert_eq!(total, 5, "{result}");
    let text = wait_js(&bob, "the result line", "document.getElementById('result').textContent").await;
    assert!(text.as_str().unwrap().starts_with("Round over (coins)"), "{text}");
    // Kept under target/ for a look after a run, not committed.
    screenshot(&ann, &repo().join("target/browser/arena.png")).await;
    ann.close().await.unwrap();
    bob.close().await.unwrap();
    arena.wait_no_rooms().await;
}
