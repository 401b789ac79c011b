//! TLS with rustls (the `ring` provider; no OpenSSL, no C toolchain beyond ring's own).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS certificate chain and key could not be used.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(String);

/// A server TLS configuration (HTTP/1.1 over TLS 1.2 and 1.3).
#[derive(Debug, Clone)]
pub struct TlsConfig(pub(crate) Arc<rustls::ServerConfig>);

impl TlsConfig {
    /// From PEM files: a certificate chain (leaf first) and its private key (PKCS#8, PKCS#1 or
    /// SEC1). The key file's contents never appear in an error.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_file_iter(cert)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|error| TlsError(format!("reading certificates from {}: {error}", cert.display())))?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|_| TlsError(format!("no usable private key in {}", key.display())))?;
        Self::from_der(certs, key)
    }

    /// From PEM text (for tests and embedding).
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TlsError(format!("reading certificates: {error}")))?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|_| TlsError("no usable private key".into()))?;
        Self::from_der(certs, key)
    }

    fn from_der(certs: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Self, TlsError> {
        if certs.is_empty() {
            return Err(TlsError("the certificate file holds no certificate".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError(error.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|error| TlsError(format!("certificate and key do not fit: {error}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self(Arc::new(config)))
    }
}
