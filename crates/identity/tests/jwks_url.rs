//! Issuer keys from a `jwks_url`: fetched at start-up from a real HTTP server
//! on loopback, refused clearly when unreachable or not a JWKS, refreshed
//! early when a token names an unknown key id (at most once a minute), and
//! kept when a refresh fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{AUDIENCE, ISSUER, Idp, eventually, good_claims, now, settle};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use cpc_identity::dev::DevKey;
use cpc_identity::{
    AuthError, Authenticator, IdentityConfig, IdentityError, IssuerConfig, JwksError, JwksSource,
    MAX_JWKS_BYTES, Mode,
};
use jsonwebtoken::{Algorithm, Header};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::ServerConfig;
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde_json::json;
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Barrier;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A token from `key` that verifies at [`now`].
fn token(key: &Idp) -> String {
    key.sign(&good_claims())
}

fn jwks(keys: &[&Idp]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }).to_string()
}

/// What the test server answers.
#[derive(Clone)]
enum Reply {
    /// 200 with this body and its Content-Length.
    Body(String),
    /// 200 with this body, its length declared or not (then the end of the
    /// body is the end of the connection).
    Bytes { body: Vec<u8>, declare_length: bool },
    /// This status and an empty body.
    Status(u16),
    /// 302 to this URL.
    Redirect(String),
    /// 200 with this body, once `gate`'s other parties have been asked too.
    Gated { body: String, gate: Arc<Barrier> },
}

/// A JWKS endpoint on a real loopback socket (HTTP/1.1, one request per
/// connection), counting the requests it answers.
struct Server {
    url: String,
    reply: Arc<Mutex<Reply>>,
    requests: Arc<AtomicUsize>,
    /// Response bytes the client's side of the connection took.
    written: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Server {
    /// Serves plain HTTP.
    async fn start(reply: Reply) -> Self {
        Self::serve(reply, None).await
    }

    /// Serves HTTPS with `tls`'s certificate.
    async fn start_tls(reply: Reply, tls: TlsAcceptor) -> Self {
        Self::serve(reply, Some(tls)).await
    }

    async fn serve(reply: Reply, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!(
            "{scheme}://{}/realms/cpc/certs",
            listener.local_addr().unwrap()
        );
        let reply = Arc::new(Mutex::new(reply));
        let requests = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let reply = Arc::clone(&reply);
            let requests = Arc::clone(&requests);
            let written = Arc::clone(&written);
            async move {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    let reply = reply.lock().unwrap().clone();
                    let requests = Arc::clone(&requests);
                    let written = Arc::clone(&written);
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        match tls {
                            None => answer(stream, reply, &requests, &written).await,
                            // A client that refuses the certificate hangs
                            // up in the handshake: no request is counted.
                            Some(tls) => {
                                if let Ok(stream) = tls.accept(stream).await {
                                    answer(stream, reply, &requests, &written).await;
                                }
                            }
                        }
                    });
                }
            }
        });
        Self {
            url,
            reply,
            requests,
            written,
            task,
        }
    }

    fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn written(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request head from `stream` and writes `reply`.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    reply: Reply,
    requests: &AtomicUsize,
    written: &AtomicUsize,
) {
    // The request head; a GET has no body.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let reply = match reply {
        Reply::Gated { body, gate } => {
            gate.wait().await;
            Reply::Body(body)
        }
        reply => reply,
    };
    // The client may hang up early (an oversized body): then a write fails
    // and the rest is not sent.
    for chunk in render(reply).chunks(64 * 1024) {
        if stream.write_all(chunk).await.is_err() {
            return;
        }
        written.fetch_add(chunk.len(), Ordering::SeqCst);
    }
    let _ = stream.shutdown().await;
}

