//! The certificate store: a node does not start on a bad pair, and says
//! which file is wrong; new content is served once, a bad new pair is
//! refused once and the last good one kept.

use std::sync::Arc;

use espoir_testkit::{TestCa, temp_dir};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::TlsError;
use super::store::{CertStore, Refresh};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn leaf(store: &CertStore) -> Vec<u8> {
    store.current().cert[0].to_vec()
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap().to_vec()
}

#[tokio::test]
async fn a_changed_pair_is_served_once_and_a_bad_one_refused_once() {
    let ca = TestCa::new("store test CA");
    let dir = temp_dir();
    let first = ca.issue(&["localhost"]);
    let (cert, key) = first.write_to(&dir, "node");
    let store = CertStore::open(cert.clone(), key.clone(), provider()).await.unwrap();
    assert_eq!(leaf(&store), der(&first.cert_pem));
    assert!(matches!(store.refresh().await, Refresh::Unchanged));

    let second = ca.issue(&["localhost"]);
    second.replace(&cert, &key);
    assert!(matches!(store.refresh().await, Refresh::Swapped));
    assert_eq!(leaf(&store), der(&second.cert_pem));
    assert!(matches!(store.refresh().await, Refresh::Unchanged));

    // A certificate without its key: refused, reported once, old pair kept.
    std::fs::write(&cert, ca.issue(&["localhost"]).cert_pem).unwrap();
    match store.refresh().await {
        Refresh::Refused(TlsError::Mismatch { .. }) => {}
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(matches!(store.refresh().await, Refresh::Unchanged), "a refusal is reported once");
    assert_eq!(leaf(&store), der(&second.cert_pem));

    // Fixed: served again.
    second.replace(&cert, &key);
    assert!(matches!(store.refresh().await, Refresh::Swapped));
    assert_eq!(leaf(&store), der(&second.cert_pem));

    // A file gone for a moment: refused, the pair kept.
    std::fs::remove_file(&key).unwrap();
    assert!(matches!(store.refresh().await, Refresh::Refused(TlsError::Read { field: "tls.key", .. })));
    assert_eq!(leaf(&store), der(&second.cert_pem));
}

#[tokio::test]
async fn a_bad_pair_at_start_names_the_file_and_why() {
    let ca = TestCa::new("store test CA");
    let dir = temp_dir();
    let (cert, key) = ca.issue(&["localhost"]).write_to(&dir, "node");
    let open = |cert, key| CertStore::open(cert, key, provider());

    let err = open(cert.clone(), dir.join("missing.key")).await.unwrap_err();
    assert!(matches!(err, TlsError::Read { field: "tls.key", .. }), "{err}");
    assert!(err.to_string().contains("missing.key"), "{err}");

    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let err = open(not_pem.clone(), key.clone()).await.unwrap_err();
    assert!(err.to_string().contains("holds no CERTIFICATE block"), "{err}");
    let err = open(cert.clone(), not_pem).await.unwrap_err();
    assert!(err.to_string().contains("holds no private key"), "{err}");

    // The key of another certificate.
    let (_, other_key) = ca.issue(&["localhost"]).write_to(&dir, "other");
    let err = open(cert, other_key).await.unwrap_err();
    assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("does not fit"), "{err}");
}
