//! TLS on the client-facing ports (`tls` in the config): `wss://` on a
//! proxy's websocket port and HTTPS on the HTTP port, with rustls and its
//! `ring` provider (it builds with a C compiler alone; `aws-lc-rs` wants
//! cmake on some targets). RPC links between nodes keep their own
//! handshake and encryption (`secure`).
//!
//! * `pair`: PEM text → the chain and key rustls serves, checked to
//!   belong together, and [`TlsError`]. Pure.
//! * `store`: the pair being served, swapped atomically when the files
//!   change (rustls's `ResolvesServerCert`).
//! * `watch`: the task that checks the files every `tls.reload_interval`.
//! * `stream`: a connection in clear or in TLS, and the server handshake
//!   with its buffer bound.

mod pair;
mod store;
mod stream;
#[cfg(test)]
mod tests;
mod watch;

use std::sync::Arc;

use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

pub use pair::TlsError;
use store::CertStore;
pub(crate) use stream::{HandshakeError, MaybeTls, accept_until};

use crate::config::TlsConfig;
use crate::shutdown::Shutdown;

/// A node's server side of TLS: the acceptor both ports share, over one
/// certificate store.
#[derive(Clone)]
pub(crate) struct ServerTls {
    acceptor: TlsAcceptor,
    store: Arc<CertStore>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("store", &self.store).finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads the pair (a node does not start without a valid one) and
    /// starts checking the files for changes until `shutdown`.
    pub(crate) async fn start(config: &TlsConfig, shutdown: &Shutdown) -> Result<ServerTls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let store =
            Arc::new(CertStore::open(config.cert.clone(), config.key.clone(), Arc::clone(&provider)).await?);
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&store) as Arc<dyn rustls::server::ResolvesServerCert>);
        // Both ports speak HTTP/1.1 (the websocket upgrade is one).
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        shutdown.spawn(watch::run(Arc::clone(&store), config.reload_interval, shutdown.clone()));
        Ok(ServerTls { acceptor: TlsAcceptor::from(Arc::new(server)), store })
    }

    /// A node's TLS from its `tls` section: for the websocket port, and
    /// for the HTTP port unless `tls.http` is off. `(None, None)` without
    /// the section.
    pub(crate) async fn for_node(
        config: Option<&TlsConfig>,
        shutdown: &Shutdown,
    ) -> Result<(Option<ServerTls>, Option<ServerTls>), TlsError> {
        let Some(config) = config else { return Ok((None, None)) };
        let tls = ServerTls::start(config, shutdown).await?;
        let https = config.http.then(|| tls.clone());
        Ok((Some(tls), https))
    }

    /// The acceptor of new connections.
    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}
