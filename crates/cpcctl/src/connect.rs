//! Connecting to a cpcd: plaintext for local development, TLS (and a
//! client certificate, for services) otherwise.

use std::path::PathBuf;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

#[derive(Debug, Clone, clap::Args)]
pub struct Server {
    /// The server's address: `http://` for a development server on
    /// loopback, `https://` for TLS.
    #[arg(long, env = "CPC_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// PEM CA certificates to verify an `https://` server with (default:
    /// the system's web PKI roots are not used; give the CA).
    #[arg(long, env = "CPC_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, to call as a service (mutual TLS).
    #[arg(long, env = "CPC_CERT_FILE", requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[arg(long, env = "CPC_KEY_FILE", requires = "cert_file")]
    pub key_file: Option<PathBuf>,
}

impl Server {
    /// A channel to the server.
    ///
    /// # Errors
    /// A bad address, an unreadable file, or no connection, as one line.
    pub async fn connect(&self) -> Result<Channel, String> {
        let mut endpoint = Endpoint::from_shared(self.addr.clone())
            .map_err(|e| format!("invalid address {}: {e}", self.addr))?;
        if self.addr.starts_with("https://") {
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &self.ca_file {
                tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            if let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| format!("TLS settings: {e}"))?;
        }
        endpoint
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.addr))
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The single-threaded runtime a command's calls run on; `None` (the
/// reason printed) if it cannot start.
#[allow(clippy::print_stderr, reason = "a command-line error")]
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| eprintln!("error: cannot start the async runtime: {err}"))
        .ok()
}
