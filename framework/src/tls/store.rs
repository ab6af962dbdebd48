//! The certificate being served, swapped atomically when its files change:
//! each handshake takes the pair current when it starts, so connections
//! already open keep theirs and new ones get the new one.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::pair::{PairText, TlsError};

/// What a check of the files found.
#[derive(Debug)]
pub(crate) enum Refresh {
    /// Same content as the pair served (or as a pair already refused).
    Unchanged,
    /// A new pair is served from now on.
    Swapped,
    /// The new content is unusable; the old pair is still served.
    Refused(TlsError),
}

/// Serves the current pair to every handshake (rustls's
/// [`ResolvesServerCert`]) and replaces it when the files change.
#[derive(Debug)]
pub(crate) struct CertStore {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    /// Digest of the content last seen, served or refused: a refused pair
    /// is reported once, not at every check, and retried when it changes.
    seen: Mutex<[u8; 32]>,
}

impl CertStore {
    /// Reads and checks the pair: a node does not start without one.
    pub(crate) async fn open(
        cert: PathBuf,
        key: PathBuf,
        provider: Arc<CryptoProvider>,
    ) -> Result<CertStore, TlsError> {
        let text = PairText::read(&cert, &key).await?;
        let current = text.parse(&cert, &key, &provider)?;
        Ok(CertStore { seen: Mutex::new(text.stamp()), current: ArcSwap::new(current), cert, key, provider })
    }

    /// Reads the files again and serves their pair if it is new and valid.
    pub(crate) async fn refresh(&self) -> Refresh {
        let text = match PairText::read(&self.cert, &self.key).await {
            Ok(text) => text,
            // A file being replaced may be missing for a moment; a later
            // check sees the new one.
            Err(err) => return Refresh::Refused(err),
        };
        let stamp = text.stamp();
        if *self.seen.lock().unwrap_or_else(|e| e.into_inner()) == stamp {
            return Refresh::Unchanged;
        }
        let outcome = match text.parse(&self.cert, &self.key, &self.provider) {
            Ok(pair) => {
                self.current.store(pair);
                Refresh::Swapped
            }
            Err(err) => Refresh::Refused(err),
        };
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = stamp;
        outcome
    }

    /// The pair served now.
    pub(crate) fn current(&self) -> Arc<CertifiedKey> {
        self.current.load_full()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}
