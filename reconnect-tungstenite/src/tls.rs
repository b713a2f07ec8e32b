//! rustls client configurations: web PKI roots by default, custom roots when given.
//!
//! Every configuration built here names the `ring` provider explicitly, so no binding ever
//! depends on (or panics over) a process-wide default provider. Verification is always on; the
//! only way to weaken it is to build a whole `rustls::ClientConfig` yourself and hand it to
//! [`Endpoint::tls_config`](crate::Endpoint::tls_config).

use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore};

/// The configuration every `wss://` endpoint uses unless told otherwise: the Mozilla roots of
/// `webpki-roots`, TLS 1.2 and 1.3, no client certificate. Built once per process.
pub fn web_pki_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| config_with_roots(web_pki_roots()))
        .clone()
}

fn web_pki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// A configuration trusting exactly `roots` (a private CA, a test certificate), with the
/// `ring` provider and the safe default protocol versions.
pub fn config_with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    Arc::new(config)
}

/// A configuration trusting exactly the certificates in `pem` (one or more PEM blocks).
///
/// # Errors
/// Fails if `pem` holds no certificate or one that cannot serve as a root.
pub fn config_with_pem_roots(pem: &str) -> Result<Arc<ClientConfig>, rustls::Error> {
    let mut roots = RootCertStore::empty();
    add_pem(&mut roots, pem)?;
    Ok(config_with_roots(roots))
}

/// A configuration trusting the web PKI roots and, as well, the certificates in `pem` (a
/// private CA next to public endpoints).
///
/// # Errors
/// Fails if `pem` holds no certificate or one that cannot serve as a root.
pub fn config_with_extra_pem_roots(pem: &str) -> Result<Arc<ClientConfig>, rustls::Error> {
    let mut roots = web_pki_roots();
    add_pem(&mut roots, pem)?;
    Ok(config_with_roots(roots))
}

/// Adds every certificate of `pem`; at least one is required.
fn add_pem(roots: &mut RootCertStore, pem: &str) -> Result<(), rustls::Error> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| rustls::Error::General(format!("bad PEM: {e:?}")))?;
        roots.add(cert)?;
        added += 1;
    }
    if added == 0 {
        return Err(rustls::Error::General(
            "no certificate in the PEM text".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_pki_config_is_shared_and_has_roots() {
        let a = web_pki_config();
        let b = web_pki_config();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn pem_without_certificates_is_refused() {
        assert!(config_with_pem_roots("not a certificate").is_err());
        assert!(config_with_extra_pem_roots("").is_err());
    }
}
