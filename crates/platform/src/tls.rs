//! TLS on the listener (rustls), client certificates for services (mutual
//! TLS), and certificate reload without a restart.
//!
//! The server's certificate and key, and the CA that signs services'
//! client certificates, are read from files (Kubernetes secrets, renewed in
//! place by cert-manager or an operator). Every `reload_interval` the files
//! are read again; when their contents changed and are valid, new
//! connections use them, and a broken or half-written file is reported and
//! ignored, keeping the previous ones. Existing connections keep the
//! certificate they were opened with until they are recycled
//! (`limits.max_connection_age`).
//!
//! With a client CA configured, a client certificate is optional (people
//! call with bearer tokens through portals) but, when presented, must
//! chain to that CA or the handshake fails. [`certificate_subject`] names
//! the service a certificate belongs to.
//!
//! With revocation lists, a list past its `nextUpdate` no longer vouches
//! for anything: the CA has not said what it revoked since. As OpenSSL
//! does, such a list fails every client certificate of its CA until a
//! current one is put in place, and each reload logs it as an error.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

/// `[tls]`: the listener's certificate, and the CA of services' client
/// certificates.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain of the server, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key of the server (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM CA certificates that sign services' client certificates. Unset:
    /// no client certificates are requested (no service can call).
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// PEM certificate revocation lists (X.509 CRLs) of the CAs in
    /// `client_ca_file`, read again with the other files: a client
    /// certificate one of them revokes (a record system's stolen
    /// certificate, say) no longer completes a handshake, without a
    /// restart. Give one for every CA in `client_ca_file`: once lists are
    /// set, a certificate whose CA has none here is refused (fail closed),
    /// and so is one whose CA's list is past its `nextUpdate` (renew the
    /// lists before then). Only with `client_ca_file`.
    #[serde(default)]
    pub client_crl_file: Option<PathBuf>,
    /// How often the files are read again.
    #[serde(default = "default_reload_interval", with = "humantime_serde")]
    pub reload_interval: Duration,
    /// How long a client has to complete the handshake.
    #[serde(default = "default_handshake_timeout", with = "humantime_serde")]
    pub handshake_timeout: Duration,
}

fn default_reload_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_handshake_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Why the TLS files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("invalid TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("invalid client CA or CRL: {0}")]
    ClientCa(#[from] rustls::server::VerifierBuilderError),
    #[error("client_crl_file is set without client_ca_file, whose certificates it would revoke")]
    CrlWithoutClientCa,
}

/// The server's TLS configuration, swapped when the files change.
pub struct ReloadingTls {
    files: TlsConfig,
    current: RwLock<Loaded>,
    /// When a list's coming `nextUpdate` was last warned of.
    due_warned_at: std::sync::Mutex<Option<DateTime<Utc>>>,
}

struct Loaded {
    digest: [u8; 32],
    config: Arc<ServerConfig>,
    /// The earliest `nextUpdate` of the client revocation lists, if any.
    lists_valid_until: Option<DateTime<Utc>>,
}

impl ReloadingTls {
    /// Loads the files once.
    ///
    /// # Errors
    /// A missing or invalid file: the process must not start without TLS.
    pub fn load(files: &TlsConfig) -> Result<Arc<Self>, TlsError> {
        let tls = Arc::new(Self {
            files: files.clone(),
            current: RwLock::new(build(files)?),
            due_warned_at: std::sync::Mutex::new(None),
        });
        tls.report_out_of_date_lists(Utc::now());
        Ok(tls)
    }

    /// The configuration new connections use.
    pub fn current(&self) -> Arc<ServerConfig> {
        let loaded = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(&loaded.config)
    }

    /// Reads the files again and, when they changed and are valid, makes
    /// them current. Returns whether anything changed.
    ///
    /// # Errors
    /// The new files are invalid (the previous configuration stays).
    pub fn reload(&self) -> Result<bool, TlsError> {
        let digest = digest_files(&self.files)?;
        if digest == self.current_digest() {
            return Ok(false);
        }
        let loaded = build(&self.files)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = loaded;
        Ok(true)
    }

    /// The earliest `nextUpdate` of the client revocation lists in use; at
    /// and after it, every client certificate of that list's CA is refused.
    pub fn revocation_lists_valid_until(&self) -> Option<DateTime<Utc>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .lists_valid_until
    }

    /// Logs an error when a revocation list in use is out of date at `now`
    /// (record systems are being refused, and only a new list mends it),
    /// at every reload; and a warning when one will be within
    /// [`LIST_DUE_WARNING`], every [`LIST_DUE_REMINDER`].
    fn report_out_of_date_lists(&self, now: DateTime<Utc>) {
        let Some(valid_until) = self.revocation_lists_valid_until() else {
            return;
        };
        let status = list_status(valid_until, now);
        if status == ListStatus::DueSoon {
            let mut warned_at = self
                .due_warned_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !reminder_due(*warned_at, now) {
                return;
            }
            *warned_at = Some(now);
        }
        match status {
            ListStatus::OutOfDate => tracing::error!(
                %valid_until,
                "a client certificate revocation list is past its nextUpdate: every client certificate of its CA is refused until a current list is put in client_crl_file"
            ),
            ListStatus::DueSoon => tracing::warn!(
                %valid_until,
                "a client certificate revocation list reaches its nextUpdate within a day: put the CA's next list in client_crl_file before then, or its client certificates will be refused"
            ),
            ListStatus::Current => {}
        }
    }

    fn current_digest(&self) -> [u8; 32] {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .digest
    }

    /// Reloads every `reload_interval` until the process ends.
    pub fn watch(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let tls = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(tls.files.reload_interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                match tls.reload() {
                    Ok(true) => tracing::info!("TLS certificates reloaded"),
                    Ok(false) => {}
                    Err(err) => {
                        tracing::error!(error = %err, "TLS certificates not reloaded; keeping the previous ones");
                    }
                }
                tls.report_out_of_date_lists(Utc::now());
            }
        })
    }
}

