//! Sockets made inside a network namespace from this process: a short-lived
//! thread enters the namespace (`setns`), creates the socket and ends; the
//! socket stays in the namespace it was made in, so the test's tokio
//! runtime then uses it from any thread.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

/// How long a dial into a namespace may take before it counts as failed
/// (a partitioned peer never answers a SYN).
pub(crate) const DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs `f` on a thread inside the network namespace `ns` (a name under
/// `/run/netns`, as `ip netns add` makes them).
pub(crate) fn within<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path)?;
        move_into_link_name_space(std::os::fd::AsFd::as_fd(&file), Some(LinkNameSpaceType::Network))?;
        f()
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?
}

/// A tokio listener on `addr` inside `ns`.
pub(crate) fn listen(ns: &str, addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let std = within(ns, move || {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    })?;
    tokio::net::TcpListener::from_std(std)
}

/// A tokio stream to `addr` dialled from inside `ns`; blocking, so callers
/// on the runtime run it with `spawn_blocking`.
pub(crate) fn dial_blocking(ns: &str, addr: SocketAddr) -> io::Result<TcpStream> {
    within(ns, move || {
        let stream = TcpStream::connect_timeout(&addr, DIAL_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        Ok(stream)
    })
}

/// [`dial_blocking`] off the runtime's worker threads.
pub(crate) async fn dial(ns: &str, addr: SocketAddr) -> io::Result<tokio::net::TcpStream> {
    let ns = ns.to_owned();
    let std = tokio::task::spawn_blocking(move || dial_blocking(&ns, addr))
        .await
        .map_err(|_| io::Error::other("the dial task panicked"))??;
    tokio::net::TcpStream::from_std(std)
}