fn render(reply: Reply) -> Vec<u8> {
    let (status, headers, body) = match reply {
        Reply::Body(body) | Reply::Gated { body, .. } => (
            "200 OK".to_owned(),
            format!(
                "content-type: application/json\r\ncontent-length: {}\r\n",
                body.len()
            ),
            body.into_bytes(),
        ),
        Reply::Bytes {
            body,
            declare_length,
        } => {
            let length = if declare_length {
                format!("content-length: {}\r\n", body.len())
            } else {
                String::new()
            };
            ("200 OK".to_owned(), length, body)
        }
        Reply::Status(code) => (
            format!("{code} Whatever"),
            "content-length: 0\r\n".to_owned(),
            Vec::new(),
        ),
        Reply::Redirect(to) => (
            "302 Found".to_owned(),
            format!("location: {to}\r\ncontent-length: 0\r\n"),
            Vec::new(),
        ),
    };
    let mut out = format!("HTTP/1.1 {status}\r\n{headers}connection: close\r\n\r\n").into_bytes();
    out.extend_from_slice(&body);
    out
}

fn config(tmp: &TempDir, url: &str) -> IdentityConfig {
    IdentityConfig {
        mode: Mode::Production,
        issuers: vec![IssuerConfig {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks_file: None,
            jwks_url: Some(url.into()),
            jwks_refresh: None,
            jwks_ca_file: None,
            max_token_lifetime: None,
            first_party_clients: vec![],
            acr_values: vec![],
            amr_values: vec![],
            max_session_age: None,
            require_auth_time: false,
            require_certificate_binding: false,
            authorities: Vec::new(),
            require_access_token_type: false,
        }],
        dev_key_dir: tmp.path().join("dev-identity"),
        ..IdentityConfig::default()
    }
}

/// An authenticator that has loaded `key` from `server`.
struct Serving {
    _tmp: TempDir,
    key: Idp,
    server: Server,
    auth: Arc<Authenticator>,
}

async fn serving() -> Serving {
    let tmp = tempfile::tempdir().unwrap();
    let key = Idp::new("idp-2030");
    let server = Server::start(Reply::Body(jwks(&[&key]))).await;
    let auth = Arc::new(
        Authenticator::load(&config(&tmp, &server.url))
            .await
            .unwrap(),
    );
    Serving {
        _tmp: tmp,
        key,
        server,
        auth,
    }
}

fn check(auth: &Authenticator, token: &str, at: DateTime<Utc>) -> Result<(), AuthError> {
    auth.authenticate_bearer(Some(&format!("Bearer {token}")), at)
        .map(|_| ())
}

async fn load_err(config: &IdentityConfig) -> IdentityError {
    Authenticator::load(config).await.unwrap_err()
}

#[tokio::test]
async fn tokens_verify_with_keys_from_a_url() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Idp::new("idp-2030");
    let server = Server::start(Reply::Body(jwks(&[&key]))).await;
    let config = config(&tmp, &server.url);

    let auth = Authenticator::load(&config).await.unwrap();
    assert_eq!(server.requests(), 1);
    check(&auth, &token(&key), now()).unwrap();
    assert_eq!(
        check(&auth, &token(&Idp::new("idp-2030")), now()),
        Err(AuthError::BadSignature),
        "the key id alone is not enough"
    );

    // The synchronous constructor cannot fetch, and says so.
    let err = Authenticator::from_config(&config).unwrap_err();
    assert!(
        matches!(err, IdentityError::JwksUrlNeedsLoad { ref issuer } if issuer == ISSUER),
        "{err}"
    );
    assert_eq!(server.requests(), 1);

    // reload() fetches again.
    let next = Idp::new("idp-2031");
    server.set(Reply::Body(jwks(&[&next])));
    auth.reload().await.unwrap();
    assert_eq!(server.requests(), 2);
    check(&auth, &token(&next), now()).unwrap();
    assert_eq!(
        check(&auth, &token(&key), now()),
        Err(AuthError::UnknownKeyId)
    );
}

