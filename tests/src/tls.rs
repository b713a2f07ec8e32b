//! A throw-away TLS identity for `wss://` tests.
//!
//! The certificate is self-signed, generated with `rcgen` when a server starts, and valid for
//! `localhost` and `127.0.0.1`. Clients trust it by adding [`TlsIdentity::cert_der`] (or the PEM
//! form) as their only root; nothing touches the system trust store.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed certificate and its private key.
#[derive(Clone)]
pub struct TlsIdentity {
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    // The key is test material, but there is still no reason to print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Generates a fresh identity for `localhost` and `127.0.0.1`.
    ///
    /// # Panics
    /// Panics if key generation fails, which only happens if the `ring` provider is broken.
    pub fn generate() -> Self {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let certified = rcgen::generate_simple_self_signed(names)
            .expect("rcgen can always self-sign a certificate for fixed names");
        TlsIdentity {
            cert_der: certified.cert.der().clone(),
            cert_pem: certified.cert.pem(),
            key_der: certified.signing_key.serialize_der(),
        }
    }

    /// The certificate in DER form (use it as the client's root).
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The certificate in PEM form (use it as the client's root).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A rustls server configuration presenting this certificate.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .expect("an rcgen certificate and its own key always match");
        Arc::new(config)
    }

    /// A rustls client configuration whose only root is this certificate.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        client_config_for_der(self.cert_der.clone())
    }
}

/// A rustls client configuration trusting exactly the given PEM certificate(s).
///
/// # Panics
/// Panics if `pem` holds no parseable certificate: that is a bug in the calling test.
pub fn client_config_for_pem(pem: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots
            .add(cert.expect("valid PEM certificate"))
            .expect("a usable root certificate");
    }
    assert!(!roots.is_empty(), "no certificate in the PEM text");
    client_config_with_roots(roots)
}

fn client_config_for_der(der: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).expect("a usable root certificate");
    client_config_with_roots(roots)
}

fn client_config_with_roots(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The crypto provider, named explicitly so the kit never depends on a process-wide default
/// (which panics when two providers are linked in).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
