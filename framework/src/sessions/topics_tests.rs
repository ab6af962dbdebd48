//! Unit tests of topics on one proxy: no sockets, only queues.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::super::record::Outbound;
use super::super::table::{OpenSession, Sessions};
use super::TopicGauges;
use crate::config::{SessionsConfig, TopicPolicy, TopicsConfig};
use crate::id::{NodeId, SessionIds};
use crate::status::Code;
use crate::topic::{TopicMessage, TopicStats};

fn proxy(queue: usize, topics: TopicsConfig) -> Sessions {
    let proxy = NodeId::of("127.0.0.1", 1);
    let ids = SessionIds::starting_at(proxy.clone(), 1);
    Sessions::with_ids(ids, proxy, queue, 1024, SessionsConfig::default(), Arc::default())
        .with_topics(topics, Arc::new(TopicStats::default()))
}

fn policy(prefix: &str, retain: usize, conflate: bool) -> TopicPolicy {
    TopicPolicy { prefix: prefix.into(), retain, conflate, clients: true }
}

fn tick(topic: &str, key: &str, n: u32) -> TopicMessage {
    TopicMessage::new(topic, 3001, format!("{key}:{n}")).with_key(key)
}

/// Frames queued for `s`, then conflated ones, as the connection drains them.
fn drain(s: &mut OpenSession) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(push) = s.outbound.try_recv() {
        s.budget.release(push.cost());
        out.push(text(&push));
    }
    let mut map = s.pending.lock();
    while let Some((_, body)) = map.pop() {
        out.push(String::from_utf8(body.to_vec()).unwrap());
    }
    out
}

fn text(push: &Outbound) -> String {
    String::from_utf8(push.body.to_vec()).unwrap()
}

#[test]
fn subscribers_get_what_is_published_and_unsubscribed_ones_do_not() {
    let sessions = proxy(64, TopicsConfig::default());
    let root = CancellationToken::new();
    let (mut a, mut b) = (sessions.open(&root), sessions.open(&root));
    sessions.subscribe(a.id.seq(), "t").unwrap();
    sessions.subscribe(b.id.seq(), "t").unwrap();
    assert_eq!(sessions.publish_local(&tick("t", "k", 1)).unwrap(), 2);
    sessions.unsubscribe(b.id.seq(), "t").unwrap();
    assert_eq!(sessions.publish_local(&tick("t", "k", 2)).unwrap(), 1);
    assert_eq!(drain(&mut a), ["k:1", "k:2"]);
    assert_eq!(drain(&mut b), ["k:1"]);
    let other = sessions.publish_local(&tick("other", "k", 1)).unwrap();
    assert_eq!(other, 0, "nobody subscribes to it");
}

#[test]
fn a_new_subscriber_gets_the_snapshot_then_live_messages_without_gap_or_duplicate() {
    let sessions =
        proxy(64, TopicsConfig { policies: vec![policy("q.", 3, true)], ..TopicsConfig::default() });
    let root = CancellationToken::new();
    let mut s = sessions.open(&root);
    for n in 1..=5 {
        sessions.publish_local(&tick("q.A", "A", n)).unwrap();
    }
    assert_eq!(sessions.subscribe(s.id.seq(), "q.A").unwrap(), 3);
    sessions.publish_local(&tick("q.A", "A", 6)).unwrap();
    assert_eq!(drain(&mut s), ["A:3", "A:4", "A:5", "A:6"]);
    assert_eq!(TopicStats::get(&sessions.topic_stats.snapshot_frames), 3);
    // A topic with no policy keeps nothing.
    sessions.publish_local(&tick("x", "A", 1)).unwrap();
    assert_eq!(sessions.subscribe(s.id.seq(), "x").unwrap(), 0);
}

#[test]
fn the_snapshot_is_bounded_in_bytes() {
    let cfg = TopicsConfig {
        policies: vec![policy("", 100, true)],
        max_snapshot_bytes: 8,
        ..TopicsConfig::default()
    };
    let sessions = proxy(64, cfg);
    let root = CancellationToken::new();
    let mut s = sessions.open(&root);
    for n in 1..=5 {
        sessions.publish_local(&tick("t", "A", n)).unwrap();
    }
    sessions.subscribe(s.id.seq(), "t").unwrap();
    assert_eq!(drain(&mut s), ["A:4", "A:5"], "two 3-byte bodies fit in 8 bytes, three do not");
}

#[test]
fn a_slow_subscriber_is_conflated_per_key_and_a_fast_one_gets_everything() {
    let sessions = proxy(4, TopicsConfig::default());
    let root = CancellationToken::new();
    let (mut slow, mut fast) = (sessions.open(&root), sessions.open(&root));
    sessions.subscribe(slow.id.seq(), "q").unwrap();
    sessions.subscribe(fast.id.seq(), "q").unwrap();
    let mut fast_got = Vec::new();
    for n in 1..=1000 {
        let key = ["A", "B", "C"][n as usize % 3];
        assert_eq!(sessions.publish_local(&tick("q", key, n)).unwrap(), 2);
        fast_got.extend(drain_queue(&mut fast));
        let gauges = sessions.topic_gauges();
        assert!(gauges.pending_entries <= 3, "at most one entry per key: {gauges:?}");
    }
    assert_eq!(fast_got.len(), 1000, "the fast subscriber got every message");
    assert!(!slow.kick.is_cancelled(), "the slow one is conflated, not disconnected");
    let stats = &sessions.topic_stats;
    assert!(TopicStats::get(&stats.conflated) >= 990);
    assert_eq!(
        sessions.topic_gauges(),
        TopicGauges {
            topics: 1,
            retained_topics: 0,
            slow_connections: 1,
            pending_entries: 3,
            pending_bytes: 16
        }
    );
    // The slow one reads its queue (the first 4), then each key's latest,
    // keys in the order they started waiting.
    let got = drain(&mut slow);
    assert_eq!(got, ["B:1", "C:2", "A:3", "B:4", "C:998", "A:999", "B:1000"]);
}

