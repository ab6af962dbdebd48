//! A certificate chain and its private key, from PEM text to the signing
//! key rustls serves. Pure: the caller reads the files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Why a certificate and key cannot be served. Each names the file and the
/// config field, so an operator knows which to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{field} {}: cannot read: {source}", path.display())]
    Read {
        /// `tls.cert` or `tls.key`.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not valid PEM, or holds nothing of the kind wanted.
    #[error("{field} {}: {reason}", path.display())]
    Pem {
        /// `tls.cert` or `tls.key`.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key is not one the crypto provider can sign with, or does not
    /// belong to the first certificate of the chain.
    #[error("tls.key {} does not fit tls.cert {}: {reason}", key.display(), cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls found.
        reason: String,
    },
    /// rustls refused the server configuration.
    #[error("tls setup: {0}")]
    Setup(#[from] rustls::Error),
}

async fn read_file(field: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    tokio::fs::read(path).await.map_err(|source| TlsError::Read { field, path: path.to_path_buf(), source })
}

/// The two files' content, read together.
#[derive(Debug)]
pub(crate) struct PairText {
    pub(crate) cert: Vec<u8>,
    pub(crate) key: Vec<u8>,
}

impl PairText {
    /// Reads both files.
    pub(crate) async fn read(cert: &Path, key: &Path) -> Result<PairText, TlsError> {
        Ok(PairText { cert: read_file("tls.cert", cert).await?, key: read_file("tls.key", key).await? })
    }

    /// A digest of both files: equal digests, equal pairs.
    pub(crate) fn stamp(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update((self.cert.len() as u64).to_le_bytes());
        hash.update(&self.cert);
        hash.update(&self.key);
        hash.finalize().into()
    }

    /// The chain and key as rustls serves them, checked to belong together.
    pub(crate) fn parse(
        &self,
        cert: &Path,
        key: &Path,
        provider: &CryptoProvider,
    ) -> Result<Arc<CertifiedKey>, TlsError> {
        let pem_error =
            |field, path: &Path, reason: String| TlsError::Pem { field, path: path.to_path_buf(), reason };
        let chain = CertificateDer::pem_slice_iter(&self.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("tls.cert", cert, format!("not PEM: {e}")))?;
        if chain.is_empty() {
            return Err(pem_error("tls.cert", cert, "holds no CERTIFICATE block".to_owned()));
        }
        let private = PrivateKeyDer::from_pem_slice(&self.key).map_err(|e| {
            let reason = match e {
                rustls_pki_types::pem::Error::NoItemsFound => {
                    "holds no private key (PKCS#8, PKCS#1 or SEC1 PEM block)".to_owned()
                }
                other => format!("not PEM: {other}"),
            };
            pem_error("tls.key", key, reason)
        })?;
        let certified = CertifiedKey::from_der(chain, private, provider).map_err(|e| TlsError::Mismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Arc::new(certified))
    }
}
