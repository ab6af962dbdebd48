//! Unit tests of the proxy's session table: no sockets, only queues.

use std::time::Duration;

use super::super::resume::Ending;
use super::*;
use crate::session::{LoginNotice, LoginOrder};

fn table(cfg: SessionsConfig, queue: usize) -> Sessions {
    let proxy = NodeId::of("127.0.0.1", 1);
    let ids = crate::id::SessionIds::starting_at(proxy.clone(), 1);
    Sessions::with_ids(ids, proxy, queue, 1024, cfg, Arc::default())
}

fn unique() -> SessionsConfig {
    SessionsConfig { unique_login: true, ..SessionsConfig::default() }
}

fn body(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

#[tokio::test]
async fn queued_push_bytes_are_bounded_and_released_as_written() {
    let sessions = table(SessionsConfig::default(), 64).with_send_bytes(100);
    let root = CancellationToken::new();
    let mut s = sessions.open(&root);
    let forty = Bytes::from(vec![b' '; 40]);
    sessions.push(1, 7, forty.clone()).unwrap();
    assert_eq!(sessions.buffered_bytes(), 52, "body and header");
    let written = s.outbound.recv().await.unwrap();
    s.budget.release(written.cost());
    assert_eq!(sessions.buffered_bytes(), 0);
    sessions.push(1, 7, forty.clone()).unwrap();
    // 52 + 52 > 100, though the frame queue has room for 62 more.
    assert_eq!(sessions.push(1, 7, forty).unwrap_err().code(), crate::Code::OVERLOADED);
    assert_eq!(sessions.stop_reason(1, s.generation), Some(Stop::TooSlow));
    assert_eq!(sessions.buffered_bytes(), 52, "the refused push holds nothing");
    sessions.end(1, s.generation, false, "too slow");
    drop(s);
    assert_eq!(sessions.buffered_bytes(), 0, "a closed session's queue leaves the total");
}

#[tokio::test]
async fn pushes_reach_the_session_and_a_full_queue_kicks_it() {
    let sessions = table(SessionsConfig::default(), 2);
    let root = CancellationToken::new();
    let mut s = sessions.open(&root);
    assert_eq!(s.id.seq(), 1);
    sessions.push(1, 7, body("{}")).unwrap();
    let frame = s.outbound.recv().await.unwrap().encode();
    assert_eq!(&frame[4..8], &7i32.to_le_bytes());
    assert_eq!(&frame[8..12], &0i32.to_le_bytes(), "not opted in to resume: version 0");
    sessions.push(1, 7, Bytes::new()).unwrap();
    sessions.push(1, 7, Bytes::new()).unwrap();
    assert_eq!(sessions.push(1, 7, Bytes::new()).unwrap_err().code(), crate::Code::OVERLOADED);
    assert!(s.kick.is_cancelled());
    assert_eq!(sessions.stop_reason(1, s.generation), Some(Stop::TooSlow));
    let Ending::Closed(closed) = sessions.end(1, s.generation, true, "lost") else { panic!("closed") };
    assert_eq!(closed.reason, "too slow");
    assert_eq!(sessions.push(1, 7, Bytes::new()).unwrap_err().code(), crate::Code::NOT_FOUND);
    assert_eq!(sessions.len(), 0);
}

#[tokio::test]
async fn user_pushes_reach_every_session_of_the_user_until_it_closes() {
    let sessions = table(SessionsConfig::default(), 8);
    let root = CancellationToken::new();
    let mut a = sessions.open(&root);
    let mut b = sessions.open(&root);
    let _c = sessions.open(&root);
    let bound = sessions.bind(a.id.seq(), Some("alice"), None).unwrap();
    assert_eq!(bound.uid.as_deref(), Some("alice"));
    assert!(bound.closed.is_empty(), "no unique login: both devices stay");
    sessions.bind(b.id.seq(), Some("alice"), None).unwrap();
    assert_eq!(sessions.push_user("alice", 5, &body("1")).unwrap(), 2);
    assert_eq!(a.outbound.recv().await.unwrap().body, body("1"));
    assert_eq!(b.outbound.recv().await.unwrap().body, body("1"));
    assert_eq!(sessions.request_info(a.id.seq(), false).uid.as_deref(), Some("alice"));
    let Ending::Closed(closed) = sessions.end(a.id.seq(), a.generation, false, "closed") else { panic!() };
    assert_eq!(closed.uid.as_deref(), Some("alice"));
    assert_eq!(sessions.push_user("alice", 5, &body("2")).unwrap(), 1);
    let rebound = sessions.bind(b.id.seq(), Some("bob"), None).unwrap();
    assert_eq!(rebound.previous.as_deref(), Some("alice"));
    assert_eq!(sessions.push_user("alice", 5, &body("3")).unwrap(), 0);
    sessions.bind(b.id.seq(), None, None).unwrap();
    assert_eq!(sessions.push_user("bob", 5, &body("4")).unwrap(), 0);
}

#[tokio::test]
async fn unique_login_kicks_older_sessions_here_and_follows_the_authoritys_order() {
    let sessions = table(unique(), 8);
    let root = CancellationToken::new();
    let old = sessions.open(&root);
    let new = sessions.open(&root);
    let pending = || Some(LoginOrder::Pending { authority: "route_r".into(), claimed: 100 });
    sessions.bind(old.id.seq(), Some("u"), pending()).unwrap();
    sessions.bind(new.id.seq(), Some("u"), pending()).unwrap();
    assert!(old.kick.is_cancelled() && !new.kick.is_cancelled());
    assert_eq!(
        sessions.stop_reason(old.id.seq(), old.generation),
        Some(Stop::Kicked("logged in elsewhere".into()))
    );
    let notice = |stamp, session: String| LoginNotice { session, stamp, authority: "route_r".into() };
    // The authority ordered another proxy's login before ours (ours is
    // still pending there): ours is the newer one.
    assert!(sessions.ordered("u", &notice(5, "x_1".into())).is_empty());
    assert!(!new.kick.is_cancelled());
    // Then ours: its own notice records its stamp and kicks nothing.
    assert!(sessions.ordered("u", &notice(6, new.id.to_string())).is_empty());
    assert!(!new.kick.is_cancelled());
    // A login the authority orders after it kicks it.
    assert!(sessions.ordered("u", &notice(7, "x_2".into())).is_empty(), "attached: closed by its connection");
    assert!(new.kick.is_cancelled());
}

#[tokio::test]
async fn without_unique_login_no_order_is_kept_and_nothing_is_kicked() {
    let sessions = table(SessionsConfig::default(), 8);
    let root = CancellationToken::new();
    let (a, b) = (sessions.open(&root), sessions.open(&root));
    let ordered = |s: &OpenSession| Some(LoginOrder::Ordered { stamp: 1, session: s.id.to_string() });
    assert!(sessions.bind(a.id.seq(), Some("u"), ordered(&a)).unwrap().order.is_none());
    sessions.bind(b.id.seq(), Some("u"), ordered(&b)).unwrap();
    let later = LoginNotice { session: "x_1".into(), stamp: 9, authority: "route_r".into() };
    assert!(sessions.ordered("u", &later).is_empty());
    assert!(!a.kick.is_cancelled() && !b.kick.is_cancelled());
}

#[tokio::test]
async fn groups_reach_members_only_and_forget_closed_sessions() {
    let sessions = table(SessionsConfig { max_groups_per_session: 2, ..SessionsConfig::default() }, 8);
    let root = CancellationToken::new();
    let mut a = sessions.open(&root);
    let b = sessions.open(&root);
    let mut c = sessions.open(&root);
    sessions.join("quotes", a.id.seq()).unwrap();
    sessions.join("quotes", a.id.seq()).unwrap();
    sessions.bind(c.id.seq(), Some("carol"), None).unwrap();
    assert_eq!(sessions.join_user("quotes", "carol"), 1);
    assert_eq!(sessions.broadcast("quotes", 9, &body("q"), None).unwrap(), 2);
    assert_eq!(a.outbound.recv().await.unwrap().command, 9);
    assert_eq!(c.outbound.recv().await.unwrap().command, 9);
    // Leaving the sender out.
    assert_eq!(sessions.broadcast("quotes", 10, &body("q"), Some(a.id.seq())).unwrap(), 1);
    assert_eq!(c.outbound.recv().await.unwrap().command, 10);
    assert!(a.outbound.try_recv().is_err(), "the excepted member got nothing");
    sessions.join("other", a.id.seq()).unwrap();
    assert_eq!(sessions.join("third", a.id.seq()).unwrap_err().code(), crate::Code::BAD_REQUEST);
    sessions.leave_user("quotes", "carol");
    sessions.end(a.id.seq(), a.generation, false, "closed");
    assert_eq!(sessions.broadcast("quotes", 9, &body("q"), None).unwrap(), 0);
    assert_eq!(sessions.lock().groups.len(), 0, "empty groups are forgotten");
    drop(b);
}

#[test]
fn every_slow_client_disconnection_is_counted_once_whatever_push_overflowed() {
    let sessions = table(SessionsConfig::default(), 1);
    let root = CancellationToken::new();
    let (a, b, c) = (sessions.open(&root), sessions.open(&root), sessions.open(&root));
    let slow = || SessionStats::get(&sessions.stats.slow_disconnects);
    sessions.push(a.id.seq(), 7, body("x")).unwrap();
    assert_eq!(sessions.push(a.id.seq(), 7, body("x")).unwrap_err().code(), crate::Code::OVERLOADED);
    assert_eq!(slow(), 1, "a push to one session");
    assert!(sessions.push(a.id.seq(), 7, body("x")).is_err());
    assert_eq!(slow(), 1, "a closing session is not counted again");
    sessions.join("quotes", b.id.seq()).unwrap();
    assert_eq!(sessions.broadcast("quotes", 9, &body("q"), None).unwrap(), 1);
    assert_eq!(sessions.broadcast("quotes", 9, &body("q"), None).unwrap(), 0);
    assert_eq!(slow(), 2, "a group broadcast");
    sessions.bind(c.id.seq(), Some("carol"), None).unwrap();
    assert_eq!(sessions.push_user("carol", 9, &body("u")).unwrap(), 1);
    assert_eq!(sessions.push_user("carol", 9, &body("u")).unwrap(), 0);
    assert_eq!(slow(), 3, "a push to a user");
    assert!(a.kick.is_cancelled() && b.kick.is_cancelled() && c.kick.is_cancelled());
}

#[tokio::test]
async fn session_data_is_bounded_and_sent_with_requests() {
    let cfg = SessionsConfig { max_data_keys: 1, ..SessionsConfig::default() };
    let sessions = table(cfg, 8);
    let s = sessions.open(&CancellationToken::new());
    sessions.set_data(s.id.seq(), "room", Some("7")).unwrap();
    assert_eq!(
        sessions.set_data(s.id.seq(), "seat", Some("1")).unwrap_err().code(),
        crate::Code::BAD_REQUEST
    );
    assert_eq!(sessions.request_info(s.id.seq(), false).data.get("room").map(String::as_str), Some("7"));
    sessions.set_data(s.id.seq(), "room", None).unwrap();
    assert!(sessions.request_info(s.id.seq(), false).data.is_empty());
}

#[tokio::test]
async fn a_lost_session_is_kept_numbered_and_replayed_exactly_once_on_resume() {
    let sessions = table(SessionsConfig::default(), 8);
    let root = CancellationToken::new();
    let mut first = sessions.open(&root);
    let seq = first.id.seq();
    let (token, last) = sessions.opt_in(seq).unwrap();
    assert_eq!(last, 0);
    sessions.bind(seq, Some("u"), None).unwrap();
    sessions.push(seq, 1, body("a")).unwrap();
    assert_eq!(first.outbound.recv().await.unwrap().seq, 1);
    let Ending::Detached { generation } = sessions.end(seq, first.generation, true, "lost") else { panic!() };
    sessions.push(seq, 1, body("b")).unwrap();
    sessions.push_user("u", 1, &body("c")).unwrap();
    let second = sessions.open(&root);
    let resumed = sessions.resume(second.id.seq(), second.generation, &token, 1).unwrap();
    assert_eq!(resumed.id.seq(), seq);
    let replayed: Vec<(i32, Bytes)> = resumed.replay.iter().map(|o| (o.seq, o.body.clone())).collect();
    assert_eq!(replayed, [(2, body("b")), (3, body("c"))]);
    assert!(sessions.expire(seq, generation).is_none(), "resumed: the old grace timer does nothing");
    assert_eq!(sessions.len(), 1, "the temporary session is gone");
    assert_eq!(sessions.request_info(seq, false).uid.as_deref(), Some("u"), "binding kept");
    let mut second = second;
    sessions.push(seq, 1, body("d")).unwrap();
    assert_eq!(second.outbound.recv().await.unwrap().seq, 4, "numbering goes on");
}

#[tokio::test]
async fn a_half_open_connection_is_replaced_and_wrong_tokens_are_refused() {
    let sessions = table(SessionsConfig::default(), 8);
    let root = CancellationToken::new();
    let old = sessions.open(&root);
    let (token, _) = sessions.opt_in(old.id.seq()).unwrap();
    let probe = sessions.open(&root);
    let forged = format!("{}.{}", old.id, "0".repeat(32));
    for bad in [forged.as_str(), "garbage", &token.replace(&format!("_{}.", old.id.seq()), "_99.")] {
        let refused = sessions.resume(probe.id.seq(), probe.generation, bad, 0).unwrap_err();
        assert!(matches!(refused.status.code().as_u32(), 400 | 404), "{bad}: {:?}", refused.status);
    }
    let resumed = sessions.resume(probe.id.seq(), probe.generation, &token, 0).unwrap();
    assert_eq!(resumed.id, old.id);
    assert!(old.kick.is_cancelled());
    assert_eq!(sessions.stop_reason(old.id.seq(), old.generation), Some(Stop::Replaced));
    assert!(matches!(sessions.end(old.id.seq(), old.generation, true, "lost"), Ending::NotOurs));
    assert_eq!(sessions.len(), 1);
}

#[tokio::test]
async fn missed_pushes_beyond_the_buffer_refuse_resume_and_close_the_session() {
    let cfg = SessionsConfig { resume_buffer: 2, ..SessionsConfig::default() };
    let sessions = table(cfg, 8);
    let root = CancellationToken::new();
    let s = sessions.open(&root);
    let (token, _) = sessions.opt_in(s.id.seq()).unwrap();
    let Ending::Detached { .. } = sessions.end(s.id.seq(), s.generation, true, "lost") else { panic!() };
    for _ in 0..3 {
        sessions.push(s.id.seq(), 1, body("x")).unwrap();
    }
    let next = sessions.open(&root);
    let refused = sessions.resume(next.id.seq(), next.generation, &token, 0).unwrap_err();
    assert_eq!(refused.status.code(), super::super::resume::GONE);
    assert_eq!(refused.closed.expect("closed for good").reason, "resume failed");
    assert_eq!(sessions.len(), 1, "only the new connection's session is left");
}

#[tokio::test]
async fn detached_sessions_expire_and_closed_or_kicked_ones_are_never_detached() {
    let sessions = table(SessionsConfig::default(), 8);
    let root = CancellationToken::new();
    let a = sessions.open(&root);
    sessions.opt_in(a.id.seq()).unwrap();
    let Ending::Detached { generation } = sessions.end(a.id.seq(), a.generation, true, "lost") else {
        panic!()
    };
    let closed = sessions.expire(a.id.seq(), generation).unwrap();
    assert_eq!(closed.reason, "expired");
    let b = sessions.open(&root);
    sessions.opt_in(b.id.seq()).unwrap();
    assert!(matches!(sessions.end(b.id.seq(), b.generation, false, "closed"), Ending::Closed(_)));
    let c = sessions.open(&root);
    sessions.opt_in(c.id.seq()).unwrap();
    sessions.kick(c.id.seq(), "bye").unwrap();
    let Ending::Closed(closed) = sessions.end(c.id.seq(), c.generation, true, "lost") else { panic!() };
    assert_eq!(closed.reason, "kicked: bye");
    let off = table(SessionsConfig { resume_grace: Duration::ZERO, ..SessionsConfig::default() }, 8);
    let d = off.open(&root);
    off.opt_in(d.id.seq()).unwrap();
    assert!(matches!(off.end(d.id.seq(), d.generation, true, "lost"), Ending::Closed(_)), "resume off");
}
