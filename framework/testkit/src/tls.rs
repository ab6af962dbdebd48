//! A test certificate authority: certificates for `wss://` and HTTPS
//! tests, made in the test (rcgen), so no private key is ever committed.
//!
//! ```no_run
//! let ca = espoir_testkit::TestCa::new("espoir test CA");
//! let dir = espoir_testkit::temp_dir();
//! let (cert, key) = ca.issue(&["localhost", "127.0.0.1"]).write_to(&dir, "proxy");
//! // `tls: { cert, key }` in the proxy's config; clients trust `ca.roots()`.
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
use sha2::{Digest, Sha256};

/// A self-signed CA that issues server certificates.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A certificate issued by a [`TestCa`], with its key, as PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate (no chain: the CA is the trust anchor).
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
    /// base64 of the SHA-256 of its SubjectPublicKeyInfo, as Chromium's
    /// `--ignore-certificate-errors-spki-list` takes it.
    pub spki_sha256: String,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("a self-signed CA");
        TestCa { cert, key }
    }

    /// The CA certificate as PEM (a client's CA file).
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// A root store trusting this CA alone.
    pub fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert.der().clone()).expect("the CA is a valid trust anchor");
        roots
    }

    /// A rustls client config trusting this CA alone.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("default protocol versions")
            .with_root_certificates(self.roots())
            .with_no_client_auth();
        Arc::new(config)
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid
    /// now.
    pub fn issue(&self, names: &[&str]) -> Issued {
        self.issue_with(names, |_| {})
    }

    /// A server certificate for `names` that expired in 2021.
    pub fn issue_expired(&self, names: &[&str]) -> Issued {
        self.issue_with(names, |params| {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        })
    }

    fn issue_with(&self, names: &[&str], adjust: impl FnOnce(&mut CertificateParams)) -> Issued {
        let key = KeyPair::generate().expect("a server key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        params.distinguished_name.push(DnType::CommonName, "espoir test server");
        adjust(&mut params);
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("a signed certificate");
        let spki = Sha256::digest(key.public_key_der());
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            spki_sha256: base64::engine::general_purpose::STANDARD.encode(spki),
        }
    }
}

impl Issued {
    /// Writes `{stem}.pem` and `{stem}.key` into `dir`; returns their paths.
    pub fn write_to(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{stem}.pem"));
        let key = dir.join(format!("{stem}.key"));
        self.replace(&cert, &key);
        (cert, key)
    }

    /// Replaces the files at `cert` and `key` with this pair, each by a
    /// rename, as a deployment tool would.
    pub fn replace(&self, cert: &Path, key: &Path) {
        for (path, text) in [(cert, &self.cert_pem), (key, &self.key_pem)] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text).expect("write a certificate file");
            std::fs::rename(&tmp, path).expect("rename a certificate file");
        }
    }
}
