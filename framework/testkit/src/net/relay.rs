//! [`Relay`]: a fault-injecting TCP relay in the manner of Toxiproxy.
//!
//! The kernels this runs on have no `netem` qdisc, so delay and jitter
//! are made here: each chunk read from one side is written to the other
//! no earlier than its arrival plus the delay and a random jitter, and
//! never before the chunk ahead of it (TCP keeps order). "Loss" on a byte
//! stream is a stall: a chunk picked with the stall probability waits as
//! a retransmission would. A cut closes every connection and refuses new
//! ones until it is lifted. Each direction of each connection holds at
//! most [`QUEUE_CHUNKS`] chunks of at most [`CHUNK`] bytes; a full queue
//! stops the reading (backpressure), and the relay holds at most
//! [`MAX_CONNECTIONS`] connections.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::ns;

/// Largest chunk read at once.
pub const CHUNK: usize = 16 * 1024;
/// Chunks queued per direction of a connection.
pub const QUEUE_CHUNKS: usize = 64;
/// Connections one relay carries at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 512;

/// The faults a relay applies now; change them with [`Faults::set`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSpec {
    /// Added to every chunk.
    pub delay: Duration,
    /// Up to this much more, uniformly at random, per chunk.
    pub jitter: Duration,
    /// Chance in 1000 that a chunk stalls.
    pub stall_permille: u16,
    /// How long a stalled chunk waits.
    pub stall: Duration,
    /// Every connection closed, new ones refused.
    pub cut: bool,
}

/// Faults shared by the relays of one link: setting them acts on every
/// connection at once.
#[derive(Debug)]
pub struct Faults {
    spec: Mutex<FaultSpec>,
    /// Bumped on every cut, so connections close.
    cuts: watch::Sender<u64>,
    rng: AtomicU64,
}

impl Faults {
    /// No faults: the relay passes bytes as they come.
    pub fn new() -> Arc<Faults> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Arc::new(Faults {
            spec: Mutex::new(FaultSpec::default()),
            cuts: watch::Sender::new(0),
            rng: seed.into(),
        })
    }

    /// Applies `spec` from now on (chunks already queued keep their time).
    pub fn set(&self, spec: FaultSpec) {
        *self.spec.lock().unwrap_or_else(|e| e.into_inner()) = spec;
        if spec.cut {
            self.cuts.send_modify(|n| *n += 1);
        }
    }

    /// Back to no faults.
    pub fn clear(&self) {
        self.set(FaultSpec::default());
    }

    fn now(&self) -> FaultSpec {
        *self.spec.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A uniform pick in `0..n` (xorshift: tests need spread, not secrecy).
    fn below(&self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        x % n
    }

    /// When a chunk read now may be written.
    fn due(&self) -> Instant {
        let spec = self.now();
        if spec == FaultSpec::default() {
            return Instant::now();
        }
        let mut wait = spec.delay + Duration::from_micros(self.below(spec.jitter.as_micros() as u64));
        if self.below(1000) < u64::from(spec.stall_permille) {
            wait += spec.stall;
        }
        Instant::now() + wait
    }
}

/// A relay listening on one address and carrying each connection to a
/// target, dialled from inside a namespace. Stops on drop.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    task: JoinHandle<()>,
    /// Dropped with the relay: its connections close too.
    _stop: watch::Sender<()>,
}

impl Relay {
    /// Listens on `listen` inside namespace `listen_ns` and relays each
    /// connection to `target`, dialled from inside `dial_ns`, through
    /// `faults`. `None` for a namespace: this process's own.
    ///
    /// # Errors
    /// When the listener cannot be made.
    pub fn start(
        listen_ns: Option<&str>,
        listen: SocketAddr,
        dial_ns: Option<&str>,
        target: SocketAddr,
        faults: Arc<Faults>,
    ) -> io::Result<Relay> {
        let listener = match listen_ns {
            Some(name) => ns::listen(name, listen)?,
            None => {
                let std = std::net::TcpListener::bind(listen)?;
                std.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(std)?
            }
        };
        let addr = listener.local_addr()?;
        let dial_ns = dial_ns.map(str::to_owned);
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let stop = watch::Sender::new(());
        let stopped = stop.subscribe();
        let task = tokio::spawn(async move {
            loop {
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                let Ok((client, _)) = listener.accept().await else { continue };
                if faults.now().cut {
                    continue;
                }
                let (faults, dial_ns, mut stopped) = (faults.clone(), dial_ns.clone(), stopped.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    let dialled = match &dial_ns {
                        Some(name) => ns::dial(name, target).await,
                        None => tokio::time::timeout(ns::DIAL_TIMEOUT, TcpStream::connect(target))
                            .await
                            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
                    };
                    let Ok(server) = dialled else { return };
                    let _ = server.set_nodelay(true);
                    tokio::select! {
                        () = carry(client, server, &faults) => {}
                        // The sender is gone: the relay was dropped.
                        _ = stopped.changed() => {}
                    }
                });
            }
        });
        Ok(Relay { addr, task, _stop: stop })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Carries one connection both ways until both sides finish or a cut.
async fn carry(client: TcpStream, server: TcpStream, faults: &Arc<Faults>) {
    let _ = client.set_nodelay(true);
    let mut cuts = faults.cuts.subscribe();
    cuts.mark_unchanged();
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let both = async {
        tokio::join!(pump(client_read, server_write, faults), pump(server_read, client_write, faults));
    };
    tokio::select! {
        () = both => {}
        _ = cuts.changed() => {}
    }
}

/// One direction: a reader queues timed chunks, a writer sends each when
/// it is due; EOF on the reader shuts the writer's side down.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    faults: &Faults,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE_CHUNKS);
    let read = async move {
        let mut last = Instant::now();
        loop {
            let mut buf = vec![0; CHUNK];
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    buf.truncate(n);
                    // Never before the chunk ahead: a stream keeps order.
                    last = faults.due().max(last);
                    if tx.send((last, buf)).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let write = async move {
        while let Some((due, chunk)) = rx.recv().await {
            // A timer rounds up to the next millisecond: without a fault,
            // write at once so an idle relay adds next to no latency.
            if due > Instant::now() {
                sleep_until(due).await;
            }
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}
