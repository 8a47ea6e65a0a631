//! A `wss://` client (`connect_url` / `ClientBuilder`) against a local TLS server on 127.0.0.1
//! whose certificate the test makes (rcgen), trusted through a custom root store; and the same
//! server refused by a client that does not trust it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use wsproto_tokio::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use wsproto_tokio::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use wsproto_tokio::{Accept, ClientBuilder, Error, MaybeTlsStream, Message, Options};

const LIMIT: Duration = Duration::from_secs(10);

/// A certificate for 127.0.0.1 made now, and a TLS acceptor serving it.
fn local_certificate() -> (CertificateDer<'static>, TlsAcceptor) {
    let key_pair = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let certificate = params.self_signed(&key_pair).unwrap();
    let der = CertificateDer::from(certificate.der().to_vec());
    let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
    let ring = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(ring)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    (der, TlsAcceptor::from(Arc::new(server)))
}

/// A client configuration that trusts `root` only.
fn trusting(root: CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(root).unwrap();
    let ring = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(ring)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A WebSocket echo server over TLS on 127.0.0.1 (through `wsproto_tokio::accept`) for one
/// connection; returns its port and whether its TLS handshake succeeded.
async fn tls_echo_server(acceptor: TlsAcceptor) -> (u16, tokio::task::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let Ok(tls) = acceptor.accept(tcp).await else {
            return false;
        };
        let mut ws = wsproto_tokio::accept(tls, Options::default(), |req| {
            assert_eq!(req.path(), "/echo?room=7");
            let chosen = req
                .subprotocols()
                .find(|p| *p == "echo.v1")
                .map(String::from);
            Ok(Accept::new().with_subprotocol(chosen))
        })
        .await
        .unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
        true
    });
    (port, server)
}

#[tokio::test]
async fn wss_with_a_custom_root() {
    let (root, acceptor) = local_certificate();
    let (port, server) = tls_echo_server(acceptor).await;
    let connecting = ClientBuilder::new()
        .subprotocols(["echo.v1"])
        .tls_config(trusting(root))
        .connect(&format!("wss://127.0.0.1:{port}/echo?room=7"));
    let mut ws = tokio::time::timeout(LIMIT, connecting)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ws.get_ref(), MaybeTlsStream::Rustls(_)));
    assert_eq!(ws.subprotocol(), Some("echo.v1"));
    assert!(
        ws.deflate_params().is_some(),
        "deflate is offered by default"
    );
    let text = Message::from("over TLS ✓ ".repeat(2000));
    let binary = Message::from((0..100_000u32).map(|i| i as u8).collect::<Vec<u8>>());
    for message in [text, binary] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), message);
    }
    ws.close().await.unwrap();
    assert!(server.await.unwrap(), "the server's TLS handshake failed");
}

/// `connect_url` trusts the roots of the features `webpki-roots` / `native-roots` only: a
/// self-signed certificate is refused (or, with neither feature, there are no roots at all).
#[tokio::test]
async fn wss_refuses_an_untrusted_certificate() {
    let (_root, acceptor) = local_certificate();
    let (port, server) = tls_echo_server(acceptor).await;
    let connecting = wsproto_tokio::connect_url(&format!("wss://127.0.0.1:{port}/echo?room=7"));
    let err = tokio::time::timeout(LIMIT, connecting)
        .await
        .unwrap()
        .unwrap_err();
    let Error::Io(err) = err else { panic!("{err}") };
    assert!(err.to_string().contains("certificate"), "{err}");
    if cfg!(any(feature = "webpki-roots", feature = "native-roots")) {
        assert!(!server.await.unwrap(), "the server finished a handshake");
    } else {
        server.abort();
    }
}