/// How long before a revocation list's `nextUpdate` each reload warns that
/// a new list is due.
pub const LIST_DUE_WARNING: Duration = Duration::from_secs(24 * 60 * 60);

/// Where a revocation list stands at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListStatus {
    Current,
    /// Within [`LIST_DUE_WARNING`] of its `nextUpdate`.
    DueSoon,
    /// At or past its `nextUpdate`: its CA's certificates are refused.
    OutOfDate,
}

/// How often the warning that a revocation list is due is repeated (a
/// reload, every `reload_interval`, would otherwise repeat it a thousand
/// times in its last day).
pub const LIST_DUE_REMINDER: Duration = Duration::from_secs(60 * 60);

/// Whether a warning last given at `warned_at` is to be given again at
/// `now`: never given, [`LIST_DUE_REMINDER`] ago, or given at a time the
/// clock has since gone back before.
fn reminder_due(warned_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let reminder = chrono::Duration::from_std(LIST_DUE_REMINDER).unwrap_or_default();
    warned_at.is_none_or(|at| now < at || now - at >= reminder)
}

fn list_status(valid_until: DateTime<Utc>, now: DateTime<Utc>) -> ListStatus {
    if valid_until <= now {
        ListStatus::OutOfDate
    } else if valid_until - now <= chrono::Duration::from_std(LIST_DUE_WARNING).unwrap_or_default()
    {
        ListStatus::DueSoon
    } else {
        ListStatus::Current
    }
}

