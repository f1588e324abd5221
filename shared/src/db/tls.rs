//! TLS to PostgreSQL with libpq's meaning of `sslmode`, which tokio-postgres
//! only partly parses (it knows `disable`, `prefer` and `require`, and
//! refuses `sslrootcert`). Hosted Supabase presents certificates of its own
//! root CA, not of a public one, so trusting only the web's roots fails
//! every handshake there.
//!
//! | `sslmode` | encrypted | certificate checked |
//! | --- | --- | --- |
//! | `disable` | no | - |
//! | `prefer` (default) | if the server offers it | no |
//! | `require` | yes | no, unless a CA is given (then as `verify-ca`, as libpq does) |
//! | `verify-ca` | yes | chain to the CA |
//! | `verify-full` | yes | chain to the CA and the host name |
//!
//! The CA is `sslrootcert` (a PEM file path in the URL) or the PEM text in
//! `DATABASE_CA_CERT` (how a Lambda gets it from its secret); `verify-*`
//! without either trusts the public web roots.

use super::DbError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, DbError> {
        match value {
            "disable" => Ok(SslMode::Disable),
            "allow" | "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(DbError::Config(format!(
                "sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"
            ))),
        }
    }
}

/// A connection URL split into what tokio-postgres understands and the TLS
/// settings it does not.
#[derive(Debug)]
pub struct ConnectionSettings {
    pub config: tokio_postgres::Config,
    pub ssl_mode: SslMode,
    /// PEM text of the CA to trust, from `sslrootcert` or `DATABASE_CA_CERT`.
    pub root_cert_pem: Option<String>,
}

/// Reads a `postgres://` URL (or key=value string) with libpq's `sslmode`
/// and `sslrootcert`; `ca_pem` is `DATABASE_CA_CERT` when set.
pub fn parse(database_url: &str, ca_pem: Option<&str>) -> Result<ConnectionSettings, DbError> {
    let (url, ssl_mode, root_cert_path) = take_tls_parameters(database_url)?;
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e: tokio_postgres::Error| DbError::Config(e.to_string()))?;
    config.ssl_mode(match ssl_mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
    });
    let root_cert_pem = match (root_cert_path, ca_pem.map(str::trim).filter(|pem| !pem.is_empty())) {
        (Some(path), _) => {
            Some(std::fs::read_to_string(&path).map_err(|e| DbError::Config(format!("sslrootcert {path}: {e}")))?)
        }
        (None, Some(pem)) => Some(pem.to_owned()),
        (None, None) => None,
    };
    Ok(ConnectionSettings { config, ssl_mode, root_cert_pem })
}

/// Removes `sslmode` and `sslrootcert` from the URL's query (tokio-postgres
/// would refuse `verify-*` and `sslrootcert`) and returns them.
fn take_tls_parameters(database_url: &str) -> Result<(String, SslMode, Option<String>), DbError> {
    let Some((base, query)) = database_url.split_once('?') else {
        return Ok((database_url.to_owned(), SslMode::Prefer, None));
    };
    let mut ssl_mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // A URI's query (libpq's reading): `+` is a plus, not a space.
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
        match key {
            "sslmode" => ssl_mode = SslMode::parse(&value)?,
            "sslrootcert" => root_cert = Some(value.into_owned()),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, ssl_mode, root_cert))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS connector for these settings.
pub fn connector(settings: &ConnectionSettings) -> Result<tokio_postgres_rustls::MakeRustlsConnect, DbError> {
    let provider = provider();
    let roots = match &settings.root_cert_pem {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| DbError::Config(format!("the database CA certificate is not PEM: {e}")))?;
            if certificates.is_empty() {
                return Err(DbError::Config("the database CA certificate holds no certificate".into()));
            }
            for certificate in certificates {
                roots.add(certificate).map_err(|e| DbError::Config(format!("the database CA certificate: {e}")))?;
            }
            roots
        }
        None => RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Config(e.to_string()))?;
    let verify_chain = || {
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots.clone()), provider.clone())
            .build()
            .map_err(|e| DbError::Config(format!("the database CA certificate: {e}")))
    };
    let mode = match (settings.ssl_mode, settings.root_cert_pem.is_some()) {
        // libpq: `require` with a CA file verifies the chain like verify-ca.
        (SslMode::Require, true) => SslMode::VerifyCa,
        (mode, _) => mode,
    };
    let config = match mode {
        SslMode::VerifyFull => builder.with_webpki_verifier(verify_chain()?).with_no_client_auth(),
        SslMode::VerifyCa => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly { inner: verify_chain()? }))
            .with_no_client_auth(),
        SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly { provider }))
            .with_no_client_auth(),
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `require`: encryption against passive eavesdroppers, no identity check
/// (libpq's meaning). The handshake's signatures are still verified, so the
/// session keys belong to whoever holds the certificate's key.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to the trusted CA; the host name is not
/// compared (a pooler's certificate may name another host).
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is checked after the chain: a name error means the chain held.
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_parameters_are_taken_out_of_the_url() {
        let (url, mode, root) = take_tls_parameters(
            "postgres://u:p@h:6543/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(url, "postgres://u:p@h:6543/db?application_name=x");
        assert_eq!(mode, SslMode::VerifyFull);
        assert_eq!(root.as_deref(), Some("/tmp/ca.pem"));
        let (url, mode, root) = take_tls_parameters("postgres://u@h/db").unwrap();
        assert_eq!((url.as_str(), mode, root), ("postgres://u@h/db", SslMode::Prefer, None));
        assert_eq!(take_tls_parameters("postgres://h/db?sslmode=disable").unwrap().1, SslMode::Disable);
        assert!(take_tls_parameters("postgres://h/db?sslmode=verify").is_err());
    }

    #[test]
    fn a_ca_that_is_not_pem_is_a_configuration_error() {
        let settings = parse("postgres://h/db?sslmode=verify-full", Some("not a certificate")).unwrap();
        assert!(matches!(connector(&settings), Err(DbError::Config(_))));
        let missing = parse("postgres://h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem", None);
        assert!(matches!(missing, Err(DbError::Config(_))));
    }
}
