//! The fault-injecting relay on loopback (no namespace, no root): bytes
//! pass whole and in order through delay, jitter and stalls; a cut closes
//! every connection and refuses new ones until it is lifted; dropped, the
//! relay closes what it carried.

use std::sync::Arc;
use std::time::Duration;

use espoir_testkit::WAIT;
use espoir_testkit::net::{FaultSpec, Faults, Relay};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// An echo server on loopback; returns its address.
async fn echo() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

async fn relay(faults: &Arc<Faults>) -> Relay {
    let target = echo().await;
    Relay::start(None, "127.0.0.1:0".parse().unwrap(), None, target, faults.clone()).unwrap()
}

/// Sends `data` through `stream` and reads as many bytes back.
async fn round_trip(stream: &mut TcpStream, data: &[u8]) -> Vec<u8> {
    let (mut r, mut w) = stream.split();
    let send = async {
        for chunk in data.chunks(1000) {
            w.write_all(chunk).await.unwrap();
        }
    };
    let mut back = vec![0; data.len()];
    let (_, read) = tokio::join!(send, timeout(WAIT, r.read_exact(&mut back)));
    read.expect("the echo in time").expect("the echo");
    back
}

#[tokio::test]
async fn bytes_pass_whole_and_in_order_through_delay_jitter_and_stalls() {
    let faults = Faults::new();
    faults.set(FaultSpec {
        delay: Duration::from_millis(1),
        jitter: Duration::from_millis(5),
        stall_permille: 100,
        stall: Duration::from_millis(20),
        cut: false,
    });
    let relay = relay(&faults).await;
    let mut stream = TcpStream::connect(relay.addr()).await.unwrap();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    assert!(round_trip(&mut stream, &data).await == data, "the echo differs from what was sent");
}

/// Whether the peer closed `stream` (EOF or reset) within the wait.
async fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(timeout(WAIT, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn a_cut_closes_connections_and_refuses_new_ones_until_lifted() {
    let faults = Faults::new();
    let relay = relay(&faults).await;
    let mut open = TcpStream::connect(relay.addr()).await.unwrap();
    assert_eq!(round_trip(&mut open, b"before").await, b"before");

    faults.set(FaultSpec { cut: true, ..FaultSpec::default() });
    assert!(closed(&mut open).await, "a cut closes the open connection");
    let mut refused = TcpStream::connect(relay.addr()).await.unwrap();
    assert!(closed(&mut refused).await, "a connection made during the cut is closed at once");

    faults.clear();
    let mut again = TcpStream::connect(relay.addr()).await.unwrap();
    assert_eq!(round_trip(&mut again, b"after").await, b"after");

    drop(relay);
    assert!(closed(&mut again).await, "a dropped relay closes its connections");
}
