//! TLS to the server through rustls (ring), verifying the certificate and the host name.

use std::sync::Arc;

use ak_core::{BackendErrorKind, StoreError};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::PgConfig;
use crate::error::backend;

/// The connector for `sslmode=require`: the `sslrootcert` certificates when the URL names a
/// file, else the Mozilla roots.
pub(crate) fn connector(config: &PgConfig) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = RootCertStore::empty();
    match &config.root_cert {
        Some(path) => {
            let fail = |why: String| {
                backend(
                    BackendErrorKind::Io,
                    format!("{}: sslrootcert {}: {why}", config.label(), path.display()),
                    None,
                )
            };
            let pem = std::fs::read(path).map_err(|err| fail(err.to_string()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|err| fail(format!("not a PEM certificate ({err})")))?;
                roots
                    .add(cert)
                    .map_err(|err| fail(format!("unusable certificate ({err})")))?;
            }
            if roots.is_empty() {
                return Err(fail("holds no certificate".to_owned()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| {
            backend(
                BackendErrorKind::Other,
                format!("{}: configuring TLS", config.label()),
                Some(Box::new(err)),
            )
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(tls))
}
