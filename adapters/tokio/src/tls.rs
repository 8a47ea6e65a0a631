//! TLS for `wss://` URLs through rustls, on the ring provider, with the roots of the features
//! `webpki-roots` (Mozilla's, compiled in) and `native-roots` (the platform's), or a
//! [`ClientConfig`] of the caller's.

use std::io;
use std::sync::{Arc, OnceLock};

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::transport::MaybeTlsStream;

/// The default client configuration, built once: loading the platform's roots reads files.
static DEFAULT_CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// The configuration `wss://` uses when the caller gave none: the roots of the enabled features,
/// the ring provider's safe defaults, ALPN `http/1.1` (the handshake is an HTTP/1.1 Upgrade).
pub(crate) fn default_config() -> io::Result<Arc<ClientConfig>> {
    if let Some(config) = DEFAULT_CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    let roots = default_roots()?;
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::clone(DEFAULT_CONFIG.get_or_init(|| Arc::new(config))))
}

/// The roots of the features `webpki-roots` and `native-roots`, together if both are on.
fn default_roots() -> io::Result<RootCertStore> {
    #[cfg_attr(
        not(any(feature = "webpki-roots", feature = "native-roots")),
        allow(unused_mut)
    )]
    let mut roots = RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        // Unreadable or unparsable certificates among many are skipped, as browsers do; an
        // empty store is reported below.
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
    }
    if roots.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no root certificates for wss://: enable the feature `webpki-roots` or \
             `native-roots` of wsproto-tokio (the platform store was empty or unreadable), \
             or pass a rustls ClientConfig with ClientBuilder::tls_config",
        ));
    }
    Ok(roots)
}

/// Runs the TLS handshake with `host` (a name or an IP address) over `tcp`.
pub(crate) async fn wrap(
    tcp: TcpStream,
    host: &str,
    config: Arc<ClientConfig>,
) -> io::Result<MaybeTlsStream> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    let tls = TlsConnector::from(config).connect(name, tcp).await?;
    Ok(MaybeTlsStream::Rustls(Box::new(tls)))
}
