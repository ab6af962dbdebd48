//! Groups and broadcast at scale: 10 000 members on two proxies, one
//! broadcast. It must cost one message per proxy (counted) and reach every
//! member exactly once.
//!
//! 10 000 clients and their 10 000 server-side sockets would not fit one
//! process's descriptor limit on many machines, so the clients run in a
//! child process: this test binary run again with `--ignored swarm_child`
//! and `SWARM_ENV` set, which makes [`swarm_child`] act as the client swarm.
//! `swarm_child` is ignored so that a normal run does not count it as a
//! passing test; run by hand without `SWARM_ENV`, it fails.

mod session_support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use espoir::{CLIENT_HEADER_LEN, ClientFrame, SessionStats};
use espoir_testkit::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use session_support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const SWARM_ENV: &str = "ESPOIR_TEST_SWARM";
const MEMBERS: usize = 10_000;
const GROUP: &str = "quotes";
/// Generous: connecting 10 000 websockets on a loaded 2-core debug build.
const SWARM_WAIT: Duration = Duration::from_secs(300);
/// How often each member sends a heartbeat: well within the proxies'
/// 30 s idle timeout.
const HEARTBEAT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_10000_members_on_two_proxies_costs_two_messages_and_reaches_each_once() {
    let c = cluster(2, 1, "").await;
    let urls = format!("{},{}", c.proxies[0].ws_url(), c.proxies[1].ws_url());
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["swarm_child", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(SWARM_ENV, format!("{urls};{MEMBERS};{GROUP}"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the swarm starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_report = async || loop {
        let line =
            tokio::time::timeout(SWARM_WAIT, lines.next_line()).await.expect("the swarm reports in time");
        let line = line.unwrap().expect("the swarm reports before exiting");
        // libtest may print "test swarm_child ... " on the same line.
        if let Some((_, report)) = line.split_once("SWARM ") {
            return report.to_owned();
        }
    };
    assert_eq!(next_report().await, format!("ready {MEMBERS}"));
    let members: usize = c.proxies.iter().map(|p| p.node.sessions()).sum();
    assert_eq!(members, MEMBERS);

    let stat = |node: &TestNode, f: fn(&SessionStats) -> &std::sync::atomic::AtomicU64| {
        SessionStats::get(f(node.node.session_stats()))
    };
    let sent_before = stat(&c.services[0], |s| &s.fanouts_sent);
    let relayed_before = stat(&c.route, |s| &s.fanouts_relayed);
    let mut trigger = Client::connect(&c.proxies[0].ws_url()).await;
    trigger.request(BROADCAST, &json!({ "group": GROUP, "value": { "price": 1.25 } })).await;

    assert_eq!(next_report().await, format!("received {MEMBERS}"));
    assert_eq!(stat(&c.services[0], |s| &s.fanouts_sent) - sent_before, 1, "one message to the route");
    assert_eq!(stat(&c.route, |s| &s.fanouts_relayed) - relayed_before, 2, "one message per proxy");
    let received: u64 = c.proxies.iter().map(|p| stat(p, |s| &s.broadcasts_received)).sum();
    assert_eq!(received, 2, "each proxy received the broadcast once");
    let frames: u64 = c.proxies.iter().map(|p| stat(p, |s| &s.broadcast_frames)).sum();
    assert_eq!(frames, MEMBERS as u64, "one frame per member");

    // A second broadcast closes the count: each member's frames arrive in
    // order, so a duplicate of the first would come before it.
    trigger.request(BROADCAST, &json!({ "group": GROUP, "value": { "end": true } })).await;
    assert_eq!(next_report().await, format!("done received={MEMBERS} duplicates=0"));
    let status = tokio::time::timeout(SWARM_WAIT, child.wait()).await.expect("the swarm exits").unwrap();
    assert!(status.success(), "the swarm failed: {status}");
}

/// The client swarm, run in a child process by the test above (ignored
/// otherwise). Connects every member, has it join the group, reports
/// `ready`; reports `received` once every member has the broadcast, and
/// `done` with the duplicates once every member has the closing broadcast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the client swarm of the 10 000-member broadcast test, which runs it in a child process"]
async fn swarm_child() {
    let spec = std::env::var(SWARM_ENV).unwrap_or_else(|_| {
        panic!("{SWARM_ENV} is unset: this is the swarm of the broadcast test, not a test")
    });
    let mut parts = spec.split(';');
    let urls: Vec<String> = parts.next().unwrap().split(',').map(str::to_owned).collect();
    let members: usize = parts.next().unwrap().parse().unwrap();
    let group = parts.next().unwrap().to_owned();

    let joined = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let duplicates = Arc::new(AtomicUsize::new(0));
    let ended = Arc::new(AtomicUsize::new(0));
    // Members whose connection failed or ended: the run cannot succeed.
    let lost = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let connecting = Arc::new(Semaphore::new(200));
    let mut tasks = Vec::with_capacity(members);
    for n in 0..members {
        let url = urls[n % urls.len()].clone();
        let (group, joined, received, duplicates, ended, lost) = (
            group.clone(),
            Arc::clone(&joined),
            Arc::clone(&received),
            Arc::clone(&duplicates),
            Arc::clone(&ended),
            Arc::clone(&lost),
        );
        let (connecting, mut stop) = (Arc::clone(&connecting), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            // Held until joined: at most 200 members are connecting at once.
            let mut permit = Some(connecting.acquire_owned().await.unwrap());
            let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
            let Ok((mut ws, _)) =
                tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true).await
            else {
                lost.fetch_add(1, Ordering::SeqCst);
                return;
            };
            let join = ClientFrame::new(JOIN, json!({ "group": group }).to_string()).encode(1 << 20).unwrap();
            ws.send(Message::Binary(join)).await.unwrap();
            // Heartbeats, as real clients send them: connecting every
            // member can take longer than the proxies' idle timeout (30 s)
            // on a starved machine, and a member dropped for silence would
            // miss the broadcast.
            let heartbeat = ClientFrame::new(10000, "{}").encode(1 << 20).unwrap();
            let mut beat = tokio::time::interval(HEARTBEAT);
            beat.reset();
            let mut seen = 0;
            loop {
                let msg = tokio::select! {
                    msg = ws.next() => msg,
                    _ = beat.tick() => {
                        if ws.send(Message::Binary(heartbeat.clone())).await.is_err() {
                            lost.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        continue;
                    }
                    // The guard `wait_for` returns is not Send: drop it here.
                    _ = async { stop.wait_for(|s| *s).await.is_ok() } => return,
                };
                let data = match msg {
                    Some(Ok(Message::Binary(data))) => data,
                    Some(Ok(_)) => continue,
                    None | Some(Err(_)) => {
                        lost.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                };
                let command = i32::from_le_bytes(data[4..8].try_into().unwrap());
                if command == JOIN {
                    joined.fetch_add(1, Ordering::SeqCst);
                    drop(permit.take());
                } else if command == BROADCASTED {
                    let body: serde_json::Value = serde_json::from_slice(&data[CLIENT_HEADER_LEN..]).unwrap();
                    if body["end"] == true {
                        ended.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    seen += 1;
                    let counter = if seen == 1 { &received } else { &duplicates };
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    swarm_reaches(&joined, members, &lost).await;
    println!("SWARM ready {members}");
    swarm_reaches(&received, members, &lost).await;
    println!("SWARM received {}", received.load(Ordering::SeqCst));
    swarm_reaches(&ended, members, &lost).await;
    println!(
        "SWARM done received={} duplicates={}",
        received.load(Ordering::SeqCst),
        duplicates.load(Ordering::SeqCst)
    );
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
}

/// Waits until `counter` reaches `target`; fails at once if a member lost
/// its connection, as it then never will.
async fn swarm_reaches(counter: &AtomicUsize, target: usize, lost: &AtomicUsize) {
    let deadline = tokio::time::Instant::now() + SWARM_WAIT;
    while counter.load(Ordering::SeqCst) < target {
        assert_eq!(lost.load(Ordering::SeqCst), 0, "members lost their connection");
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {target}",
            counter.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
