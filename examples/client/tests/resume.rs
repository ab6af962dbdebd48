//! The Rust client resumes its session like the browser client: its
//! connection is cut in the middle of a stream of pushes (a relay between
//! it and the proxy drops both sockets, no close handshake), more pushes
//! are sent while it is away, and once it is back it has every push exactly
//! once and in order, the same session (login included), and requests
//! work. A session that expired meanwhile is refused, and the client
//! carries on as a new session whose pushes count from 1 again. Against a
//! scripted proxy: the client acknowledges every tenth push at once and the
//! rest after a second, and drops a repeated push.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use espoir::{
    ClientDecoder, ClientFrame, Context, DEFAULT_MAX_CLIENT_FRAME, SessionStats, Status, events,
    register_event,
};
use espoir_client::{ACK_COMMAND, Client, ClientOptions, Event, Push, RESUME_COMMAND};
use espoir_testkit::{Ports, TestNode, WAIT, local_proxy_config_ids, wait_until};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

const LOGIN: i32 = 20100;
const PUSH_USER: i32 = 20101;
const WHO: i32 = 20102;
const STREAMED: i32 = 20199;

#[derive(Deserialize)]
struct Login {
    uid: String,
}

#[register_event(20100)]
async fn login(ctx: Context, req: Login) -> Result<Value, Status> {
    ctx.bind(req.uid).await?;
    Ok(json!({ "session": ctx.require_session()?.to_string() }))
}

#[derive(Deserialize)]
struct PushUser {
    uid: String,
    from: u32,
    n: u32,
}

/// Pushes `{"i": from..from + n}` to every session of `uid`.
#[register_event(20101)]
async fn push_user(ctx: Context, req: PushUser) -> Result<Value, Status> {
    for i in req.from..req.from + req.n {
        ctx.push_user(&req.uid, STREAMED, &json!({ "i": i }))?;
    }
    Ok(json!({ "pushed": req.n }))
}

#[register_event(20102)]
async fn who(ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "uid": ctx.uid(), "session": ctx.require_session()?.to_string() }))
}