/// The files' contents, hashed together, to notice a change.
fn digest_files(files: &TlsConfig) -> Result<[u8; 32], TlsError> {
    let mut hasher = Sha256::new();
    for path in [
        Some(&files.cert_file),
        Some(&files.key_file),
        files.client_ca_file.as_ref(),
        files.client_crl_file.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        let bytes = read(path)?;
        hasher.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
        hasher.update(&bytes);
    }
    Ok(hasher.finalize().into())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn pem_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Every PEM object of type `T` in the file at `path`, at least one of them
/// (`what` names them in the error otherwise).
fn pem_objects<T: PemObject>(path: &Path, what: &str) -> Result<Vec<T>, TlsError> {
    let bytes = read(path)?;
    let objects = T::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if objects.is_empty() {
        return Err(pem_error(path, format!("no {what} found")));
    }
    Ok(objects)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    pem_objects(path, "certificate")
}

fn revocation_lists(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    pem_objects(path, "certificate revocation list")
}

/// The earliest `nextUpdate` of `lists`. rustls has already parsed them
/// (and refuses a list without one); a list x509-parser cannot read is
/// left to rustls's judgement.
fn earliest_next_update(lists: &[CertificateRevocationListDer<'_>]) -> Option<DateTime<Utc>> {
    lists
        .iter()
        .filter_map(|der| x509_parser::parse_x509_crl(der.as_ref()).ok())
        .filter_map(|(_, list)| list.next_update())
        .filter_map(|at| DateTime::from_timestamp(at.timestamp(), 0))
        .min()
}

fn build(files: &TlsConfig) -> Result<Loaded, TlsError> {
    let digest = digest_files(files)?;
    let chain = certificates(&files.cert_file)?;
    let key = PrivateKeyDer::from_pem_slice(&read(&files.key_file)?)
        .map_err(|e| pem_error(&files.key_file, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)?;
    let mut lists_valid_until = None;
    let builder = match (&files.client_ca_file, &files.client_crl_file) {
        (Some(ca_file), crl_file) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(ca_file)? {
                roots.add(cert)?;
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    // People present bearer tokens, not certificates.
                    .allow_unauthenticated();
            if let Some(crl_file) = crl_file {
                let lists = revocation_lists(crl_file)?;
                lists_valid_until = earliest_next_update(&lists);
                // The client's own certificate is what a CA revokes when a
                // record system's key is lost; a certificate whose CA gave
                // no list is refused (rustls's default, kept), and so is
                // one whose CA's list is out of date.
                verifier = verifier
                    .with_crls(lists)
                    .only_check_end_entity_revocation()
                    .enforce_revocation_expiration();
            }
            builder.with_client_cert_verifier(verifier.build()?)
        }
        (None, Some(_)) => return Err(TlsError::CrlWithoutClientCa),
        (None, None) => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Loaded {
        digest,
        config: Arc::new(config),
        lists_valid_until,
    })
}

/// Handshakes in progress at once.
const MAX_HANDSHAKES: usize = 512;

/// Connections accepted on `listener` with their TLS handshakes done, each
/// handshake in its own task so that a slow client holds up nobody.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
) -> ReceiverStream<Result<TlsStream<TcpStream>, io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let timeout = tls.files.handshake_timeout;
    // Bounds the handshakes in progress, so a flood of connections that
    // never finish their handshake cannot pile up tasks: past the bound,
    // accepting waits.
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let Ok(slot) = Arc::clone(&handshakes).acquire_owned().await else {
                return;
            };
            let accepted = tokio::select! {
                () = tx.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: keep serving.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let acceptor = TlsAcceptor::from(tls.current());
            let tx = tx.clone();
            tokio::spawn(async move {
                let _slot = slot;
                match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(err)) => {
                        tracing::info!(%peer, error = %err, "TLS handshake failed");
                    }
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// The service a client certificate names: its first URI subject
/// alternative name (a SPIFFE id such as
/// `spiffe://gloucestershire.gov.uk/lcs`), else its subject common name.
pub fn certificate_subject(certificate: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(certificate).ok()?;
    let uri = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| {
            san.value.general_names.iter().find_map(|name| match name {
                x509_parser::extensions::GeneralName::URI(uri) => Some((*uri).to_owned()),
                _ => None,
            })
        });
    uri.or_else(|| {
        cert.subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_due_a_day_before_its_next_update_and_out_of_date_from_it() {
        let next_update = DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default();
        let at = |secs_before: i64| next_update - chrono::Duration::seconds(secs_before);
        assert_eq!(list_status(next_update, at(86_401)), ListStatus::Current);
        assert_eq!(list_status(next_update, at(86_400)), ListStatus::DueSoon);
        assert_eq!(list_status(next_update, at(1)), ListStatus::DueSoon);
        assert_eq!(list_status(next_update, at(0)), ListStatus::OutOfDate);
        assert_eq!(list_status(next_update, at(-1)), ListStatus::OutOfDate);
    }

    #[test]
    fn a_due_list_is_warned_of_once_an_hour() {
        let first = DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default();
        let after = |secs: i64| first + chrono::Duration::seconds(secs);
        assert!(reminder_due(None, first));
        assert!(!reminder_due(Some(first), after(60)));
        assert!(!reminder_due(Some(first), after(3599)));
        assert!(reminder_due(Some(first), after(3600)));
        // A clock set back does not silence the warning until it catches up.
        assert!(reminder_due(Some(first), after(-60)));
    }
}
