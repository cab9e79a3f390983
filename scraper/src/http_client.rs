//! HTTP clients for scraping and HTTP discovery, built from a job's `HttpClientConfig`:
//! authentication, TLS (rustls, with the CA, client certificate, server name and
//! `insecure_skip_verify` settings of Prometheus), redirects and proxies.

use std::sync::Arc;
use std::time::Duration;

use reqwest::RequestBuilder;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::HttpClientConfig;

/// The User-Agent Vane sends.
pub const USER_AGENT: &str = concat!("Vane/", env!("CARGO_PKG_VERSION"));

/// Builds a client. Files named by the TLS settings are read now; credential files are read on
/// every request (so rotated tokens are picked up), as Prometheus does.
pub fn build(cfg: &HttpClientConfig) -> Result<reqwest::Client, String> {
    let tls = tls_config(cfg)?;
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .use_preconfigured_tls(tls)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(if cfg.follow_redirects.unwrap_or(true) {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    b = match &cfg.proxy_url {
        Some(p) => b.proxy(reqwest::Proxy::all(p).map_err(|e| format!("proxy_url: {e}"))?),
        None => b.no_proxy(),
    };
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Adds the configured `Authorization` header.
pub fn authorize(req: RequestBuilder, cfg: &HttpClientConfig) -> Result<RequestBuilder, String> {
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    if let Some(b) = &cfg.basic_auth {
        let password = match (&b.password, &b.password_file) {
            (_, Some(f)) => Some(read(f)?),
            (p, None) => p.clone(),
        };
        return Ok(req.basic_auth(&b.username, password));
    }
    let (kind, credentials) = if let Some(a) = &cfg.authorization {
        let c = match (&a.credentials, &a.credentials_file) {
            (_, Some(f)) => read(f)?,
            (Some(c), None) => c.clone(),
            (None, None) => return Ok(req),
        };
        (a.kind.clone().unwrap_or_else(|| "Bearer".into()), c)
    } else if let Some(f) = &cfg.bearer_token_file {
        ("Bearer".into(), read(f)?)
    } else if let Some(t) = &cfg.bearer_token {
        ("Bearer".into(), t.clone())
    } else {
        return Ok(req);
    };
    Ok(req.header(
        reqwest::header::AUTHORIZATION,
        format!("{kind} {credentials}"),
    ))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(cfg: &HttpClientConfig) -> Result<rustls::ClientConfig, String> {
    let t = &cfg.tls_config;
    let mut roots = rustls::RootCertStore::empty();
    match &t.ca_file {
        Some(ca) => {
            let certs = CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("tls_config: cannot read ca_file {}: {e}", ca.display()))?;
            for c in certs {
                let c = c.map_err(|e| format!("tls_config: bad ca_file {}: {e}", ca.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("tls_config: bad certificate in {}: {e}", ca.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls_config: {e}"))?;
    let webpki =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| format!("tls_config: {e}"))?;
    let server_name = match &t.server_name {
        Some(n) => Some(
            ServerName::try_from(n.clone())
                .map_err(|e| format!("tls_config: invalid server_name {n:?}: {e}"))?,
        ),
        None => None,
    };
    let verifier = Arc::new(Verifier {
        inner: webpki,
        server_name,
        insecure: t.insecure_skip_verify,
    });
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&t.cert_file, &t.key_file) {
        (Some(cert), Some(key)) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect())
                .map_err(|e| {
                    format!("tls_config: cannot read cert_file {}: {e}", cert.display())
                })?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("tls_config: cannot read key_file {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("tls_config: client certificate: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = if cfg.enable_http2.unwrap_or(false) {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// Verifies server certificates against the roots, checking the configured `server_name`
/// instead of the URL's host when one is set; with `insecure_skip_verify`, accepts any.
#[derive(Debug)]
struct Verifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    server_name: Option<ServerName<'static>>,
    insecure: bool,
}

impl Verifier {
    /// Handshake signatures are checked unless verification is off.
    fn signature(
        &self,
        check: impl FnOnce() -> Result<HandshakeSignatureValid, rustls::Error>,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.insecure {
            Ok(HandshakeSignatureValid::assertion())
        } else {
            check()
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        let name = self.server_name.as_ref().unwrap_or(server_name);
        self.inner
            .verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signature(|| self.inner.verify_tls12_signature(message, cert, dss))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signature(|| self.inner.verify_tls13_signature(message, cert, dss))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