/// A lone proxy that serves the commands above itself, with room in the
/// replay buffer for what the tests send while the client is away.
async fn proxy(sessions: &str) -> TestNode {
    let ports = Ports::bind().await;
    let ws = format!(r#""sessions": {{ "resume_buffer": 256, {sessions} }},"#);
    let config = local_proxy_config_ids(&ports, &ws, "", [20000, 29999]);
    TestNode::start_with(config, ports, |b| b.events(events![login, push_user, who])).await
}

/// A TCP relay in front of the proxy that the test can cut: cutting drops
/// every relayed socket at once (the proxy and the client each see the
/// connection vanish, as on a network failure) and refuses new ones until
/// it is restored.
struct Relay {
    url: String,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<JoinSet<()>>>,
    relayed: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}", listener.local_addr().expect("addr"));
        let up = Arc::new(AtomicBool::new(true));
        let links = Arc::new(Mutex::new(JoinSet::new()));
        let relayed = Arc::new(AtomicUsize::new(0));
        let (up2, links2, relayed2) = (up.clone(), links.clone(), relayed.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the client's dial fails
                }
                relayed2.fetch_add(1, Ordering::SeqCst);
                links2.lock().unwrap().spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Relay { url, up, links, relayed, accept }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.links.lock().unwrap().abort_all();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn client(url: &str) -> Client {
    let mut options = ClientOptions::new(url);
    options.reconnect = Some((Duration::from_millis(20), Duration::from_millis(100)));
    options.heartbeat = None;
    Client::connect(options).await.expect("connects")
}

/// Reads pushes of [`STREAMED`] until `{"i": until}`, appending `(seq, i)`.
async fn read_until(pushes: &mut broadcast::Receiver<Push>, got: &mut Vec<(i32, u64)>, until: u64) {
    let read = async {
        while got.last().is_none_or(|(_, i)| *i < until) {
            let push = pushes.recv().await.expect("no push lost to lag");
            if push.command == STREAMED {
                got.push((push.version, push.body["i"].as_u64().expect("a number")));
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("pushes up to {until} in time: {got:?}"));
}

async fn next_event(events: &mut broadcast::Receiver<Event>, want: impl Fn(&Event) -> bool) -> Event {
    let wait = async {
        loop {
            match events.recv().await.expect("the client runs") {
                event if want(&event) => return event,
                _ => {}
            }
        }
    };
    tokio::time::timeout(WAIT, wait).await.expect("the event in time")
}

fn stat(node: &TestNode, counter: impl Fn(&SessionStats) -> &std::sync::atomic::AtomicU64) -> u64 {
    SessionStats::get(counter(node.node.session_stats()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cut_mid_stream_resumes_with_every_push_once_in_order() {
    let proxy = proxy("").await;
    let relay = Relay::start(proxy.node.addresses().websocket.expect("a proxy")).await;
    let client = client(&relay.url).await;
    let mut pushes = client.pushes();
    let mut events = client.events();
    // The login's reply follows the resume opt-in, the client's first frame.
    let session = client.request(LOGIN, &json!({ "uid": "r" })).await.expect("login")["session"].clone();
    let controller = client_direct(&proxy).await;

    let mut got = Vec::new();
    controller.request(PUSH_USER, &json!({ "uid": "r", "from": 0, "n": 100 })).await.expect("push");
    read_until(&mut pushes, &mut got, 39).await;
    // Cut while the rest of the batch is on its way.
    relay.cut();
    next_event(&mut events, |e| matches!(e, Event::Disconnected { will_reconnect: true, .. })).await;
    wait_until("the proxy detaches the session", async || stat(&proxy, |s| &s.detached) == 1).await;
    controller.request(PUSH_USER, &json!({ "uid": "r", "from": 100, "n": 100 })).await.expect("push");

    relay.restore();
    let back = next_event(&mut events, |e| matches!(e, Event::Connected { reconnected: true, .. })).await;
    assert_eq!(back, Event::Connected { reconnected: true, resumed: true });
    controller.request(PUSH_USER, &json!({ "uid": "r", "from": 200, "n": 100 })).await.expect("push");
    read_until(&mut pushes, &mut got, 299).await;

    let values: Vec<u64> = got.iter().map(|(_, i)| *i).collect();
    assert_eq!(values, (0..300).collect::<Vec<u64>>(), "every push once, in order");
    let seqs: Vec<i32> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=300).collect::<Vec<i32>>(), "numbered without gaps or repeats");

    // The same session, still logged in, answering requests.
    let who = client.request(WHO, &json!({})).await.expect("a request after the resume");
    assert_eq!((who["uid"].clone(), who["session"].clone()), (json!("r"), session));
    assert_eq!(stat(&proxy, |s| &s.resumed), 1);
    assert_eq!(relay.relayed.load(Ordering::SeqCst), 2, "one connection before the cut, one after");
    assert_eq!(proxy.node.sessions(), 2, "the client's and the controller's");
    client.close().await;
    controller.close().await;
}

/// A program that closes its client and exits at once (its runtime, and
/// with it the connection task, gone): the close handshake is over when
/// `close` returns, so the proxy ends the session then instead of holding
/// it for a resume as after a network failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_closed_just_before_its_program_exits_ends_its_session_at_once() {
    let proxy = proxy("").await;
    let url = format!("ws://{}", proxy.node.addresses().websocket.expect("a proxy"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let client = client(&url).await;
            client.request(LOGIN, &json!({ "uid": "leaving" })).await.expect("login");
            client.close().await;
        });
        // Dropping the runtime here is the program's exit.
    })
    .join()
    .unwrap();
    wait_until("the proxy ends the session", async || proxy.node.sessions() == 0).await;
    assert_eq!(stat(&proxy, |s| &s.detached), 0, "closed on purpose, not held for a resume");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_session_expired_carries_on_as_a_new_session() {
    let proxy = proxy(r#""resume_grace": 0.2"#).await;
    let relay = Relay::start(proxy.node.addresses().websocket.expect("a proxy")).await;
    let client = client(&relay.url).await;
    let mut pushes = client.pushes();
    let mut events = client.events();
    client.request(LOGIN, &json!({ "uid": "late" })).await.expect("login");
    let controller = client_direct(&proxy).await;
    let mut got = Vec::new();
    controller.request(PUSH_USER, &json!({ "uid": "late", "from": 0, "n": 5 })).await.expect("push");
    read_until(&mut pushes, &mut got, 4).await;

    relay.cut();
    wait_until("the detached session expires", async || stat(&proxy, |s| &s.expired) == 1).await;
    relay.restore();
    let back = next_event(&mut events, |e| matches!(e, Event::Connected { reconnected: true, .. })).await;
    assert_eq!(back, Event::Connected { reconnected: true, resumed: false });
    let who = client.request(WHO, &json!({})).await.expect("a request on the new session");
    assert_eq!(who["uid"], Value::Null, "a new session: logged out");

    // Logged in again, its pushes count from 1 and none is taken for a
    // repeat of the old session's.
    client.request(LOGIN, &json!({ "uid": "late" })).await.expect("login again");
    controller.request(PUSH_USER, &json!({ "uid": "late", "from": 5, "n": 5 })).await.expect("push");
    read_until(&mut pushes, &mut got, 9).await;
    assert_eq!(got, (0..5).chain(0..5).zip(0..10).map(|(s, i)| (s + 1, i)).collect::<Vec<_>>());
    client.close().await;
    controller.close().await;
}

/// A second client, straight to the proxy, that drives the pushes.
async fn client_direct(proxy: &TestNode) -> Client {
    client(&proxy.ws_url()).await
}

/// The proxy's side of one websocket, played by the test.
struct Scripted {
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    decoder: ClientDecoder,
    unread: std::collections::VecDeque<ClientFrame>,
}

impl Scripted {
    async fn send(&mut self, command: i32, version: i32, body: Value) {
        let frame = ClientFrame { command, version, body: body.to_string().into() };
        let bytes = frame.encode(DEFAULT_MAX_CLIENT_FRAME).expect("a small frame");
        self.ws.send(Message::Binary(bytes)).await.expect("the client reads");
    }

    /// The next frame the client sent.
    async fn next(&mut self) -> (i32, Value) {
        let read = async {
            loop {
                if let Some(f) = self.unread.pop_front() {
                    return (f.command, serde_json::from_slice(&f.body).expect("JSON"));
                }
                let Some(Ok(Message::Binary(data))) = self.ws.next().await else { panic!("the client left") };
                let mut frames = Vec::new();
                self.decoder.feed(data, &mut frames).expect("valid frames");
                self.unread.extend(frames);
            }
        };
        tokio::time::timeout(WAIT, read).await.expect("a frame in time")
    }
}

#[tokio::test]
async fn pushes_are_acknowledged_every_tenth_at_once_the_rest_within_a_second_and_repeats_dropped() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let accept = async {
        let (stream, _) = listener.accept().await.expect("the client dials");
        let ws = tokio_tungstenite::accept_async(stream).await.expect("a websocket");
        Scripted { ws, decoder: ClientDecoder::new(DEFAULT_MAX_CLIENT_FRAME), unread: Default::default() }
    };
    let (client, mut proxy) = tokio::join!(client(&url), accept);
    let mut pushes = client.pushes();
    assert_eq!(proxy.next().await, (RESUME_COMMAND, json!({})), "the first frame opts in");
    proxy.send(RESUME_COMMAND, 0, json!({ "code": 200, "token": "t", "last": 0 })).await;

    for seq in 1..=10 {
        proxy.send(STREAMED, seq, json!({ "i": seq })).await;
    }
    assert_eq!(proxy.next().await, (ACK_COMMAND, json!({ "seq": 10 })), "the tenth at once");
    for seq in [11, 12, 12, 13] {
        proxy.send(STREAMED, seq, json!({ "i": seq })).await;
    }
    // Three more are not ten: the acknowledgement comes with the timer.
    assert_eq!(proxy.next().await, (ACK_COMMAND, json!({ "seq": 13 })));
    let mut got = Vec::new();
    read_until(&mut pushes, &mut got, 13).await;
    assert_eq!(got, (1..=13).map(|s| (s, u64::try_from(s).unwrap())).collect::<Vec<_>>(), "12 once");
    client.close().await;
}