#[tokio::test]
async fn an_issuer_needs_exactly_one_of_jwks_file_and_jwks_url() {
    let tmp = tempfile::tempdir().unwrap();
    let mut both = config(&tmp, "https://idp.test/certs");
    both.issuers[0].jwks_file = Some(tmp.path().join("jwks.json"));
    let err = load_err(&both).await;
    assert!(matches!(err, IdentityError::InvalidIssuer { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("identity: issuer `{ISSUER}`: set either jwks_file or jwks_url, not both")
    );

    let mut neither = config(&tmp, "https://idp.test/certs");
    neither.issuers[0].jwks_url = None;
    let err = load_err(&neither).await;
    assert_eq!(
        err.to_string(),
        format!("identity: issuer `{ISSUER}`: set jwks_file or jwks_url (the issuer's JWKS)")
    );
    let err = Authenticator::from_config(&neither).unwrap_err();
    assert!(matches!(err, IdentityError::InvalidIssuer { .. }), "{err}");
}

#[tokio::test]
async fn plain_http_is_refused_except_to_a_loopback_address() {
    let tmp = tempfile::tempdir().unwrap();
    for url in [
        "http://idp.test/certs",
        "http://localhost:8080/certs",
        "ftp://idp.test/certs",
    ] {
        let err = load_err(&config(&tmp, url)).await;
        assert!(
            matches!(err, IdentityError::InvalidIssuer { ref issuer, .. } if issuer == ISSUER),
            "{url}: {err}"
        );
        assert!(err.to_string().contains("https://"), "{url}: {err}");
    }
    let mut short = config(&tmp, "https://idp.test/certs");
    short.issuers[0].jwks_refresh = Some(Duration::from_secs(10));
    let err = load_err(&short).await;
    assert!(
        err.to_string()
            .contains("jwks_refresh must be between 1 minute and 24 hours"),
        "{err}"
    );
}

#[tokio::test]
async fn start_up_fails_clearly_when_the_url_cannot_be_fetched() {
    let tmp = tempfile::tempdir().unwrap();
    // A port that was just free: nothing listens there.
    let unused = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", unused.local_addr().unwrap());
    drop(unused);

    let err = load_err(&config(&tmp, &url)).await;
    let IdentityError::Jwks {
        ref issuer,
        ref from,
        source: JwksError::Fetch(_),
    } = err
    else {
        panic!("expected a fetch error, got {err:?}");
    };
    assert_eq!(issuer, ISSUER);
    assert_eq!(from, &JwksSource::Url(url.clone()));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "identity: JWKS for issuer `{ISSUER}` from URL {url}: cannot fetch: "
        )),
        "{message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn start_up_fails_on_an_error_status_or_a_body_that_is_not_a_jwks() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(Reply::Status(404)).await;
    let config = config(&tmp, &server.url);

    let err = load_err(&config).await;
    assert!(
        matches!(
            err,
            IdentityError::Jwks {
                source: JwksError::Status(404),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with(&format!(
            "from URL {}: the server answered HTTP 404",
            server.url
        )),
        "{err}"
    );

    server.set(Reply::Body("<html>Sign in</html>".into()));
    let err = load_err(&config).await;
    assert!(
        matches!(
            err,
            IdentityError::Jwks {
                source: JwksError::Json(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not a JWK set"), "{err}");

    // A private key published by mistake is refused, as from a file.
    let key = Idp::new("k");
    let mut private = key.jwk();
    private["d"] = json!(URL_SAFE_NO_PAD.encode(key.signing.to_bytes()));
    server.set(Reply::Body(json!({ "keys": [private] }).to_string()));
    let err = load_err(&config).await;
    assert!(
        matches!(
            err,
            IdentityError::Jwks {
                source: JwksError::SecretMaterial { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn start_up_fails_on_an_oversized_body_declared_or_not() {
    let tmp = tempfile::tempdir().unwrap();
    // Valid JSON, padded far past the cap, so only the size can refuse it.
    const PADDED: usize = 64 * 1024 * 1024;
    let key = Idp::new("k");
    let mut body = jwks(&[&key]).into_bytes();
    body.pop();
    body.extend_from_slice(b",\"pad\":\"");
    body.resize(PADDED, b'x');
    body.extend_from_slice(b"\"}");
    for declare_length in [true, false] {
        let server = Server::start(Reply::Bytes {
            body: body.clone(),
            declare_length,
        })
        .await;
        let err = load_err(&config(&tmp, &server.url)).await;
        assert!(
            matches!(
                err,
                IdentityError::Jwks {
                    source: JwksError::TooLarge {
                        max: MAX_JWKS_BYTES
                    },
                    ..
                }
            ),
            "declared {declare_length}: {err:?}"
        );
        // The client stopped reading near the cap rather than buffering the
        // whole body (what it left unread fills socket buffers at most).
        settle().await;
        assert!(
            server.written() < PADDED / 2,
            "declared {declare_length}: {} bytes taken",
            server.written()
        );
    }
    // The same set without the padding is fine.
    let server = Server::start(Reply::Bytes {
        body: jwks(&[&key]).into_bytes(),
        declare_length: false,
    })
    .await;
    Authenticator::load(&config(&tmp, &server.url))
        .await
        .unwrap();
}

#[tokio::test]
async fn redirects_are_followed_only_where_the_config_could_point() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Idp::new("k");
    let target = Server::start(Reply::Body(jwks(&[&key]))).await;
    let redirect = Server::start(Reply::Redirect(target.url.clone())).await;
    let auth = Authenticator::load(&config(&tmp, &redirect.url))
        .await
        .unwrap();
    check(&auth, &token(&key), now()).unwrap();
    assert_eq!((redirect.requests(), target.requests()), (1, 1));

    // `localhost` is a name, not a loopback address: plain HTTP to it would
    // not be accepted in the config, so not through a redirect either.
    let by_name = target.url.replace("127.0.0.1", "localhost");
    redirect.set(Reply::Redirect(by_name));
    let err = load_err(&config(&tmp, &redirect.url)).await;
    assert!(
        matches!(
            err,
            IdentityError::Jwks {
                source: JwksError::Fetch(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not https://"), "{err}");
    assert_eq!((redirect.requests(), target.requests()), (2, 1));
}

#[tokio::test]
async fn production_refuses_the_development_key_from_a_url() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = DevKey::load_or_create(tmp.path().join("dev-identity")).unwrap();
    let server = Server::start(Reply::Body(dev.jwks_json())).await;
    let config = config(&tmp, &server.url);
    let err = load_err(&config).await;
    assert!(
        matches!(
            err,
            IdentityError::DevKeyTrustedInProduction { ref from, .. }
                if *from == JwksSource::Url(server.url.clone())
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!(
            "refuses the JWKS for issuer `{ISSUER}` from URL {}",
            server.url
        )),
        "{err}"
    );

    // Nor is it taken in by a refresh: the good keys stay.
    let key = Idp::new("idp-2030");
    server.set(Reply::Body(jwks(&[&key])));
    let auth = Arc::new(Authenticator::load(&config).await.unwrap());
    let _refresh = auth.spawn_key_refresh();
    server.set(Reply::Body(dev.jwks_json()));
    assert_eq!(
        check(&auth, &token(&Idp::new("cpc-dev-rotated")), now()),
        Err(AuthError::UnknownKeyId)
    );
    eventually("the early refresh", || server.requests() == 3).await;
    settle().await;
    check(&auth, &token(&key), now()).unwrap();
}

#[tokio::test]
async fn a_rotated_key_verifies_after_the_early_refresh() {
    let Serving {
        _tmp,
        key: old,
        server,
        auth,
    } = serving().await;
    let _refresh = auth.spawn_key_refresh();

    // The provider publishes its next key and signs with it at once.
    let new = Idp::new("idp-2031");
    server.set(Reply::Body(jwks(&[&old, &new])));
    assert_eq!(
        check(&auth, &token(&new), now()),
        Err(AuthError::UnknownKeyId)
    );
    eventually("the new key to verify", || {
        check(&auth, &token(&new), now()).is_ok()
    })
    .await;
    assert_eq!(server.requests(), 2);
    check(&auth, &token(&old), now()).unwrap();
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_previous_keys() {
    let Serving {
        _tmp,
        key,
        server,
        auth,
    } = serving().await;

    // reload() reports the failure and changes nothing.
    server.set(Reply::Status(503));
    let err = auth.reload().await.unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::Jwks {
                source: JwksError::Status(503),
                ..
            }
        ),
        "{err:?}"
    );
    check(&auth, &token(&key), now()).unwrap();

    // The refresh task logs it and changes nothing.
    let _refresh = auth.spawn_key_refresh();
    server.set(Reply::Body("{\"keys\": []}".into()));
    assert_eq!(
        check(&auth, &token(&Idp::new("idp-2031")), now()),
        Err(AuthError::UnknownKeyId)
    );
    eventually("the early refresh", || server.requests() == 3).await;
    settle().await;
    check(&auth, &token(&key), now()).unwrap();

    // A token with no key id never prompts a fetch: no key set could help.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = None;
    let no_kid = jsonwebtoken::encode(
        &header,
        &json!({ "iss": ISSUER, "exp": now().timestamp() + 60 }),
        &key.encoding_key(),
    )
    .unwrap();
    assert_eq!(
        check(&auth, &no_kid, now() + TimeDelta::hours(1)),
        Err(AuthError::UnknownKeyId)
    );
    settle().await;
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn unknown_key_ids_fetch_early_at_most_once_a_minute() {
    let Serving {
        _tmp,
        key,
        server,
        auth,
    } = serving().await;
    let _refresh = auth.spawn_key_refresh();
    let unknown = |at: DateTime<Utc>| {
        assert_eq!(
            check(&auth, &token(&Idp::new("made-up")), at),
            Err(AuthError::UnknownKeyId)
        );
    };

    unknown(now());
    eventually("the first early refresh", || server.requests() == 2).await;

    // Within a minute of the first, more unknown key ids fetch nothing.
    unknown(now());
    unknown(now() + TimeDelta::seconds(59));
    settle().await;
    assert_eq!(server.requests(), 2);

    // A minute on, the next one does.
    unknown(now() + TimeDelta::seconds(60));
    eventually("the second early refresh", || server.requests() == 3).await;
    settle().await;
    assert_eq!(server.requests(), 3);
    check(&auth, &token(&key), now() + TimeDelta::seconds(60)).unwrap();
}

#[tokio::test]
async fn dropping_the_refresh_handle_stops_the_task() {
    let Serving {
        _tmp,
        key: _,
        server,
        auth,
    } = serving().await;
    drop(auth.spawn_key_refresh());
    assert_eq!(
        check(&auth, &token(&Idp::new("made-up")), now()),
        Err(AuthError::UnknownKeyId)
    );
    settle().await;
    assert_eq!(server.requests(), 1);
    assert_eq!(Arc::strong_count(&auth), 1, "the task let go of it");
}

/// A council's private certificate authority.
struct PrivateCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn private_ca(name: &str) -> PrivateCa {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    PrivateCa {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// TLS for a JWKS endpoint on 127.0.0.1, with a certificate `ca` signed.
fn tls_signed_by(ca: &PrivateCa) -> TlsAcceptor {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "idp");
    params.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
            )
            .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// `config` for `url`, trusting the CA certificates in `ca_pem`.
fn config_with_ca(tmp: &TempDir, url: &str, ca_pem: &str) -> IdentityConfig {
    let ca_file = tmp.path().join("idp-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let mut config = config(tmp, url);
    config.issuers[0].jwks_ca_file = Some(ca_file);
    config
}

fn is_certificate_refusal(err: &IdentityError) -> bool {
    matches!(
        err,
        IdentityError::Jwks { issuer, source: JwksError::Fetch(reason), .. }
            if issuer == ISSUER && reason.contains("certificate")
    )
}

#[tokio::test]
async fn an_identity_provider_behind_a_private_ca_is_trusted_through_its_ca_file() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = private_ca("Council Issuing CA");
    let key = Idp::new("idp-2030");
    let server = Server::start_tls(Reply::Body(jwks(&[&key])), tls_signed_by(&ca)).await;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // The public web roots do not know the council's CA.
    let err = load_err(&config(&tmp, &server.url)).await;
    assert!(is_certificate_refusal(&err), "{err}");
    assert_eq!(server.requests(), 0, "no request goes over a refused TLS");

    let auth = Authenticator::load(&config_with_ca(&tmp, &server.url, &ca.pem))
        .await
        .unwrap();
    assert_eq!(server.requests(), 1);
    check(&auth, &token(&key), now()).unwrap();
    // The CA file is kept for every later fetch.
    let next = Idp::new("idp-2031");
    server.set(Reply::Body(jwks(&[&next])));
    auth.reload().await.unwrap();
    check(&auth, &token(&next), now()).unwrap();
}

#[tokio::test]
async fn a_ca_file_trusts_its_own_certificates_only() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = private_ca("Council Issuing CA");
    let theirs = private_ca("Somebody Else's CA");
    let server = Server::start_tls(
        Reply::Body(jwks(&[&Idp::new("idp-2030")])),
        tls_signed_by(&theirs),
    )
    .await;
    let err = load_err(&config_with_ca(&tmp, &server.url, &ours.pem)).await;
    assert!(is_certificate_refusal(&err), "{err}");
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn a_ca_file_must_hold_a_certificate_and_go_with_an_https_url() {
    let tmp = tempfile::tempdir().unwrap();
    let url = "https://idp.test/certs";

    let mut missing = config(&tmp, url);
    let absent = tmp.path().join("absent.pem");
    missing.issuers[0].jwks_ca_file = Some(absent.clone());
    let err = load_err(&missing).await;
    assert!(
        matches!(err, IdentityError::JwksCaFile { ref issuer, ref ca_file, .. }
            if issuer == ISSUER && *ca_file == absent),
        "{err}"
    );

    let err = load_err(&config_with_ca(&tmp, url, "not a certificate\n")).await;
    assert!(
        matches!(err, IdentityError::JwksCaFile { ref reason, .. }
            if reason.contains("no PEM certificate")),
        "{err}"
    );

    let mut with_file = config_with_ca(&tmp, url, &private_ca("CA").pem);
    with_file.issuers[0].jwks_url = None;
    with_file.issuers[0].jwks_file = Some(tmp.path().join("jwks.json"));
    let err = load_err(&with_file).await;
    assert_eq!(
        err.to_string(),
        format!("identity: issuer `{ISSUER}`: jwks_ca_file applies only to jwks_url")
    );

    let plain = config_with_ca(&tmp, "http://127.0.0.1:9/certs", &private_ca("CA").pem);
    let err = load_err(&plain).await;
    assert_eq!(
        err.to_string(),
        format!("identity: issuer `{ISSUER}`: jwks_ca_file applies only to an https:// jwks_url")
    );
}

#[tokio::test]
async fn issuers_are_fetched_together() {
    let tmp = tempfile::tempdir().unwrap();
    // Each endpoint answers only once the other has been asked too: fetched
    // one after another, the first would wait out the fetch timeout (10 s).
    let gate = Arc::new(Barrier::new(2));
    let ours = Idp::new("idp-2030");
    let first = Server::start(Reply::Gated {
        body: jwks(&[&ours]),
        gate: Arc::clone(&gate),
    })
    .await;
    let second = Server::start(Reply::Gated {
        body: jwks(&[&Idp::new("partner-2030")]),
        gate,
    })
    .await;
    let mut config = config(&tmp, &first.url);
    let mut partner = config.issuers[0].clone();
    partner.issuer = "https://partner-portal.test".into();
    partner.jwks_url = Some(second.url.clone());
    config.issuers.push(partner);

    let auth = tokio::time::timeout(Duration::from_secs(5), Authenticator::load(&config))
        .await
        .expect("both issuers' keys fetched together, well within the fetch timeout")
        .unwrap();
    assert_eq!((first.requests(), second.requests()), (1, 1));
    check(&auth, &token(&ours), now()).unwrap();
}