fn drain_queue(s: &mut OpenSession) -> Vec<String> {
    std::iter::from_fn(|| s.outbound.try_recv().ok())
        .map(|push| {
            s.budget.release(push.cost());
            text(&push)
        })
        .collect()
}

#[test]
fn a_key_waiting_in_the_map_is_not_overtaken_by_a_newer_message_through_the_queue() {
    let sessions = proxy(1, TopicsConfig::default());
    let root = CancellationToken::new();
    let mut s = sessions.open(&root);
    sessions.subscribe(s.id.seq(), "q").unwrap();
    sessions.publish_local(&tick("q", "A", 1)).unwrap(); // queued
    sessions.publish_local(&tick("q", "A", 2)).unwrap(); // waits in the map
    assert_eq!(drain_queue(&mut s), ["A:1"]);
    sessions.publish_local(&tick("q", "A", 3)).unwrap(); // the queue has room, but A waits
    assert_eq!(drain(&mut s), ["A:3"]);
}

#[test]
fn a_full_conflation_map_disconnects_and_so_does_a_full_queue_without_conflation() {
    let cfg = TopicsConfig {
        max_pending_keys: 2,
        policies: vec![policy("raw.", 0, false)],
        ..TopicsConfig::default()
    };
    let sessions = proxy(1, cfg);
    let root = CancellationToken::new();
    let s = sessions.open(&root);
    sessions.subscribe(s.id.seq(), "q").unwrap();
    for key in ["A", "B", "C", "D"] {
        sessions.publish_local(&tick("q", key, 1)).unwrap();
    }
    assert!(s.kick.is_cancelled(), "A queued, B and C wait, D overflows");
    assert_eq!(TopicStats::get(&sessions.topic_stats.pending_overflows), 1);

    let r = sessions.open(&root);
    sessions.subscribe(r.id.seq(), "raw.x").unwrap();
    sessions.publish_local(&tick("raw.x", "A", 1)).unwrap();
    sessions.publish_local(&tick("raw.x", "A", 2)).unwrap();
    assert!(r.kick.is_cancelled(), "a topic that does not conflate drops the slow reader");
}

#[test]
fn bounds_on_topics_per_session_subscribers_and_message_size_are_enforced_and_counted() {
    let cfg = TopicsConfig {
        max_topics_per_session: 2,
        max_subscribers_per_topic: 1,
        max_message_bytes: 8,
        ..TopicsConfig::default()
    };
    let sessions = proxy(64, cfg);
    let root = CancellationToken::new();
    let (a, b) = (sessions.open(&root), sessions.open(&root));
    sessions.subscribe(a.id.seq(), "t1").unwrap();
    sessions.subscribe(a.id.seq(), "t2").unwrap();
    sessions.subscribe(a.id.seq(), "t2").unwrap();
    let err = sessions.subscribe(a.id.seq(), "t3").unwrap_err();
    assert_eq!(err.code(), Code::BAD_REQUEST);
    assert!(err.message().contains("max_topics_per_session"), "{err}");
    let err = sessions.subscribe(b.id.seq(), "t1").unwrap_err();
    assert_eq!(err.code(), Code::OVERLOADED);
    let err = sessions.publish_local(&TopicMessage::new("t1", 1, "123456789")).unwrap_err();
    assert!(err.message().contains("max_message_bytes"), "{err}");
    let stats = &sessions.topic_stats;
    assert_eq!(TopicStats::get(&stats.refused_topics_per_session), 1);
    assert_eq!(TopicStats::get(&stats.refused_subscribers_per_topic), 1);
    assert_eq!(TopicStats::get(&stats.refused_message_size), 1);
}

#[test]
fn retained_topics_are_bounded_and_a_closed_session_leaves_every_topic() {
    let cfg = TopicsConfig {
        max_retained_topics: 1,
        policies: vec![policy("", 1, true)],
        ..TopicsConfig::default()
    };
    let sessions = proxy(64, cfg);
    sessions.publish_local(&tick("a", "k", 1)).unwrap();
    sessions.publish_local(&tick("b", "k", 1)).unwrap();
    assert_eq!(TopicStats::get(&sessions.topic_stats.refused_retained_topics), 1);
    let root = CancellationToken::new();
    let s = sessions.open(&root);
    sessions.subscribe(s.id.seq(), "c").unwrap();
    assert_eq!(sessions.topic_gauges().topics, 2);
    sessions.end(s.id.seq(), s.generation, false, "bye");
    assert_eq!(sessions.topic_gauges().topics, 1, "only the retained topic stays");
}
