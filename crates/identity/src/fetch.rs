//! Fetching an issuer's JWKS from its `jwks_url`.
//!
//! The fetch is bounded so that a slow or hostile endpoint cannot hold up
//! start-up or the refresh task for long, nor make the process buffer an
//! unbounded body: one timeout covers connecting, the request and reading
//! the body, and the body is read at most [`MAX_JWKS_BYTES`] at a time.
//! Redirects are followed only to URLs that [`jwks_url_allowed`] would have
//! accepted in the configuration, so a redirect cannot downgrade to plain
//! HTTP.

use std::error::Error as _;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use reqwest::redirect::{Attempt, Policy};
use reqwest::{Certificate, Client, Url};

use crate::config::{is_loopback_url, jwks_url_allowed};
use crate::error::{IdentityError, JwksError};
use crate::jwks::{Jwks, MAX_JWKS_BYTES};

/// The longest a fetch may take, from connecting to the last body byte.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The most redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// A client for fetching `issuer`'s keys from `url`, trusting only the CA
/// certificates in `ca_file` when one is given.
pub(crate) fn client(
    issuer: &str,
    url: &Url,
    ca_file: Option<&Path>,
) -> Result<Client, IdentityError> {
    let mut builder = Client::builder()
        .connect_timeout(FETCH_TIMEOUT)
        .timeout(FETCH_TIMEOUT)
        .redirect(Policy::custom(redirect))
        .user_agent(concat!("cpc-identity/", env!("CARGO_PKG_VERSION")));
    // A proxy from the environment (HTTPS_PROXY) is how an egress-controlled
    // cluster reaches the identity provider, so it is honoured; but no proxy
    // can reach this host's loopback address.
    if is_loopback_url(url) {
        builder = builder.no_proxy();
    }
    if let Some(ca_file) = ca_file {
        // The private CA replaces the public roots rather than joining
        // them: a public CA's certificate for the identity provider's name
        // is then refused too.
        builder = builder.tls_built_in_root_certs(false);
        for certificate in private_roots(issuer, ca_file)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|err| IdentityError::HttpClient(error_chain(&err)))
}

/// The CA certificates in the PEM file `ca_file`; at least one.
fn private_roots(issuer: &str, ca_file: &Path) -> Result<Vec<Certificate>, IdentityError> {
    let refused = |reason: String| IdentityError::JwksCaFile {
        issuer: issuer.to_owned(),
        ca_file: ca_file.to_owned(),
        reason,
    };
    let pem = std::fs::read(ca_file).map_err(|err| refused(err.to_string()))?;
    let roots = Certificate::from_pem_bundle(&pem).map_err(|err| refused(error_chain(&err)))?;
    if roots.is_empty() {
        return Err(refused(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".to_owned(),
        ));
    }
    Ok(roots)
}

fn redirect(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    if attempt.previous().len() >= MAX_REDIRECTS {
        attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
    } else if jwks_url_allowed(attempt.url()) {
        attempt.follow()
    } else {
        attempt.error("redirected to a URL that is not https:// (or http:// to loopback)")
    }
}

/// Fetches and parses the JWKS at `url`.
pub(crate) async fn fetch(client: &Client, url: &Url) -> Result<Jwks, JwksError> {
    let mut response = client
        .get(url.clone())
        .header(
            reqwest::header::ACCEPT,
            "application/jwk-set+json, application/json",
        )
        .send()
        .await
        .map_err(fetch_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(JwksError::Status(status.as_u16()));
    }
    let too_large = JwksError::TooLarge {
        max: MAX_JWKS_BYTES,
    };
    // A declared length over the cap is refused before reading anything; an
    // undeclared or understated one is caught while reading.
    if response
        .content_length()
        .is_some_and(|length| length > MAX_JWKS_BYTES as u64)
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Jwks::from_json(&body)
}

/// The error and its causes on one line ("connection refused" is a cause of
/// reqwest's "error sending request"). The URL is left out: the caller's
/// error names it already.
fn fetch_error(err: reqwest::Error) -> JwksError {
    JwksError::Fetch(error_chain(&err.without_url()))
}

fn error_chain(err: &reqwest::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(out, ": {cause}");
        source = cause.source();
    }
    out
}
